import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore

/// Who may use the control API: it hands out API keys and changes sandboxes, so it answers only
/// this machine's own tools, never a web page that happens to be open in a browser here.
///
/// - **Host** (every method): the request must be addressed to a loopback name — `127.0.0.1`,
///   `localhost` or `[::1]`, any port — else 403 `foreign_host`. A page on `evil.example` can
///   make its own name resolve to 127.0.0.1 (DNS rebinding) and then read the answers as
///   same-origin; its requests still carry `Host: evil.example`. A request with no authority
///   at all is allowed: no browser sends one (HTTP/1.1 requires Host), and HummingbirdTesting's
///   in-process client may not either.
/// - **Origin** (POST, PUT, PATCH, DELETE): when present, its host must be a loopback name,
///   else 403 `foreign_origin` (`null`, from a sandboxed frame or a file, is foreign too).
///   Browsers send Origin with every cross-site request that changes state.
/// - **Content-Type** (POST, PUT, PATCH, DELETE): when present, it must be `application/json`
///   (parameters such as `charset` allowed), else 415 `unsupported_media_type`; so a form or
///   `text/plain` post — the kinds a page may send without a CORS preflight — is refused even
///   if a browser left Origin out (a foreign Origin is refused first, 403). A body sent without
///   a Content-Type is read as JSON only from a client that is not a browser page (no Origin):
///   curl, scripts, the tests' in-process client. An empty body needs no Content-Type.
enum ControlAccess {
    /// Applies the rules to every route it is added before (`ControlRoutes` adds it to its group).
    struct Middleware<Context: RequestContext>: RouterMiddleware {
        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            if let refusal = ControlAccess.refusal(for: request.head) {
                return refusal.response(forHEAD: request.method == .head)
            }
            return try await next(request, context)
        }
    }

    /// The methods that change state, and so need a same-site Origin and a JSON body.
    static let stateChangingMethods: Set<HTTPRequest.Method> = [.post, .put, .patch, .delete]

    static let loopbackHosts: Set<String> = ["127.0.0.1", "localhost", "[::1]"]

    /// Why this request may not use the control API; nil when it may.
    static func refusal(for head: HTTPRequest) -> VaultError? {
        let loopback = loopbackHosts.sorted().joined(separator: ", ")
        if let authority = head.authority, !isLoopback(authority: authority) {
            return VaultError(status: 403, code: "foreign_host",
                              message: "The control API answers only requests addressed to this machine (Host \(loopback), any port); "
                                  + "this one was addressed to '\(authority)'. Use http://127.0.0.1:<port>/_vaultsim/.",
                              details: ["host": .string(authority)])
        }
        // HTTP/1 turns the first Host header into the authority; a second one stays a field.
        if let name = HTTPField.Name("Host"), let second = head.headerFields[name] {
            return VaultError(status: 403, code: "foreign_host", message: "The control API refuses a request with two Host headers",
                              details: ["host": .string(second)])
        }
        guard stateChangingMethods.contains(head.method) else { return nil }
        let origin = head.headerFields[.origin]
        if let origin, !isLoopback(origin: origin) {
            return VaultError(status: 403, code: "foreign_origin",
                              message: "The control API refuses \(head.method.rawValue) requests from web pages of other sites "
                                  + "(Origin '\(origin)'); only pages on \(loopback) may send them.",
                              details: ["origin": .string(origin)])
        }
        if let contentType = head.headerFields[.contentType] {
            guard isJSON(contentType: contentType) else {
                return unsupportedMediaType("got Content-Type '\(contentType)'", contentType: contentType)
            }
        } else if origin != nil, hasBody(head) {
            return unsupportedMediaType("a web page sent a body without one", contentType: nil)
        }
        return nil
    }

    private static func unsupportedMediaType(_ what: String, contentType: String?) -> VaultError {
        VaultError(status: 415, code: "unsupported_media_type",
                   message: "The control API reads JSON: send Content-Type: application/json (\(what))",
                   details: ["content_type": contentType.map(JSONValue.string) ?? .null])
    }

    /// `127.0.0.1`, `localhost` or `[::1]`, with or without a port.
    static func isLoopback(authority: String) -> Bool {
        let lower = authority.lowercased()
        var host = lower
        var port: Substring = ""
        if lower.hasPrefix("[") {
            guard let end = lower.firstIndex(of: "]") else { return false }
            host = String(lower[...end])
            let rest = lower[lower.index(after: end)...]
            guard rest.isEmpty || rest.hasPrefix(":") else { return false }
            port = rest.dropFirst()
            if rest.hasPrefix(":"), port.isEmpty { return false }
        } else if let colon = lower.lastIndex(of: ":") {
            host = String(lower[..<colon])
            port = lower[lower.index(after: colon)...]
            if port.isEmpty { return false }
        }
        guard port.count <= 5, port.allSatisfy({ $0.isASCII && $0.isNumber }) else { return false }
        return loopbackHosts.contains(host)
    }

    /// An `Origin` (`scheme://host[:port]`) whose host is a loopback name, over http or https.
    static func isLoopback(origin: String) -> Bool {
        let lower = origin.lowercased()
        guard let scheme = ["http://", "https://"].first(where: lower.hasPrefix) else { return false }
        let authority = lower.dropFirst(scheme.count)
        guard !authority.isEmpty, !authority.contains("/"), !authority.contains("@") else { return false }
        return isLoopback(authority: String(authority))
    }

    static func isJSON(contentType: String) -> Bool {
        let mediaType = contentType.split(separator: ";", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
        return mediaType.trimmingCharacters(in: .whitespaces).lowercased() == "application/json"
    }

    /// Whether the request says it carries a body (a non-zero Content-Length, or chunked).
    static func hasBody(_ head: HTTPRequest) -> Bool {
        if head.headerFields[.transferEncoding] != nil { return true }
        guard let length = head.headerFields[.contentLength] else { return false }
        return length.trimmingCharacters(in: .whitespaces) != "0"
    }
}
