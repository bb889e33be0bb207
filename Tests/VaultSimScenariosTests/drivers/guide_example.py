"""The integration guide's Step 6 example, run against `vaultsim serve`.

Usage: guide_example.py BASE_URL API_KEY GRANT_ID GOOGLE_BASE   (GOOGLE_BASE stands for https://www.googleapis.com)
Prints one line per event, then the display name of the first Google grant.
"""
import asyncio
import os
import sys

from alter_sdk import AlterVault, HttpMethod

base_url, api_key, grant_id, google = sys.argv[1:5]
os.environ["ALTER_BASE_URL"] = base_url


async def main():
    async with AlterVault(api_key=api_key, caller="my-agent") as vault:
        response = await vault.request(
            HttpMethod.GET, google + "/calendar/v3/calendars/primary/events", grant_id=grant_id,
            query_params={"maxResults": "10", "singleEvents": "true", "orderBy": "startTime"},
            reason="Fetching calendar events")
        for event in response.json().get("items", []):
            start = event["start"].get("dateTime", event["start"].get("date"))
            print(f"{start}: {event.get('summary', 'No title')}")
        grants = await vault.list_grants(provider_id="google")
        print(grants.grants[0].account_display_name)


asyncio.run(main())
