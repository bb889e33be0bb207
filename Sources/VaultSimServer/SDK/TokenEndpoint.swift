import Foundation
import VaultSimCore

/// `POST /sdk/token`: hands the SDK a credential for one grant, with its injection rules.
/// Every call is recorded (who asked, why, for which URL, and the outcome).
enum TokenEndpoint {
    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let request = body["request"]?.objectValue ?? [:]
        let method = try request.optionalString("method")
        let url = try request.optionalString("url")
        let reason = try body.optionalString("reason")
        let grantID = try body.optionalString("grant_id")
        let sandbox = call.sandbox

        func record(_ outcome: String, providerID: String? = nil) throws {
            try sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: sandbox.clock.now, grantID: grantID, providerID: providerID ?? (try? body.optionalString("provider_id")) ?? nil,
                method: method, url: url, reason: reason, callerInfo: call.caller, outcome: outcome))
        }

        do {
            guard let grantID else {
                if body["provider_id"] != nil {
                    throw VaultError(status: 501, code: "not_simulated",
                                     message: "Identity mode (provider= with a user token) is not simulated yet; pass grant_id")
                }
                throw VaultError(status: 422, code: "invalid_body", message: "Field 'grant_id' is required")
            }
            let (grant, response, refreshed) = try issue(grantID: grantID, in: sandbox)
            try record(refreshed ? "refreshed" : "issued", providerID: grant.providerID)
            return (200, response)
        } catch let error as VaultError {
            try record(error.code)
            throw error
        }
    }

    /// The token response for a grant, and whether an expired access token had to be refreshed.
    private static func issue(grantID: String, in sandbox: Sandbox) throws -> (Grant, JSONValue, refreshed: Bool) {
        guard let grant = try sandbox.store.grant(id: grantID) else { throw VaultError.grantNotFound(grantID) }
        guard grant.isActive else { throw VaultError.grantRevoked(grant.id) }
        guard let config = try sandbox.store.providerConfig(id: grant.providerID), config.isConfigured else {
            throw VaultError.providerNotConfigured(grant.providerID)
        }
        let now = sandbox.clock.now
        var fields: [String: JSONValue]
        var refreshed = false
        switch grant.kind {
        case .oauth:
            let current = try sandbox.store.usableAccessToken(grantID: grant.id, at: now)
            refreshed = current == nil
            let token = try current ?? refresh(grant, in: sandbox)
            fields = InjectionRules.bearer(token.token).wireFields
            fields["token_type"] = "Bearer"
            fields["scopes"] = .array(token.scopes.map(JSONValue.string))
            if let expiresAt = token.expiresAt {
                fields["expires_in"] = .number(Double(max(0, Int(expiresAt.timeIntervalSince(now)))))
                fields["expires_at"] = .string(expiresAt.rfc3339)
            }
        case .managedSecret:
            guard let secret = try sandbox.store.managedSecret(grantID: grant.id) else { throw VaultError.grantNotFound(grantID) }
            fields = InjectionRules.forSecret(secret).wireFields
            fields["token_type"] = "Bearer"
            fields["scopes"] = []
        }
        fields["grant_id"] = .string(grant.id)
        fields["provider_id"] = .string(grant.providerID)
        fields["scope_mismatch"] = false
        try sandbox.store.touch(grantID: grant.id, at: now)
        return (grant, .object(fields), refreshed)
    }

    /// The access token expired: the vault refreshes it with the grant's refresh token.
    private static func refresh(_ grant: Grant, in sandbox: Sandbox) throws -> IssuedToken {
        guard try sandbox.store.refreshToken(grantID: grant.id) != nil else {
            throw VaultError(status: 403, code: "credential_revoked",
                             message: "Underlying OAuth connection has been revoked. User must re-authorize.",
                             topLevel: ["grant_id": .string(grant.id)])
        }
        return try sandbox.issueAccessToken(for: grant)
    }
}
