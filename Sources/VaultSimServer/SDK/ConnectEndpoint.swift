import Foundation
import VaultSimCore

/// `POST /sdk/oauth/connect/session` and `POST /sdk/oauth/connect/session/poll` (E5, E6): the
/// request read and typed here, the session logic in `ConnectService`, the wire shapes here.
enum ConnectEndpoint {
    static func create(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        // Options of the App generation that need agents, identity mode or user policy rules.
        for key in notSimulated where body[key] != nil && body[key] != .null {
            throw VaultError(status: 501, code: "not_simulated",
                             message: "create_connect_session's '\(key)' is not simulated by VaultSim (agents, identity mode and direct sessions are out of its scope)",
                             details: ["field": .string(key)])
        }
        var request = ConnectService.SessionRequest(
            allowedProviders: try body.optionalStringList("allowed_providers"), returnURL: try body.optionalString("return_url"),
            allowedOrigin: try body.optionalString("allowed_origin"), metadata: try body.optionalObject("metadata").map(JSONValue.object))
        if let policy = try body.optionalObject("grant_policy") {
            for key in policy.keys where key != "max_ttl_seconds" && key != "default_ttl_seconds" {
                throw VaultError(status: 422, code: "invalid_body", message: "grant_policy has an unknown key '\(key)' (known: max_ttl_seconds, default_ttl_seconds)")
            }
            request.grantPolicy = ConnectGrantPolicy(maxTTLSeconds: try policy.optionalInt("max_ttl_seconds"),
                                                     defaultTTLSeconds: try policy.optionalInt("default_ttl_seconds"))
        }
        if let scopes = try body.optionalObject("required_scopes") {
            var map: [String: [String]] = [:]
            for provider in scopes.keys { map[provider] = try scopes.optionalStringList(provider) ?? [] }
            request.requiredScopes = map
        }
        request.repairGrantID = try body.optionalString("repair_grant_id")
        let session = try call.connect.create(request)
        return (200, [
            "session_token": .string(session.token),
            "connect_url": .string(ConnectPages.sessionURL(serverURL: call.serverURL, sandboxID: call.sandbox.id, token: session.token)),
            "expires_in": .number(Double(ConnectService.sessionLifetime)),
            "expires_at": .string(session.expiresAt.rfc3339),
        ])
    }

    /// Session options VaultSim refuses with 501 rather than ignore.
    static let notSimulated = ["agent", "user_token", "requested_grant", "delegable", "scope_constraint", "direct", "switch_account"]

    static func poll(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let token = try call.jsonObject().requiredString("session_token")
        let session = try call.connect.session(token: token)
        return (200, pollBody(session, at: call.sandbox.clock.now))
    }

    /// What the poll answers for a session at `now`.
    static func pollBody(_ session: ConnectSession, at now: Date) -> JSONValue {
        switch session.status(at: now) {
        case .pending: return ["status": "pending"]
        case .expired: return ["status": "expired"]
        case .completed: return ["status": "completed", "grants": .array(session.results.map(wire))]
        case .error:
            return ["status": "error", "error": [
                "error_code": .string(session.errorCode ?? "unknown_error"), "error_message": .string(session.errorMessage ?? "OAuth flow failed"),
            ]]
        }
    }

    static func wire(_ result: ConnectResultRecord) -> JSONValue {
        var grant: JSONObject = [
            "grant_id": .string(result.grantID), "provider_id": .string(result.providerID),
            "account_identifier": result.accountIdentifier.map(JSONValue.string) ?? .null,
            "scopes": .array(result.scopes.map(JSONValue.string)),
            "operation": .string(result.operation ?? "creation"),
        ]
        if let expiresAt = result.policyExpiresAt {
            grant["grant_policy"] = [
                "expires_at": .string(expiresAt.rfc3339), "created_by": result.policyCreatedBy.map(JSONValue.string) ?? .null,
                "created_at": result.policyCreatedAt.map { .string($0.rfc3339) } ?? .null,
            ]
        } else {
            grant["grant_policy"] = .null
        }
        return .object(grant)
    }
}

extension SDKCall {
    var connect: ConnectService { ConnectService(credentials: credentials) }
}
