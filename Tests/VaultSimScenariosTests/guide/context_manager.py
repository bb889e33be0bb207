# The integration guide, "Using Context Managers", as printed inside an async main (placeholders filled).
import asyncio
from alter_sdk import AlterVault, HttpMethod

async def main():
    async with AlterVault(
        api_key="alter_key_...",
        caller="my-agent",
    ) as vault:
        response = await vault.request(
            HttpMethod.GET,
            "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            grant_id="GRANT_ID",  # from Alter Connect
        )
        events = response.json()
    # Clients automatically closed
    print("events:", events["summary"], len(events["items"]))

asyncio.run(main())
