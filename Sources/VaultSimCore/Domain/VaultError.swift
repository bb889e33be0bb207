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

    public init(status: Int, code: String, message: String, details: [String: JSONValue] = [:], topLevel: [String: JSONValue] = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.topLevel = topLevel
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

    public static func grantNotFound(_ grantID: String) -> VaultError {
        VaultError(status: 404, code: "grant_not_found", message: "OAuth grant not found for the given grant_id",
                   details: ["grant_id": .string(grantID)])
    }

    public static func grantRevoked(_ grantID: String) -> VaultError {
        VaultError(status: 403, code: "grant_revoked", message: "Grant has been revoked. User must re-authorize.",
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
