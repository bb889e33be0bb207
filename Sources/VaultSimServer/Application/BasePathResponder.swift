import HTTPTypes
import Hummingbird
import VaultSimProviders

/// Serves the vault under any base-URL path prefix. An app may set
/// `ALTER_BASE_URL=http://127.0.0.1:P/some/prefix`; the SDK then posts to
/// `/some/prefix/sdk/token` but signs `/sdk/token`, so the prefix is dropped before routing
/// (and before the signature check). Provider and control routes are never rewritten.
struct BasePathResponder<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        guard let rewritten = Self.strippingPrefix(request.head.path) else {
            return try await inner.respond(to: request, context: context)
        }
        var head = request.head
        // Say which prefix the request came under, for a sandbox that insists on one.
        let prefix = String((request.head.path ?? "").dropLast(rewritten.count))
        head.headerFields[.vaultSimBasePath] = prefix
        head.path = rewritten
        return try await inner.respond(to: Request(head: head, body: request.body), context: context)
    }


    /// `/prefix/sdk/token?x` → `/sdk/token?x`; nil when the path needs no rewriting.
    static func strippingPrefix(_ path: String?) -> String? {
        guard let path, !path.hasPrefix("/sdk/"), !path.hasPrefix(ProviderRoutes.mountPrefix + "/"),
              !path.hasPrefix(ControlRoutes.prefix + "/"), let range = path.range(of: "/sdk/")
        else { return nil }
        return String(path[range.lowerBound...])
    }
}

extension HTTPField.Name {
    /// Set by `BasePathResponder`: the path prefix an `/sdk/*` request came under.
    static let vaultSimBasePath = HTTPField.Name("x-vaultsim-base-path")!
}
