import Foundation
import VaultSimCore

/// `POST /sdk/oauth/grants/list` and `POST /sdk/oauth/grants/{grant_id}/revoke`.
enum GrantsEndpoint {
    /// One page of the app's active OAuth grants, optionally of one provider.
    static func list(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let providerID = try body.optionalString("provider_id")
        let (limit, offset) = try paging(body)
        let store = call.sandbox.store
        let (grants, total) = try store.oauthGrants(providerID: providerID, statuses: Grant.Status.listed, limit: limit, offset: offset)
        return (200, try page(grants, total: total, limit: limit, offset: offset, call: call, item: wire))
    }

    /// `POST /sdk/grants/list` (alter-sdk 0.12+): every grant the app owns, OAuth and managed
    /// secret, as a discriminated list (`grant_kind`), filtered by provider, status and account.
    /// VaultSim's grants have no labels, so a `label` filter matches none.
    static func unifiedList(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let providerID = try body.optionalString("provider_id")
        let statusFilter = try body.optionalString("status")
        let account = try body.optionalString("account")
        let label = try body.optionalString("label")
        let (limit, offset) = try paging(body)
        if body["user_token"] != nil {
            throw VaultError(status: 501, code: "not_simulated", message: "Listing an end user's grants (user_token) is not simulated yet")
        }
        var statuses = Grant.Status.listed
        if let statusFilter { statuses = statuses.filter { $0.rawValue == statusFilter } }
        if label != nil { statuses = [] }
        let store = call.sandbox.store
        let (grants, total) = try store.grants(kinds: [.oauth, .managedSecret], providerID: providerID, statuses: statuses,
                                               account: account, limit: limit, offset: offset)
        return (200, try page(grants, total: total, limit: limit, offset: offset, call: call, item: unifiedWire))
    }

    /// One item of the unified list: an OAuth grant is a user's connection; a managed secret is
    /// the app's own (`system`, stored by the developer).
    static func unifiedWire(_ grant: Grant, scopeMismatch: Bool) -> JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        let common: [String: JSONValue] = [
            "grant_id": .string(grant.id), "status": .string(grant.status.rawValue), "account_identifier": s(grant.accountIdentifier),
            "created_at": .string(grant.createdAt.rfc3339), "last_used_at": s(grant.lastUsedAt?.rfc3339),
            "grant_expires_at": s(grant.expiresAt?.rfc3339), "expires_at": .null, "label": .null, "grant_policy": .null,
            "access_via": "ownership", "depth": 0, "delegable": false, "parent_grant_id": .null, "scope_constraint": .null,
        ]
        switch grant.kind {
        case .oauth:
            return .object(common.merging([
                "grant_kind": "oauth", "provider_id": .string(grant.providerID), "principal_type": "user",
                "scopes": .array(grant.scopes.map(JSONValue.string)), "account_display_name": s(grant.accountDisplayName),
                "scope_mismatch": .bool(scopeMismatch), "needs_reconnect": .bool(grant.status == .credentialRevoked),
                "delegated_agent_ids": [], "credential_id": .null, "api_base_url": .null,
            ]) { _, new in new })
        case .managedSecret:
            return .object(common.merging([
                "grant_kind": "managed_secret", "managed_secret_id": .string(grant.providerID),
                "managed_secret_slug": .string(grant.providerID), "managed_secret_name": .string(grant.providerID),
                "principal_type": "system", "agent_id": .null, "credential_kind": "developer",
                "credential_id": .null, "credential_label": .null,
            ]) { _, new in new })
        }
    }

    /// `limit` (1–1000, default 100) and `offset` (≥ 0, default 0) of a list request.
    static func paging(_ body: JSONObject) throws -> (limit: Int, offset: Int) {
        let limit = try body.optionalInt("limit") ?? 100
        let offset = try body.optionalInt("offset") ?? 0
        guard (1...1000).contains(limit) else {
            throw VaultError(status: 422, code: "invalid_body", message: "limit must be between 1 and 1000, got \(limit)")
        }
        guard offset >= 0 else { throw VaultError(status: 422, code: "invalid_body", message: "offset must be >= 0, got \(offset)") }
        return (limit, offset)
    }

    /// One page of grants in a list's shape, each item as `item` writes it, with its scope flag.
    static func page(_ grants: [Grant], total: Int, limit: Int, offset: Int, call: SDKCall,
                     item: (Grant, Bool) -> JSONValue) throws -> JSONValue {
        let configs = Dictionary(try call.sandbox.store.allProviderConfigs().map { ($0.providerID, $0) }, uniquingKeysWith: { a, _ in a })
        let now = call.sandbox.clock.now
        return [
            "grants": .array(grants.map { grant in
                // A TTL that passed shows as expired at once, before the next token request records it.
                var shown = grant
                if shown.status == .active, let expiresAt = shown.expiresAt, expiresAt <= now { shown.status = .expired }
                return item(shown, grant.scopeMismatchReportedAt != nil || !(configs[grant.providerID]?.missingScopes(in: grant.scopes).isEmpty ?? true))
            }), "total": .number(Double(total)), "limit": .number(Double(limit)),
            "offset": .number(Double(offset)), "has_more": .bool(offset + grants.count < total),
        ]
    }

    static func revoke(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let grantID = call.pathParameters["grant_id"] ?? ""
        let reason = try call.jsonObject().optionalString("reason")
        let sandbox = call.sandbox
        guard let existing = try sandbox.store.grant(id: grantID) else { throw VaultError.grantNotFound(grantID) }
        if existing.status == .deleted { throw VaultError.grantDeleted(grantID) }
        // Any grant not yet revoked becomes revoked (an expired or credential-revoked one too).
        let wasActive = existing.status != .revoked
        let grant = wasActive ? try sandbox.store.revoke(grantID: grantID, reason: reason, at: sandbox.clock.now) ?? existing : existing
        if existing.status == .active { await revokeAtProvider(grant, call: call) }
        return (200, [
            "success": true, "message": .string(wasActive ? "Grant revoked" : "Grant was already revoked"),
            "grant_id": .string(grant.id), "revoked_at": .string((grant.revokedAt ?? sandbox.clock.now).rfc3339),
        ])
    }

    /// Tells the provider to revoke what the grant held, as a vault does. Best effort: the grant is
    /// revoked at the vault whatever the provider answers.
    private static func revokeAtProvider(_ grant: Grant, call: SDKCall) async {
        guard grant.kind == .oauth, let provider = ProviderCatalog.descriptor(id: grant.providerID),
              let context = try? call.sandbox.store.grantContext(id: grant.id), let credential = context.credential,
              let config = context.config else { return }
        // Google revokes a refresh token's whole family; Slack's auth.revoke and GitHub's grant
        // deletion take the access token (and revoke the app's access for the account).
        let token = provider.oauth?.dialect == .standard ? credential.refreshToken ?? credential.accessToken : credential.accessToken
        _ = try? await call.credentials.oauth.revoke(token: token, provider: provider, config: config)
    }

    static func wire(_ grant: Grant, scopeMismatch: Bool = false) -> JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        return [
            "grant_id": .string(grant.id), "provider_id": .string(grant.providerID), "status": .string(grant.status.rawValue),
            "scopes": .array(grant.scopes.map(JSONValue.string)), "account_identifier": s(grant.accountIdentifier),
            "account_display_name": s(grant.accountDisplayName), "scope_mismatch": .bool(scopeMismatch),
            "created_at": .string(grant.createdAt.rfc3339), "expires_at": s(grant.expiresAt?.rfc3339),
            "last_used_at": s(grant.lastUsedAt?.rfc3339),
        ]
    }
}
