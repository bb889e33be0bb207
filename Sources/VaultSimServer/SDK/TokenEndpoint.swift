import Foundation
import VaultSimCore

/// `POST /sdk/token`: hands the SDK a credential for one grant, with its injection rules.
/// Every call is recorded (who asked, why, for which URL, and the outcome).
///
/// Cost on the request path: one read transaction (grant, provider config and credential),
/// plus one write for the journal and `last_used_at`; a refresh adds the provider call and a
/// write of the new credential.
enum TokenEndpoint {
    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let request = body["request"]?.objectValue ?? [:]
        let method = try request.optionalString("method")
        let url = try request.optionalString("url")
        let reason = try body.optionalString("reason")
        let grantID = try body.optionalString("grant_id")
        let sandbox = call.sandbox

        func record(_ outcome: String, providerID: String? = nil, touch: Bool = false) throws {
            let now = sandbox.clock.now
            try sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: now, grantID: grantID, providerID: providerID ?? (try? body.optionalString("provider_id")) ?? nil,
                method: method, url: url, reason: reason, callerInfo: call.caller, outcome: outcome), touching: touch ? grantID : nil)
        }

        do {
            guard let grantID else {
                if body["provider_id"] != nil {
                    throw VaultError(status: 501, code: "not_simulated",
                                     message: "Identity mode (provider= with a user token) is not simulated yet; pass grant_id")
                }
                throw VaultError(status: 422, code: "invalid_body", message: "Field 'grant_id' is required")
            }
            let (grant, response, refreshed) = try await issue(grantID: grantID, call: call)
            try record(refreshed ? "refreshed" : "issued", providerID: grant.providerID, touch: true)
            return (200, response)
        } catch let error as VaultError {
            try record(error.code)
            throw error
        }
    }

    /// The app's and the grant's policies, on the virtual clock and the caller address.
    private static func checkPolicies(_ context: VaultStore.GrantContext, sandbox: Sandbox, at now: Date) throws {
        let address = sandbox.behaviour.callerAddress
        for policy in context.policies {
            var recent: [Date] = []
            if case .rateLimit(_, let seconds) = policy.rule {
                recent = try sandbox.store.handouts(grantID: context.grant.id, since: now.addingTimeInterval(-TimeInterval(seconds)))
            }
            if let violation = policy.violation(at: now, address: address, recentRequests: recent) { throw violation }
        }
    }

    /// The token response for a grant, and whether an expired access token had to be refreshed.
    private static func issue(grantID: String, call: SDKCall) async throws -> (Grant, JSONValue, refreshed: Bool) {
        let sandbox = call.sandbox
        guard let context = try sandbox.store.grantContext(id: grantID) else { throw VaultError.grantNotFound(grantID) }
        let grant = context.grant
        let now = sandbox.clock.now
        switch grant.status {
        case .active:
            if let expiresAt = grant.expiresAt, expiresAt <= now {
                try sandbox.store.setStatus(.expired, grantID: grant.id, reason: "the grant's TTL passed", at: now)
                throw VaultError.grantExpired(grant.id, expiredAt: expiresAt)
            }
        case .revoked: throw VaultError.grantRevoked(grant.id, reason: grant.revokeReason)
        case .credentialRevoked: throw VaultError.credentialRevoked(grant.id, reason: grant.revokeReason ?? "the provider refused the refresh")
        case .expired: throw VaultError.grantExpired(grant.id, expiredAt: grant.expiresAt)
        case .deleted: throw VaultError.grantDeleted(grant.id)
        }
        guard let config = context.config, config.isConfigured else { throw VaultError.providerNotConfigured(grant.providerID) }
        try checkPolicies(context, sandbox: sandbox, at: now)
        var fields: [String: JSONValue]
        var refreshed = false
        var scopeMismatch = false
        switch grant.kind {
        case .oauth:
            let missing = config.missingScopes(in: context.credential?.scopes ?? grant.scopes)
            if !missing.isEmpty, sandbox.behaviour.scopeMismatch == .refuse {
                throw VaultError(status: 403, code: "scope_mismatch", message: "Grant is missing required scopes: \(missing.joined(separator: " "))",
                                 details: ["grant_id": .string(grant.id), "provider_id": .string(grant.providerID),
                                           "missing_scopes": .array(missing.map(JSONValue.string))])
            }
            scopeMismatch = !missing.isEmpty
            let (credential, didRefresh) = try await call.credentials.credential(for: context)
            refreshed = didRefresh
            fields = InjectionRules.bearer(credential.accessToken).wireFields
            fields["token_type"] = "Bearer"
            fields["scopes"] = .array(credential.scopes.map(JSONValue.string))
            if let expiresAt = credential.expiresAt {
                fields["expires_in"] = .number(Double(max(0, Int(expiresAt.timeIntervalSince(now)))))
                fields["expires_at"] = .string(expiresAt.rfc3339)
            }
        case .managedSecret:
            guard let secret = context.secret else { throw VaultError.grantNotFound(grantID) }
            fields = InjectionRules.forSecret(secret).wireFields
            fields["token_type"] = "Bearer"
            fields["scopes"] = []
        }
        fields["grant_id"] = .string(grant.id)
        fields["provider_id"] = .string(grant.providerID)
        fields["scope_mismatch"] = .bool(scopeMismatch)
        return (grant, .object(fields), refreshed)
    }
}
