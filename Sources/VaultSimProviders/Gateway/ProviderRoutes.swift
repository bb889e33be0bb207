import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore

/// Mounts the fake providers at `/sandboxes/{sandbox}/providers/{provider}/...`: every request is
/// answered by a fault rule of the sandbox or by the provider, and journaled either way.
public struct ProviderRoutes: Sendable {
    public static let mountPrefix = "/sandboxes"

    let registry: SandboxRegistry
    let directory: ProviderDirectory

    public init(registry: SandboxRegistry, directory: ProviderDirectory) {
        self.registry = registry
        self.directory = directory
    }

    /// The base URL of a provider in a sandbox, for a server at `serverURL`.
    public static func baseURL(serverURL: String, sandboxID: String, providerID: String) -> String {
        "\(serverURL)\(mountPrefix)/\(sandboxID)/providers/\(providerID)"
    }

    public func add<Context: RequestContext>(to router: Router<Context>) {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .patch, .delete, .head, .options]
        for method in methods {
            router.on("\(Self.mountPrefix)/:sandbox/providers/:provider/**", method: method) { request, context in
                try await self.handle(request, context: context)
            }
            router.on("\(Self.mountPrefix)/:sandbox/providers/:provider", method: method) { request, context in
                try await self.handle(request, context: context)
            }
        }
    }

    func handle(_ request: Request, context: some RequestContext) async throws -> Response {
        let sandboxID = context.parameters.get("sandbox") ?? ""
        let providerID = context.parameters.get("provider") ?? ""
        guard let sandbox = registry.sandbox(id: sandboxID) else {
            return Self.plain(404, "VaultSim: no sandbox '\(sandboxID)' (it may have been deleted)")
        }
        guard let provider = directory.provider(id: providerID) else {
            return Self.plain(404, "VaultSim: no fake provider '\(providerID)'; known: \(directory.providers.keys.sorted().joined(separator: ", "))")
        }
        let fullPath = request.uri.path
        let mount = "\(Self.mountPrefix)/\(sandboxID)/providers/\(providerID)"
        var path = fullPath.hasPrefix(mount) ? String(fullPath.dropFirst(mount.count)) : fullPath
        if path.isEmpty { path = "/" }
        // HTTP/1.1's Host header arrives as the request's authority, not among the header fields.
        var headers: [String: String] = [:]
        if let authority = request.head.authority { headers["host"] = authority }
        for field in request.headers {
            let name = field.name.canonicalName
            headers[name] = headers[name].map { "\($0), \(field.value)" } ?? field.value
        }
        let buffer = try await request.body.collect(upTo: 16 << 20)
        let body = Data(buffer: buffer)
        let call = ProviderCall(method: request.method.rawValue, path: path, fullPath: fullPath,
                                rawQuery: request.uri.query ?? "", headers: headers, body: body)

        func journal(_ answer: ProviderResponse, answeredBy: String) throws {
            try sandbox.store.append(providerRequest: ProviderRequestRecord(
                receivedAt: sandbox.clock.now, providerID: providerID, method: call.method, path: call.path, query: call.rawQuery,
                headers: headers, body: String(decoding: body, as: UTF8.self), status: answer.status, answeredBy: answeredBy))
        }

        if let fault = sandbox.faults.take(providerID: providerID, method: call.method, path: call.path) {
            let answer = ProviderResponse(status: fault.status, headers: fault.headers, body: Data(fault.body.utf8))
            // Journaled before the delay: a client that gives up waiting still leaves its trace.
            try journal(answer, answeredBy: "fault")
            if fault.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(fault.delayMilliseconds)) }
            return Self.response(answer)
        }
        let answer = try await provider.respond(to: call, in: sandbox)
        try journal(answer, answeredBy: "provider")
        return Self.response(answer)
    }

    static func response(_ answer: ProviderResponse) -> Response {
        var fields = HTTPFields()
        for (name, value) in answer.headers {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return Response(status: .init(code: answer.status), headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }

    static func plain(_ status: Int, _ text: String) -> Response {
        response(ProviderResponse(status: status, headers: ["content-type": "text/plain; charset=utf-8"], body: Data(text.utf8)))
    }
}
