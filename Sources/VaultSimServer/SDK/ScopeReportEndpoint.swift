import Foundation
import VaultSimCore

/// `POST /sdk/grants/{grant_id}/report-scope-mismatch` (alter-sdk 0.12+): the SDK's background
/// report that a provider refused a call with `WWW-Authenticate: Bearer error="insufficient_scope"`.
/// The body is checked field by field against the bounds the SDK clamps to (422 naming the
/// field otherwise); the grant is flagged, so `/sdk/token` and the grant lists show
/// `scope_mismatch: true` until the user authorizes it again. Answers 204, as the SDK expects.
enum ScopeReportEndpoint {
    static let detectionSources: Set<String> = ["www_authenticate_rfc6750"]

    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let grantID = call.pathParameters["grant_id"] ?? ""
        let body = try call.jsonObject()
        guard let status = try body.optionalInt("provider_status_code"), (100...599).contains(status) else {
            throw invalid("provider_status_code must be an HTTP status (100-599)")
        }
        let code = try body.requiredString("provider_error_code")
        guard !code.isEmpty, code.count <= 128 else { throw invalid("provider_error_code must be 1 to 128 characters") }
        let missing = try body.optionalStringList("missing_scopes")
        if let missing {
            guard missing.count <= 50, missing.allSatisfy({ !$0.isEmpty && $0.count <= 256 }) else {
                throw invalid("missing_scopes must be at most 50 scopes of 1 to 256 characters")
            }
        }
        if let raw = try body.optionalString("raw_www_authenticate"), raw.count > 4096 {
            throw invalid("raw_www_authenticate must be at most 4096 characters")
        }
        let endpoint = try body.requiredString("api_endpoint")
        guard endpoint.count <= 2048 else { throw invalid("api_endpoint must be at most 2048 characters") }
        let source = try body.requiredString("detection_source")
        guard detectionSources.contains(source) else {
            throw invalid("detection_source must be one of \(detectionSources.sorted().joined(separator: ", ")), got '\(source)'")
        }
        _ = try body.optionalString("sdk_correlation_id")
        let sandbox = call.sandbox
        guard let grant = try sandbox.store.grant(id: grantID), grant.kind == .oauth else { throw VaultError.grantNotFound(grantID) }
        if grant.status == .deleted { throw VaultError.grantDeleted(grantID) }
        try sandbox.store.reportScopeMismatch(grantID: grantID, missingScopes: missing, at: sandbox.clock.now)
        return (204, .null)
    }

    private static func invalid(_ message: String) -> VaultError {
        VaultError(status: 422, code: "invalid_body", message: message)
    }
}
