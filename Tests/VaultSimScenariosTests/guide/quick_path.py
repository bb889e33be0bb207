# The integration guide, "Quick Path: Connect from Python", as printed (only the API key placeholder
# filled). connect() opens the default browser; with none here it logs the URL, and the test's
# server approves the session as `vaultsim serve --auto-consent` does.
import asyncio
from alter_sdk import AlterVault, HttpMethod

async def main():
    vault = AlterVault(
        api_key="alter_key_...",
        caller="my-agent",
    )

    # Open browser → user authorizes → SDK returns connections
    results = await vault.connect(
        providers=["google"],
    )
    print(f"Connected: {results[0].grant_id} ({results[0].provider_id})")

    # Make API calls with the grant
    response = await vault.request(
        HttpMethod.GET,
        "https://www.googleapis.com/calendar/v3/calendars/primary/events",
        grant_id=results[0].grant_id,
        query_params={"maxResults": "10"},
    )
    events = response.json()
    for event in events.get("items", []):
        print(f"Event: {event['summary']}")

    await vault.close()

asyncio.run(main())
