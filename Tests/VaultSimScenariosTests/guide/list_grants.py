# The integration guide, "Multiple Connections": list connections via the SDK, inside an async main.
import asyncio
from alter_sdk import AlterVault

async def main():
    async with AlterVault(api_key="alter_key_...", caller="my-agent") as vault:
        result = await vault.list_grants(provider_id="google")
        for grant in result.grants:
            print(f"{grant.grant_id}: {grant.account_display_name}")

asyncio.run(main())
