# The alter-sdk 0.29.0 README's "Quick example", as it is there; the test fills its
# placeholders (the API key, the grant id, the resource URL) as a developer would.
import asyncio
from alter_sdk import App, HttpMethod

async def main():
    async with App(api_key="<api-key>") as vault:
        response = await vault.request(
            HttpMethod.POST,
            "https://api.example.com/resource",
            grant_id="<grant-id>",
            json={"example": "payload"},
        )
        print(response.status_code, response.json())

asyncio.run(main())
