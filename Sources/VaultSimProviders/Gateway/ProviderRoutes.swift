import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore

/// The provider gateway: every call to a fake provider — from the app through the SDK, from the
/// vault, or from a browser — arrives at `/sandboxes/{sandbox}/hosts/{real host}/{path}`, is
/// passed through the interception chain (recorder → faults → replay) and answered by the
/// provider that owns the host.
public struct ProviderRoutes: Sendable {
    public static let mountPrefix = "/sandboxes"
    /// Set by the vault (`vault`) and the Connect pages (`browser`); absent for app calls.
    public static let callerHeader = "x-vaultsim-caller"
    /// Set by the intercepting proxy to the Host the client sent: the request then stands for
    /// `https://{host}{path}` as the client wrote (and signed) it, not for the gateway URL.
    public static let proxiedHostHeader = "x-vaultsim-proxied-host"
    /// The one CDN package VaultSim answers (the vault serves it; named in every refusal).
    public static let widgetPackageURL = "https://cdn.jsdelivr.net/npm/@alter-ai/connect@<version>/"
    /// Request bodies (other than forms) are refused above this size.
    static let bodyLimit = 16 << 20

    let registry: SandboxRegistry
    let directory: ProviderDirectory

    public init(registry: SandboxRegistry, directory: ProviderDirectory) {
        self.registry = registry
        self.directory = directory
    }

    /// The gateway URL standing for `https://{host}` in a sandbox, for a server at `serverURL`.
    public static func baseURL(serverURL: String, sandboxID: String, host: String) -> String {
        "\(serverURL)\(mountPrefix)/\(sandboxID)/hosts/\(host)"
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]
        for method in methods {
            router.on("\(Self.mountPrefix)/:sandbox/hosts/:host/**", method: method) { request, context in
                try await self.handle(request, context: context)
            }
            router.on("\(Self.mountPrefix)/:sandbox/hosts/:host", method: method) { request, context in
                try await self.handle(request, context: context)
            }
        }
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let sandboxID = context.parameters.get("sandbox") ?? ""
        let host = (context.parameters.get("host") ?? "").lowercased()
        guard let sandbox = registry.sandbox(id: sandboxID) else {
            return Self.plain(404, "VaultSim: no sandbox '\(sandboxID)' (it may have been deleted)")
        }
        guard let provider = directory.provider(host: host) else {
            let hosts = ProviderCatalog.all.flatMap(\.hosts).joined(separator: ", ")
            return Self.plain(502, "VaultSim: no fake provider owns the host '\(host)'; VaultSim fakes: \(hosts); "
                              + "and serves the Connect widget at \(Self.widgetPackageURL) (through its proxy)")
        }
        let fullPath = request.uri.path
        let mount = "\(Self.mountPrefix)/\(sandboxID)/hosts/\(host)"
        var path = fullPath.lowercased().hasPrefix(mount.lowercased()) ? String(fullPath.dropFirst(mount.count)) : fullPath
        if path.isEmpty { path = "/" }
        var named: ProviderCall.Caller?
        // HTTP/1.1's Host header arrives as the request's authority, not among the header fields;
        // the journal keeps it first, as the client wrote it (and signed it, for SigV4).
        var fields = HTTPFields()
        var proxiedHost: String?
        for field in request.headers {
            let name = field.name.canonicalName
            if name == Self.proxiedHostHeader {
                proxiedHost = field.value
                continue
            }
            if name == Self.callerHeader {
                named = ProviderCall.Caller(rawValue: field.value) ?? .sdk
                continue
            }
            fields.append(field)
        }
        if let hostValue = proxiedHost ?? request.head.authority { fields.insert(HTTPField(name: HTTPField.Name("Host")!, value: hostValue), at: 0) }
        let headers = Exchange.joined(fields)
        // Without the header, a page navigation is a browser's (httpx and the SDK send `*/*`).
        let caller = named ?? (headers["sec-fetch-mode"] == "navigate" || headers["accept"]?.hasPrefix("text/html") == true ? .browser : .sdk)
        // Bounded work: a form body or a query over the codec's limits is refused before anything
        // is built from it (a 14 MB form once cost 28 s and 740 MB that were never given back).
        let rawQuery = request.uri.query ?? ""
        if let refusal = QueryString.check(rawQuery) {
            return Self.plain(414, "VaultSim: the query string has \(refusal); the gateway takes at most "
                              + "\(QueryString.Limits.standard.maxPairs) pairs and \(QueryString.Limits.standard.maxBytes) bytes")
        }
        let isForm = headers["content-type"]?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        let bodyLimit = isForm ? QueryString.Limits.standard.maxBytes : Self.bodyLimit
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: bodyLimit)
        } catch {
            return Self.plain(413, "VaultSim: the request body is over \(bodyLimit) bytes, the most the gateway takes"
                              + (isForm ? " in a form (application/x-www-form-urlencoded)" : ""))
        }
        if isForm, let refusal = QueryString.check(buffer.readableBytesView) {
            return Self.plain(413, "VaultSim: the form body has \(refusal); the gateway takes at most \(QueryString.Limits.standard.maxPairs) pairs")
        }
        let exchange = Exchange.Request(method: request.method.rawValue, scheme: "https", host: host, path: path, query: rawQuery,
                                        headers: fields, body: Data(buffer: buffer))
        let signedPath = proxiedHost == nil ? fullPath : path
        let context = ExchangeContext(sandbox: sandbox, caller: caller, service: provider.descriptor.id)
        let answer = try await InterceptionChain.standard.run(exchange, in: context) { request, context in
            let call = ProviderCall(method: request.method, host: request.host, caller: context.caller, path: request.path,
                                    fullPath: signedPath, rawQuery: request.query, headers: request.joinedHeaders, body: request.body)
            return ExchangeAnswer(try await provider.respond(to: call, in: context.sandbox).exchangeResponse, by: "provider")
        }
        return try await ExchangeResponder.response(answer)
    }

    static func response(_ answer: ProviderResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func plain(_ status: Int, _ text: String) -> Response {
        response(.text(status, text))
    }
}
