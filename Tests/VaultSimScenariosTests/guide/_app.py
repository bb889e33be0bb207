"""What the integration guide's examples leave to the app: its own store of grant ids.

The guide's code says `db.get_grant(...)`, `slack_grant_id`, `sentry_grant_id` and `grant_id`
for ids "your app stores when the user completes Alter Connect". Here they come from the grants
`vaultsim serve` seeded (passed by the test in VAULTSIM_GUIDE_GRANTS, app data, not VaultSim
configuration). Nothing here touches URLs, proxies or certificates.
"""
import json
import os

_GRANTS = json.loads(os.environ["VAULTSIM_GUIDE_GRANTS"])


class _AppDatabase:
    def get_grant(self, user_id, provider):
        return _GRANTS[provider]

    def get_grants(self, user_id, provider):
        return [(_GRANTS[provider], "alice@example.com")]


db = _AppDatabase()
slack_grant_id = _GRANTS["slack"]
sentry_grant_id = _GRANTS["contacts"]
google_grant_id = _GRANTS["google"]
github_grant_id = _GRANTS["github"]
# The Error Handling example's grant_id: one this app never connected.
grant_id = "00000000-0000-4000-8000-000000000000"
