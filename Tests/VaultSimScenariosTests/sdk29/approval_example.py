# docs.alterauth.com, "Agents -> Approvals" ("Submitting a request that may require approval")
# with the "Add human-in-the-loop approvals" guide's `json=` keyword (alter-sdk 0.19+ names it so),
# run by an App (agents are not simulated). The test fills the placeholders as a developer would:
# the API key, the grant id and the provider URL (Slack's chat.postMessage for Stripe's refunds).
import asyncio
from alter_sdk import App, HttpMethod, PendingApproval

async def main():
    async with App(api_key="<api-key>") as vault:
        result = await vault.proxy_request(
            HttpMethod.POST,
            "https://api.stripe.com/v1/refunds",
            grant_id="<grant-id>",
            json={"charge": "ch_...", "amount": "10000"},
            reason="Customer requested refund (ticket #4421)",
        )

        if isinstance(result, PendingApproval):
            print("Awaiting approval at:", result.approval_url)
            final = await vault.await_approval(result.approval_id, timeout=600.0)
        else:
            final = result  # No approval required by policy

        print(final.status_code, final.body_text())

asyncio.run(main())
