import Foundation
import VaultSimCore

/// The identity plane (E7–E9): `POST /sdk/auth/session` starts a sign-in at the app's identity
/// provider (`authenticate()`), `POST /sdk/auth/poll` tells how it stands, and
/// `POST /sdk/auth/verify-token` checks a user token the IdP issued (`verify_user_token()`).
/// An app without an identity provider (no `given.identity`) gets 400 `idp_not_configured`.
enum AuthEndpoint {
    static func session(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        _ = try call.jsonObject()
        try requireProvider(call.sandbox)
        let session = call.sandbox.identity.open(at: call.sandbox.clock.now)
        return (201, [
            "auth_url": .string(IdentityPages.signInURL(serverURL: call.serverURL, sandboxID: call.sandbox.id, pageToken: session.pageToken)),
            "session_token": .string(session.sessionToken),
            "expires_in": .number(IdentityBook.sessionLifetime),
            "expires_at": .string(session.expiresAt.rfc3339),
        ])
    }

    static func poll(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let token = try call.jsonObject().requiredString("session_token")
        guard let session = call.sandbox.identity.session(token: token) else {
            throw VaultError(status: 404, code: "session_not_found", message: "No sign-in session has this session_token")
        }
        switch session.status(at: call.sandbox.clock.now) {
        case .pending: return (200, ["status": "pending"])
        case .expired: return (200, ["status": "expired"])
        case .error: return (200, ["status": "error", "error_message": .string(session.errorMessage ?? "Authentication failed")])
        case .completed:
            return (200, ["status": "completed", "user_token": .string(session.userToken ?? ""),
                          "user_info": .object(session.user?.userInfo ?? [:])])
        }
    }

    static func verifyToken(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let token = try call.jsonObject().requiredString("token")
        try requireProvider(call.sandbox)
        switch verify(token, in: call.sandbox) {
        case .success(let sub): return (200, ["sub": .string(sub)])
        case .failure(let refusal): throw VaultError(status: 401, code: "invalid_token", message: "Invalid user token: \(refusal)")
        }
    }

    /// A user token's `sub`, checked against the sandbox's identity provider on its clock.
    static func verify(_ token: String, in sandbox: Sandbox) -> Result<String, UserToken.Refusal> {
        UserToken.verify(token, issuer: UserToken.issuer(sandboxID: sandbox.id), audience: sandbox.app.id, apiKey: sandbox.apiKey,
                         at: sandbox.clock.now)
    }

    /// A token the sandbox's identity provider issues to `user` now.
    static func mint(for user: IdentityUser, in sandbox: Sandbox) -> String {
        UserToken.mint(user: user, issuer: UserToken.issuer(sandboxID: sandbox.id), audience: sandbox.app.id, apiKey: sandbox.apiKey,
                       at: sandbox.clock.now, lifetime: sandbox.identity.tokenLifetime)
    }

    private static func requireProvider(_ sandbox: Sandbox) throws {
        guard sandbox.identity.isConfigured else {
            throw VaultError(status: 400, code: "idp_not_configured",
                             message: "No identity provider is configured for this app (a scenario gives it one with given.identity)")
        }
    }
}

extension VaultSimServer {
    /// A user token the sandbox's identity provider issues to `user` now (valid for its token
    /// lifetime on the sandbox clock), as a completed sign-in would return it.
    public func userToken(for user: IdentityUser, in sandbox: Sandbox) -> String {
        AuthEndpoint.mint(for: user, in: sandbox)
    }
}
