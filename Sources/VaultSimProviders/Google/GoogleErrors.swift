import Foundation
import VaultSimCore

/// Google API error bodies, in the shape googleapis.com returns them.
enum GoogleErrors {
    static func error(_ code: Int, status: String, message: String, reason: String, domain: String = "global",
                      extra: [String: JSONValue] = [:], headers: [String: String] = [:]) -> ProviderResponse {
        var inner: JSONObject = [
            "code": .number(Double(code)), "message": .string(message),
            "errors": [["message": .string(message), "domain": .string(domain), "reason": .string(reason)]],
            "status": .string(status),
        ]
        for (key, value) in extra { inner[key] = value }
        return .json(code, ["error": .object(inner)], headers: headers)
    }

    static let unauthenticated = error(
        401, status: "UNAUTHENTICATED",
        message: "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        reason: "authError",
        headers: ["www-authenticate": "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""])

    static let missingCredentials = error(
        401, status: "UNAUTHENTICATED",
        message: "Request is missing required authentication credential. Expected OAuth 2 access token, login cookie or other valid authentication credential. See https://developers.google.com/identity/sign-in/web/devconsole-project.",
        reason: "required",
        headers: ["www-authenticate": "Bearer realm=\"https://accounts.google.com/\""])

    static let insufficientScopes = error(
        403, status: "PERMISSION_DENIED", message: "Request had insufficient authentication scopes.",
        reason: "insufficientPermissions",
        headers: ["www-authenticate": "Bearer realm=\"https://accounts.google.com/\", error=\"insufficient_scope\""])

    static let notFound = error(404, status: "NOT_FOUND", message: "Not Found", reason: "notFound")

    static func badRequest(_ message: String, reason: String = "badRequest") -> ProviderResponse {
        error(400, status: "INVALID_ARGUMENT", message: message, reason: reason)
    }

    static func invalidParameter(_ name: String, _ message: String) -> ProviderResponse {
        error(400, status: "INVALID_ARGUMENT", message: message, reason: "invalid",
              extra: ["errors": [["message": .string(message), "domain": "global", "reason": "invalid",
                                  "location": .string(name), "locationType": "parameter"]]])
    }
}
