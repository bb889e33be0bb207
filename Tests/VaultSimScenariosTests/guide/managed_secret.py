# The integration guide, "Alternative: Using Managed Secrets", Step 2, as printed inside an async main.
import asyncio
from alter_sdk import AlterVault, HttpMethod

async def main():
    async with AlterVault(
        api_key="alter_key_...",
        caller="my-agent",
    ) as vault:
        # Call your internal API -secret injected automatically
        response = await vault.request(
            HttpMethod.GET,
            "https://api.internal.com/v1/loyalty/points",
            grant_id="MANAGED_SECRET_GRANT_ID",  # from Developer Portal
            query_params={"user_id": "alice"},
            reason="Checking loyalty points",
        )
        points = response.json()
    print("points:", points["user_id"], points["points"], points["tier"])

asyncio.run(main())
