import Foundation
import HTTPTypes
import Hummingbird
import Logging
import VaultSimCore
import VaultSimProviders

/// The front door of every `/sdk/*` route: finds the sandbox by `x-api-key`, passes the request
/// through the interception chain (recorder → faults → replay), then verifies the HMAC
/// signature, reads the caller headers, runs the endpoint, renders any `VaultError` into the
/// FastAPI envelope, and returns `X-Alter-Actor-ID` when a caller is named.
struct SDKGateway: Sendable {
    let registry: SandboxRegistry
    let verifier: HMACVerifier
    let transport: any ProviderTransport
    let address: ServerAddress
    let logger: Logger

    typealias Endpoint = @Sendable (SDKCall) async throws -> (status: Int, body: JSONValue)

    func handle(_ request: Request, context: some RequestContext, parameters: [String] = [], endpoint: @escaping Endpoint) async -> Response {
        do {
            let buffer = try await request.body.collect(upTo: 1 << 20)
            let body = Data(buffer: buffer)
            guard let apiKey = request.headers[.xAPIKey], !apiKey.isEmpty else {
                throw VaultError.unauthorized("missing_api_key", "Missing x-api-key header")
            }
            guard let sandbox = registry.sandbox(apiKey: apiKey) else {
                // The key's prefix only: enough to tell two keys apart, not enough to use one.
                let prefix = String(apiKey.prefix(14)) + "…"
                logger.info("refused an unknown API key", metadata: ["key_prefix": "\(prefix)", "path": "\(request.uri.path)"])
                var error = VaultError.unauthorized("invalid_key", "Invalid API key")
                error.topLevel["hint"] = .string("No sandbox of this VaultSim has the key \(prefix). Use the ALTER_API_KEY that `vaultsim serve` "
                    + "prints (or GET /_vaultsim/sandboxes/{id}/api-key); a serve started with another --db has another key.")
                throw error
            }
            // HTTP/1.1's Host header arrives as the request's authority; the journal keeps it first.
            var fields = request.headers
            let authority = request.head.authority ?? String(address.baseURL.dropFirst("http://".count))
            fields.insert(HTTPField(name: HTTPField.Name("Host")!, value: authority), at: 0)
            var decoded: [String: String] = [:]
            for name in parameters { decoded[name] = context.parameters.get(name).map(QueryString.percentDecoded) }
            let pathParameters = decoded
            let exchange = Exchange.Request(method: request.method.rawValue, scheme: "http", host: authority, path: request.uri.path,
                                            query: request.uri.query ?? "", headers: fields, body: body)
            let answer = try await InterceptionChain.standard.run(exchange, in: ExchangeContext(sandbox: sandbox, caller: .sdk, service: "vault")) {
                request, context in
                ExchangeAnswer(await self.simulate(request, sandbox: context.sandbox, apiKey: apiKey, pathParameters: pathParameters,
                                                   endpoint: endpoint), by: "vault")
            }
            return try await ExchangeResponder.response(answer)
        } catch {
            return Self.render(error, actorID: nil, logger: logger, path: request.uri.path).httpResponse
        }
    }

    /// The vault's own answer: the key's state, the base path, the HMAC signature, the caller
    /// headers, then the endpoint.
    private func simulate(_ request: Exchange.Request, sandbox: Sandbox, apiKey: String, pathParameters: [String: String],
                          endpoint: Endpoint) async -> Exchange.Response {
        var actorID: String?
        do {
            // A key the vault knows but refuses (revoked, expired, …): inside the interception
            // chain, so the refusal is recorded and replayed like any answer.
            if let refusal = sandbox.behaviour.apiKey.refusal { throw refusal }
            let headers = request.joinedHeaders
            let signedPath = CanonicalPath.of(path: request.path, query: request.query)
            // A sandbox whose app's base URL has a path serves only under it (so a scenario can
            // tell an SDK that drops the prefix from one that keeps it).
            if let expected = sandbox.behaviour.basePath {
                let arrived = headers[HTTPField.Name.vaultSimBasePath.canonicalName] ?? ""
                guard arrived == expected else {
                    throw VaultError(status: 404, code: "not_found",
                                     message: "This vault is served under \(expected); the request came to \(arrived.isEmpty ? "/" : arrived)/sdk/…")
                }
            }
            let scheme: String
            do {
                scheme = try verifier.verify(method: request.method, path: signedPath, body: request.body, headers: headers, apiKey: apiKey)
            } catch {
                logger.info("refused signed request", metadata: ["path": "\(signedPath)", "reason": "\(error.code)"])
                throw VaultError.unauthorized(error.code, error.message)
            }
            let caller = CallerInfo(caller: headers["x-alter-caller"], callerType: headers["x-alter-caller"] == nil ? nil : (headers["x-alter-caller-type"] ?? "agent"),
                                    contextHeader: headers["x-alter-context"], actorID: headers["x-alter-actor-id"],
                                    signingScheme: scheme)
            if let name = caller.caller {
                actorID = try sandbox.store.actorID(caller: name, callerType: caller.callerType ?? "agent", at: sandbox.clock.now)
            }
            let result = try await endpoint(SDKCall(sandbox: sandbox, caller: caller, body: request.body, pathParameters: pathParameters,
                                                       query: request.query, transport: transport, serverURL: address.baseURL))
            return Self.json(result.status, result.body, actorID: actorID)
        } catch {
            return Self.render(error, actorID: actorID, logger: logger, path: request.path)
        }
    }

    /// A failure in the FastAPI envelope: a `VaultError` as it says, an HTTP-layer refusal with
    /// its status, anything else as a 500 naming only the error's type (a store error can quote
    /// a row, and rows hold tokens).
    static func render(_ error: any Error, actorID: String?, logger: Logger, path: String) -> Exchange.Response {
        switch error {
        case let error as VaultError:
            return json(error.status, error.body, actorID: actorID, headers: error.headers)
        case let error as any HTTPResponseError:
            // Refused by the HTTP layer (a body over 1 MiB, say): same envelope, its own status.
            let status = Int(error.status.code)
            let failure = VaultError(status: status, code: "request_rejected", message: "\(error.status.reasonPhrase): \(error)")
            return json(status, failure.body, actorID: actorID)
        default:
            logger.error("SDK endpoint failed", metadata: ["path": "\(path)", "error": "\(type(of: error))"])
            let failure = VaultError(status: 500, code: "internal_error", message: "VaultSim internal error (\(type(of: error)))")
            return json(500, failure.body, actorID: actorID)
        }
    }

    /// A 204 has no body and no content type, whatever `body` is. Every answer carries its own
    /// `X-Request-ID` (alter-sdk 0.28+ keep it in `BlockedDestinationError.details.request_id`).
    static func json(_ status: Int, _ body: JSONValue, actorID: String?, headers extra: [String: String] = [:]) -> Exchange.Response {
        var headers: HTTPFields = status == 204 ? [:] : [.contentType: "application/json"]
        if let name = HTTPField.Name("X-Request-ID") { headers[name] = "req_" + SecretGenerator.token(24) }
        if let actorID, let name = HTTPField.Name("X-Alter-Actor-ID") { headers[name] = actorID }
        for (name, value) in extra.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { headers[name] = value }
        }
        return Exchange.Response(status: status, headers: headers, body: status == 204 ? Data() : Data(body.jsonText.utf8))
    }
}

extension Exchange.Response {
    /// Answered at once (no fault delay can reach here).
    var httpResponse: Response {
        Response(status: .init(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body)))
    }
}

extension HTTPField.Name {
    static let xAPIKey = HTTPField.Name("x-api-key")!
}
