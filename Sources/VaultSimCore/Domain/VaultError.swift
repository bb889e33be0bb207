import Foundation

/// An error of the vault's wire contract: one HTTP status, one `error` code, a message and details.
///
/// Rendered once, by the server, into the FastAPI envelope the SDK parses:
/// `{"detail": {"error": code, "message": message, "details": {...}, ...topLevel}}`.
/// `topLevel` carries the fields the SDK reads outside `details` (such as `grant_id` for
/// `grant_revoked`).
public struct VaultError: Error, Sendable, Equatable {
    public var status: Int
    public var code: String
    public var message: String
    public var details: [String: JSONValue]
    public var topLevel: [String: JSONValue]
    /// Response headers that go with it (such as `Retry-After`).
    public var headers: [String: String]

    public init(status: Int, code: String, message: String, details: [String: JSONValue] = [:], topLevel: [String: JSONValue] = [:],
                headers: [String: String] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.topLevel = topLevel
        self.headers = headers
    }

    /// The JSON body: the FastAPI `detail` envelope.
    public var body: JSONValue {
        var inner: [String: JSONValue] = topLevel
        inner["error"] = .string(code)
        inner["message"] = .string(message)
        inner["details"] = .object(details)
        return ["detail": .object(inner)]
    }
}

extension VaultError {
    public static func badRequest(_ message: String, code: String = "invalid_request", details: [String: JSONValue] = [:]) -> VaultError {
        VaultError(status: 400, code: code, message: message, details: details)
    }

    public static func unauthorized(_ code: String, _ message: String) -> VaultError {
        VaultError(status: 401, code: code, message: message)
    }

    // The messages differ from alter-sdk's built-in defaults on purpose: a scenario that checks
    // the message then proves the SDK read the body rather than falling back to its default.

    public static func grantNotFound(_ grantID: String) -> VaultError {
        VaultError(status: 404, code: "grant_not_found", message: "OAuth grant not found: this app has no grant '\(grantID)'",
                   details: ["grant_id": .string(grantID)])
    }

    public static func grantRevoked(_ grantID: String, reason: String? = nil) -> VaultError {
        VaultError(status: 403, code: "grant_revoked",
                   message: "Grant has been revoked\(reason.map { " (\($0))" } ?? ""). The user must re-authorize through Connect.",
                   topLevel: ["grant_id": .string(grantID)])
    }

    /// `provider_id` rides at the top level, where alter-sdk 0.15+ reads the recovery context of
    /// `CredentialRevokedError` (for `create_connect_session_for_error`).
    public static func credentialRevoked(_ grantID: String, providerID: String, reason: String) -> VaultError {
        VaultError(status: 403, code: "credential_revoked",
                   message: "Underlying OAuth connection has been revoked: \(reason.hasSuffix(".") ? String(reason.dropLast()) : reason). The user must re-authorize.",
                   details: ["reason": .string(reason)], topLevel: ["grant_id": .string(grantID), "provider_id": .string(providerID)])
    }

    public static func grantExpired(_ grantID: String, expiredAt: Date?) -> VaultError {
        var details: [String: JSONValue] = ["grant_id": .string(grantID)]
        if let expiredAt { details["expired_at"] = .string(expiredAt.rfc3339) }
        return VaultError(status: 403, code: "grant_expired",
                          message: "Grant expired per its TTL policy\(expiredAt.map { " at \($0.rfc3339)" } ?? ""); the user must re-authorize.",
                          details: details)
    }

    public static func grantDeleted(_ grantID: String) -> VaultError {
        VaultError(status: 410, code: "grant_deleted", message: "Grant has been deleted by the developer; the user must connect again.",
                   details: ["grant_id": .string(grantID)])
    }

    /// A refresh of this grant is running now and the vault is set not to wait for it.
    public static func refreshInProgress(_ grantID: String) -> VaultError {
        VaultError(status: 409, code: "token_refresh_in_progress", message: "Token refresh in progress for this grant; retry in a moment.",
                   topLevel: ["grant_id": .string(grantID)])
    }

    public static func providerNotConfigured(_ providerID: String) -> VaultError {
        VaultError(status: 400, code: "provider_not_configured",
                   message: "Provider '\(providerID)' is not configured for this application",
                   details: ["provider_id": .string(providerID)])
    }

    public static func notFound(_ message: String) -> VaultError {
        VaultError(status: 404, code: "not_found", message: message)
    }
}
