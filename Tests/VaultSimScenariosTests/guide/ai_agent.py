# The integration guide, "AI Agent Integration", as printed inside an async main.
import asyncio
from alter_sdk import AlterVault, HttpMethod

async def main():
    vault = AlterVault(
        api_key="alter_key_...",
        caller="email-assistant-v2",
    )

    # Caller identity is sent automatically on every request
    # Per-request context adds execution detail for audit logs
    response = await vault.request(
        HttpMethod.GET,
        "https://gmail.googleapis.com/gmail/v1/users/me/messages",
        grant_id="GRANT_ID",  # from Alter Connect
        context={"tool": "read_emails", "agent": "email-assistant-v2"},
        reason="Reading emails for daily digest",
    )
    print("gmail:", response.status_code, len(response.json()["messages"]))
    await vault.close()

asyncio.run(main())
