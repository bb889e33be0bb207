# Not from the guide: a host VaultSim does not fake. The proxy answers 502 naming it; nothing
# is sent anywhere else.
from _app import google_grant_id

import asyncio
from alter_sdk import AlterVault, HttpMethod
from alter_sdk.exceptions import ProviderAPIError

async def main():
    async with AlterVault(api_key="alter_key_...", caller="my-agent") as vault:
        try:
            await vault.request(HttpMethod.GET, "https://api.unknown-provider.example/v1/things", grant_id=google_grant_id)
        except ProviderAPIError as e:
            print(f"502? {e.status_code}: {e.response_body}")

asyncio.run(main())
