# The integration guide, "Error Handling", as printed inside an async main; `grant_id` is one the
# app never connected, so the GrantNotFoundError branch runs.
from _app import grant_id

import asyncio
from alter_sdk import AlterVault, HttpMethod
from alter_sdk.exceptions import (
    ReAuthRequiredError,
    PolicyViolationError,
    GrantNotFoundError,
    NetworkError,
    ScopeReauthRequiredError,
    ProviderAPIError,
)

async def main():
    vault = AlterVault(api_key="alter_key_...", caller="my-agent")
    try:
        response = await vault.request(
            HttpMethod.GET,
            "https://www.googleapis.com/calendar/v3/calendars/primary/events",
            grant_id=grant_id,
        )
    except ReAuthRequiredError:
        print("User must re-authorize - redirect to Alter Connect")
    except PolicyViolationError as e:
        print(f"Access denied by policy: {e.message} (rule: {e.policy_error})")
    except GrantNotFoundError:
        print("User hasn't connected Google yet - redirect to Alter Connect")
    except NetworkError as e:
        print(f"Network issue: {e.message}")
    except ScopeReauthRequiredError as e:
        print(f"Scopes outdated for {e.provider_id} - user must re-authorize (connection: {e.grant_id})")
    except ProviderAPIError as e:
        print(f"Google API error {e.status_code}: {e.response_body}")
    finally:
        await vault.close()

asyncio.run(main())
