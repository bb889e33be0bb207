import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore
import VaultSimProviders

/// The control API under `/_vaultsim/`: create and delete sandboxes, seed grants and secrets,
/// put conditions on providers, move the virtual clock, and read what the vault and providers saw.
/// Errors use the same `{"detail": {...}}` envelope as the vault.
struct ControlRoutes: Sendable {
    static let prefix = "/_vaultsim"
    let server: VaultSimServer
    var registry: SandboxRegistry { server.registry }
    var address: ServerAddress { server.address }

    func add<Context: RequestContext>(to router: Router<Context>) {
        let p = Self.prefix
        router.get("\(p)/health") { _, _ in
            Self.json(200, ["status": "ok", "sandboxes": .number(Double(registry.all.count))])
        }
        router.get("\(p)/sandboxes") { _, _ in
            Self.json(200, ["sandboxes": .array(registry.all.map(describe))])
        }
        router.post("\(p)/sandboxes") { request, _ in
            try await Self.run {
                let body = try await Self.body(request)
                let sandbox = try server.createSandbox(name: body["name"]?.stringValue ?? "sandbox")
                return (201, describe(sandbox))
            }
        }
        router.get("\(p)/sandboxes/:id") { _, context in
            try await run(context) { sandbox, _ in (200, describe(sandbox)) }
        }
        router.delete("\(p)/sandboxes/:id") { _, context in
            try await run(context) { sandbox, _ in
                registry.remove(id: sandbox.id)
                return (200, ["deleted": .string(sandbox.id)])
            }
        }
        router.post("\(p)/sandboxes/:id/grants") { request, context in
            try await run(context) { sandbox, _ in
                let seed: GrantSeed = try await Self.decode(request)
                return (201, GrantsEndpoint.wire(try await server.seed(grant: seed, in: sandbox)))
            }
        }
        router.post("\(p)/sandboxes/:id/secrets") { request, context in
            try await run(context) { sandbox, _ in
                let seed: SecretSeed = try await Self.decode(request)
                let grant = try server.seed(secret: seed, in: sandbox)
                return (201, ["grant_id": .string(grant.id), "provider_id": .string(grant.providerID), "type": .string(seed.type.rawValue)])
            }
        }
        router.post("\(p)/sandboxes/:id/grants/:grant/revoke") { request, context in
            try await run(context) { sandbox, context in
                let grantID = context.parameters.get("grant") ?? ""
                let reason = try await Self.body(request)["reason"]?.stringValue
                guard let grant = try sandbox.store.revoke(grantID: grantID, reason: reason, at: sandbox.clock.now) else {
                    throw VaultError.grantNotFound(grantID)
                }
                return (200, GrantsEndpoint.wire(grant))
            }
        }
        router.post("\(p)/sandboxes/:id/providers/:provider/accounts") { request, context in
            try await run(context) { sandbox, context in
                let provider = context.parameters.get("provider") ?? ""
                let body = try await Self.body(request)
                guard let login = body["login"]?.stringValue, !login.isEmpty else {
                    throw VaultError.badRequest("An account needs a non-empty string 'login' (an email at Google, a user name at Slack and GitHub)")
                }
                let account = try server.addAccount(provider: provider, login: login, displayName: body["display_name"]?.stringValue, in: sandbox)
                return (201, ["provider": .string(provider), "id": .string(account.id), "login": .string(account.login),
                              "email": .string(account.email), "name": .string(account.name)])
            }
        }
        router.post("\(p)/sandboxes/:id/providers/:provider/accounts/:login/revoke-app") { _, context in
            try await run(context) { sandbox, context in
                let provider = context.parameters.get("provider") ?? ""
                let login = context.parameters.get("login")?.removingPercentEncoding ?? ""
                let count = try server.revokeAtProvider(provider: provider, login: login, in: sandbox)
                return (200, ["provider": .string(provider), "login": .string(login), "tokens_revoked": .number(Double(count))])
            }
        }
        router.put("\(p)/sandboxes/:id/providers/:provider/data") { request, context in
            try await run(context) { sandbox, context in
                let provider = context.parameters.get("provider") ?? ""
                sandbox.overrideData(provider: provider, with: try await Self.body(request))
                return (200, ["provider": .string(provider), "overridden": true])
            }
        }
        router.post("\(p)/sandboxes/:id/providers/:provider/faults") { request, context in
            try await run(context) { sandbox, context in
                let provider = context.parameters.get("provider") ?? ""
                let body = try await Self.body(request)
                guard let status = body["status"]?.intValue else {
                    throw VaultError.badRequest("A fault needs an integer 'status'")
                }
                let responseBody = body["body"].map { $0.stringValue ?? $0.jsonText } ?? ""
                sandbox.faults.add(ProviderFault(
                    providerID: provider, method: body["method"]?.stringValue, pathPrefix: body["path_prefix"]?.stringValue,
                    status: status, body: responseBody, delayMilliseconds: body["delay_ms"]?.intValue ?? 0, times: body["times"]?.intValue))
                return (201, ["provider": .string(provider), "faults": .number(Double(sandbox.faults.all.count))])
            }
        }
        router.post("\(p)/sandboxes/:id/clock/advance") { request, context in
            try await run(context) { sandbox, _ in
                guard let seconds = try await Self.body(request)["seconds"]?.intValue, seconds >= 0 else {
                    throw VaultError.badRequest("Body must be {\"seconds\": non-negative integer}")
                }
                sandbox.clock.advance(by: TimeInterval(seconds))
                return (200, ["now": .string(sandbox.clock.now.rfc3339), "offset_seconds": .number(sandbox.clock.offsetSeconds)])
            }
        }
        router.get("\(p)/sandboxes/:id/audit") { _, context in
            try await run(context) { sandbox, _ in (200, ["records": .array(try sandbox.store.auditRecords().map(\.json))]) }
        }
        router.get("\(p)/sandboxes/:id/token-requests") { _, context in
            try await run(context) { sandbox, _ in (200, ["records": .array(try sandbox.store.tokenRequests().map(\.json))]) }
        }
        router.get("\(p)/sandboxes/:id/providers/:provider/journal") { request, context in
            try await run(context) { sandbox, context in
                let caller = request.uri.queryParameters.get("caller")
                guard caller == nil || ["sdk", "vault", "browser"].contains(caller!) else {
                    throw VaultError.badRequest("caller must be sdk, vault or browser")
                }
                let records = try sandbox.store.providerRequests(providerID: context.parameters.get("provider"), caller: caller)
                return (200, ["requests": .array(records.map(\.json))])
            }
        }
    }

    /// The sandbox as the control API shows it: what an app needs to use it.
    func describe(_ sandbox: Sandbox) -> JSONValue {
        let server = self.server.address.baseURL
        var providers: [String: JSONValue] = [:]
        for provider in ProviderCatalog.all {
            var hosts: [String: JSONValue] = [:]
            for host in provider.hosts {
                hosts["https://\(host)"] = .string(ProviderRoutes.baseURL(serverURL: server, sandboxID: sandbox.id, host: host))
            }
            providers[provider.id] = .object(hosts)
        }
        return [
            "id": .string(sandbox.id), "name": .string(sandbox.name), "api_key": .string(sandbox.apiKey),
            "base_url": .string(server), "providers": .object(providers), "now": .string(sandbox.clock.now.rfc3339),
        ]
    }

    private func run(_ context: some RequestContext, _ body: (Sandbox, any RequestContext) async throws -> (Int, JSONValue)) async throws -> Response {
        try await Self.run {
            let id = context.parameters.get("id") ?? ""
            guard let sandbox = registry.sandbox(id: id) else { throw VaultError.notFound("No sandbox '\(id)'") }
            return try await body(sandbox, context)
        }
    }

    private static func run(_ body: () async throws -> (Int, JSONValue)) async throws -> Response {
        do {
            let (status, value) = try await body()
            return json(status, value)
        } catch let error as VaultError {
            return json(error.status, error.body)
        } catch let error as DecodingError {
            return json(400, VaultError.badRequest("Invalid request body: \(error)").body)
        }
    }

    private static func body(_ request: Request) async throws -> JSONValue {
        let data = Data(buffer: try await request.body.collect(upTo: 16 << 20))
        if data.isEmpty { return [:] }
        guard let value = JSONValue.parse(data) else { throw VaultError.badRequest("Request body is not JSON") }
        return value
    }

    private static func decode<T: Decodable>(_ request: Request) async throws -> T {
        try JSONDecoder().decode(T.self, from: Data(buffer: try await request.body.collect(upTo: 16 << 20)))
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
