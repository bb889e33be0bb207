import HTTPTypes
import Hummingbird

/// No page VaultSim serves may be framed by another site: every HTML answer (the hosted Connect
/// pages, the providers' consent and error pages, a refusal rendered as a page) carries
/// `X-Frame-Options: DENY` and `Content-Security-Policy: frame-ancestors 'none'`, so an Allow
/// button cannot be clickjacked. The router's outermost middleware, so it sees every answer.
struct FramingPolicyMiddleware<Context: RequestContext>: RouterMiddleware {
    static var frameOptions: HTTPField.Name { HTTPField.Name("X-Frame-Options")! }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var response = try await next(request, context)
        Self.apply(to: &response.headers)
        return response
    }

    /// Adds the two headers to an HTML answer's fields (a page that set its own CSP keeps it, with
    /// `frame-ancestors 'none'` added when it has none).
    static func apply(to headers: inout HTTPFields) {
        guard headers[.contentType]?.lowercased().hasPrefix("text/html") == true else { return }
        headers[frameOptions] = "DENY"
        if let policy = headers[.contentSecurityPolicy] {
            if !policy.lowercased().contains("frame-ancestors") { headers[.contentSecurityPolicy] = policy + "; frame-ancestors 'none'" }
        } else {
            headers[.contentSecurityPolicy] = "frame-ancestors 'none'"
        }
    }
}
