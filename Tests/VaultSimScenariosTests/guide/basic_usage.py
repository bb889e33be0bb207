# The integration guide, Step 6 "Basic Usage", as printed (only the API key placeholder filled).
from _app import db

import asyncio
from alter_sdk import AlterVault, HttpMethod

async def fetch_calendar_events(user_id: str):
    vault = AlterVault(
        api_key="alter_key_...",
        caller="my-agent",
    )

    # Your app stores grant_id when the user completes Alter Connect (Step 5)
    grant_id = db.get_grant(user_id=user_id, provider="google")

    try:
        # Make API request -token is injected automatically
        response = await vault.request(
            HttpMethod.GET,
            "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            grant_id=grant_id,
            query_params={
                "maxResults": "10",
                "singleEvents": "true",
                "orderBy": "startTime",
            },
            reason="Fetching calendar events",
        )

        events = response.json()
        for event in events.get("items", []):
            start = event["start"].get("dateTime", event["start"].get("date"))
            print(f"{start}: {event.get('summary', 'No title')}")

        return events

    finally:
        await vault.close()

asyncio.run(fetch_calendar_events("alice"))
