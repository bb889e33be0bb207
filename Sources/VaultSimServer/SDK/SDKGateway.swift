import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VaultSimCore
import VaultSimProviders

/// The front door of every `/sdk/*` route: finds the sandbox by `x-api-key`, verifies the HMAC
/// signature, reads the caller headers, runs the endpoint, renders any `VaultError` into the
/// FastAPI envelope, and returns `X-Alter-Actor-ID` when a caller is named.
struct SDKGateway: Sendable {
    let registry: SandboxRegistry
    let verifier: HMACVerifier
    let transport: any ProviderTransport
    let address: ServerAddress
    let logger: Logger

    typealias Endpoint = @Sendable (SDKCall) async throws -> (status: Int, body: JSONValue)

    func handle(_ request: Request, context: some RequestContext, parameters: [String] = [], endpoint: Endpoint) async -> Response {
        var actorID: String?
        do {
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = Data(buffer: buffer)
            var headers: [String: String] = [:]
            for field in request.headers { headers[field.name.canonicalName] = field.value }

            guard let apiKey = headers["x-api-key"], !apiKey.isEmpty else {
                throw VaultError.unauthorized("missing_api_key", "Missing x-api-key header")
            }
            guard let sandbox = registry.sandbox(apiKey: apiKey) else {
                // The key's prefix only: enough to tell two keys apart, not enough to use one.
                let prefix = String(apiKey.prefix(14)) + "…"
                logger.info("refused an unknown API key", metadata: ["key_prefix": "\(prefix)", "path": "\(request.uri.path)"])
                var error = VaultError.unauthorized("invalid_api_key", "Invalid API key")
                error.topLevel["hint"] = .string("No sandbox of this VaultSim has the key \(prefix). Use the ALTER_API_KEY that `vaultsim serve` "
                    + "prints (or GET /_vaultsim/sandboxes/{id}/api-key); a serve started with another --db has another key.")
                throw error
            }
            let signedPath = QueryString.percentDecoded(request.uri.path)
            // A sandbox whose app's base URL has a path serves only under it (so a scenario can
            // tell an SDK that drops the prefix from one that keeps it).
            if let expected = sandbox.behaviour.basePath {
                let arrived = request.headers[.vaultSimBasePath] ?? ""
                guard arrived == expected else {
                    throw VaultError(status: 404, code: "not_found",
                                     message: "This vault is served under \(expected); the request came to \(arrived.isEmpty ? "/" : arrived)/sdk/…")
                }
            }
            // A fault of the vault itself (down, slow, dropping connections) comes before anything else.
            if let fault = sandbox.vaultFaults.take(providerID: "vault", method: request.method.rawValue, path: signedPath, traits: .init(
                caller: "sdk", query: request.uri.query ?? "", body: String(decoding: body, as: UTF8.self), headers: headers)) {
                return try await FaultAnswer.respond(fault)
            }
            do {
                try verifier.verify(method: request.method.rawValue, path: signedPath, body: body, headers: headers, apiKey: apiKey)
            } catch {
                logger.info("refused signed request", metadata: ["path": "\(signedPath)", "reason": "\(error.code)"])
                throw VaultError.unauthorized(error.code, error.message)
            }
            let caller = CallerInfo(caller: headers["x-alter-caller"], callerType: headers["x-alter-caller"] == nil ? nil : (headers["x-alter-caller-type"] ?? "agent"),
                                    contextHeader: headers["x-alter-context"], actorID: headers["x-alter-actor-id"])
            if let name = caller.caller {
                actorID = try sandbox.store.actorID(caller: name, callerType: caller.callerType ?? "agent", at: sandbox.clock.now)
            }
            var pathParameters: [String: String] = [:]
            for name in parameters { pathParameters[name] = context.parameters.get(name).map(QueryString.percentDecoded) }
            let result = try await endpoint(SDKCall(sandbox: sandbox, caller: caller, body: body, pathParameters: pathParameters, transport: transport,
                                                       serverURL: address.baseURL))
            return Self.json(result.status, result.body, actorID: actorID)
        } catch let error as VaultError {
            return Self.json(error.status, error.body, actorID: actorID, headers: error.headers)
        } catch let error as any HTTPResponseError {
            // Refused by the HTTP layer (a body over 1 MiB, say): same envelope, its own status.
            let status = Int(error.status.code)
            let failure = VaultError(status: status, code: "request_rejected", message: "\(error.status.reasonPhrase): \(error)")
            return Self.json(status, failure.body, actorID: actorID)
        } catch {
            // Only the error's type: a store error can quote a row, and rows hold tokens.
            logger.error("SDK endpoint failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            let failure = VaultError(status: 500, code: "internal_error", message: "VaultSim internal error (\(type(of: error)))")
            return Self.json(500, failure.body, actorID: actorID)
        }
    }

    static func json(_ status: Int, _ body: JSONValue, actorID: String?, headers extra: [String: String] = [:]) -> Response {
        var headers: HTTPFields = [.contentType: "application/json"]
        if let actorID, let name = HTTPField.Name("X-Alter-Actor-ID") { headers[name] = actorID }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        return Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(string: body.jsonText)))
    }
}
