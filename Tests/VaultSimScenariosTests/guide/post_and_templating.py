# The integration guide, "POST Requests and URL Templating", as printed inside an async main.
from _app import slack_grant_id, sentry_grant_id

import asyncio
from alter_sdk import AlterVault, HttpMethod

async def main():
    async with AlterVault(
        api_key="alter_key_...",
        caller="my-agent",
    ) as vault:
        # POST with JSON body
        response = await vault.request(
            HttpMethod.POST,
            "https://slack.com/api/chat.postMessage",
            grant_id=slack_grant_id,  # from Alter Connect
            json={"channel": "#general", "text": "Hello from Alter!"},
        )
        print("slack:", response.json()["ok"], response.json()["message"]["text"])

        # URL path templating with automatic URL encoding
        response = await vault.request(
            HttpMethod.GET,
            "https://api.example.com/v1/accounts/{account_id}/contacts",
            grant_id=sentry_grant_id,  # from Alter Connect
            path_params={"account_id": "acc-123"},
            query_params={"limit": "50"},
        )
        print("contacts:", response.json()["account_id"], len(response.json()["contacts"]))

asyncio.run(main())
