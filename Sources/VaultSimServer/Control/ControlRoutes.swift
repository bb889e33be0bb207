import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore
import VaultSimProviders

/// The control API under `/_vaultsim/`: create and delete sandboxes, seed grants and secrets,
/// put conditions on providers, move the virtual clock, and read what the vault and providers saw.
/// Errors use the same `{"detail": {...}}` envelope as the vault.
///
/// Only this machine's tools may use it (`ControlAccess`). Every input is checked here, at the
/// boundary: bodies must be JSON objects, numbers integers in their range, provider names ones
/// VaultSim simulates; a refusal is a 400 (404 for an unknown provider) naming the field.
///
/// API keys are secrets: only the request that creates a sandbox (`POST /_vaultsim/sandboxes`)
/// and `GET /_vaultsim/sandboxes/{id}/api-key` return one; listing and describing sandboxes
/// never do.
struct ControlRoutes: Sendable {
    static let prefix = "/_vaultsim"
    /// The largest body the control API reads.
    static let bodyLimit = 16 << 20
    /// The most sandboxes a server holds at once (each is two in-memory databases).
    static let maxSandboxes = 1000
    /// How long a fault may make a provider wait before answering (10 minutes).
    static let maxFaultDelayMilliseconds = 600_000
    /// How many requests one fault may answer.
    static let maxFaultTimes = 1_000_000

    let server: VaultSimServer
    var registry: SandboxRegistry { server.registry }
    var address: ServerAddress { server.address }

    func add<Context: RequestContext>(to router: Router<Context>) {
        let p = Self.prefix
        let routes = router.group().add(middleware: ControlAccess.Middleware<Context>())
        routes.get("\(p)/health") { _, _ in
            Self.json(200, ["status": "ok", "sandboxes": .number(Double(registry.all.count))])
        }
        routes.get("\(p)/sandboxes") { _, _ in
            Self.json(200, ["sandboxes": .array(registry.all.map { describe($0) })])
        }
        routes.post("\(p)/sandboxes") { request, _ in
            try await Self.run {
                let body = try await Self.object(request)
                let name = try Self.string("name", in: body, for: "A new sandbox", maxLength: 200) ?? "sandbox"
                guard registry.all.count < Self.maxSandboxes else {
                    throw VaultError(status: 429, code: "too_many_sandboxes",
                                     message: "This server holds \(Self.maxSandboxes) sandboxes, its most; delete some first "
                                         + "(DELETE \(p)/sandboxes/{id})")
                }
                let sandbox = try server.createSandbox(name: name)
                // The creator is the one caller that gets the key with the sandbox.
                return (201, describe(sandbox, includingAPIKey: true))
            }
        }
        routes.get("\(p)/sandboxes/:id") { _, context in
            try await run(context) { sandbox, _ in (200, describe(sandbox)) }
        }
        // The API key of a sandbox, on its own route so that no listing carries it.
        routes.get("\(p)/sandboxes/:id/api-key") { _, context in
            try await run(context) { sandbox, _ in (200, ["id": .string(sandbox.id), "api_key": .string(sandbox.apiKey)]) }
        }
        routes.delete("\(p)/sandboxes/:id") { _, context in
            try await run(context) { sandbox, _ in
                registry.remove(id: sandbox.id)
                return (200, ["deleted": .string(sandbox.id)])
            }
        }
        routes.post("\(p)/sandboxes/:id/grants") { request, context in
            try await run(context) { sandbox, _ in
                let seed: GrantSeed = try await Self.decode(request)
                return (201, GrantsEndpoint.wire(try await server.seed(grant: seed, in: sandbox)))
            }
        }
        routes.post("\(p)/sandboxes/:id/secrets") { request, context in
            try await run(context) { sandbox, _ in
                let seed: SecretSeed = try await Self.decode(request)
                let grant = try server.seed(secret: seed, in: sandbox)
                return (201, ["grant_id": .string(grant.id), "provider_id": .string(grant.providerID), "type": .string(seed.type.rawValue)])
            }
        }
        routes.post("\(p)/sandboxes/:id/grants/:grant/revoke") { request, context in
            try await run(context) { sandbox, context in
                let grantID = context.parameters.get("grant") ?? ""
                let reason = try Self.string("reason", in: try await Self.object(request), for: "A revocation", maxLength: 1000)
                guard let grant = try sandbox.store.revoke(grantID: grantID, reason: reason, at: sandbox.clock.now) else {
                    throw VaultError.grantNotFound(grantID)
                }
                return (200, GrantsEndpoint.wire(grant))
            }
        }
        routes.post("\(p)/sandboxes/:id/providers/:provider/accounts") { request, context in
            try await run(context) { sandbox, context in
                let provider = try Self.provider(context)
                let body = try await Self.object(request)
                let place = "An account at \(provider)"
                guard let login = try Self.string("login", in: body, for: place, maxLength: 320), !login.isEmpty else {
                    throw VaultError.badRequest("An account needs a non-empty string 'login' (an email at Google, a user name at Slack and GitHub)",
                                                details: ["field": "login"])
                }
                let displayName = try Self.string("display_name", in: body, for: place, maxLength: 200)
                let account = try server.addAccount(provider: provider, login: login, displayName: displayName, in: sandbox)
                return (201, ["provider": .string(provider), "id": .string(account.id), "login": .string(account.login),
                              "email": .string(account.email), "name": .string(account.name)])
            }
        }
        routes.post("\(p)/sandboxes/:id/providers/:provider/accounts/:login/revoke-app") { _, context in
            try await run(context) { sandbox, context in
                let provider = try Self.provider(context)
                let login = context.parameters.get("login").map(QueryString.percentDecoded) ?? ""
                let count = try server.revokeAtProvider(provider: provider, login: login, in: sandbox)
                return (200, ["provider": .string(provider), "login": .string(login), "tokens_revoked": .number(Double(count))])
            }
        }
        routes.put("\(p)/sandboxes/:id/providers/:provider/data") { request, context in
            try await run(context) { sandbox, context in
                let provider = try Self.provider(context)
                sandbox.overrideData(provider: provider, with: .object(try await Self.object(request)))
                return (200, ["provider": .string(provider), "overridden": true])
            }
        }
        routes.post("\(p)/sandboxes/:id/providers/:provider/faults") { request, context in
            try await run(context) { sandbox, context in
                let provider = try Self.provider(context)
                let fault = try Self.fault(provider: provider, from: try await Self.object(request))
                sandbox.faults.add(fault)
                return (201, ["provider": .string(provider), "faults": .number(Double(sandbox.faults.all.count))])
            }
        }
        routes.post("\(p)/sandboxes/:id/clock/advance") { request, context in
            try await run(context) { sandbox, _ in
                let place = "Advancing the clock"
                let limit = Int(VirtualClock.maxShift)
                guard let seconds = try Self.integer("seconds", in: try await Self.object(request), range: 0...limit, for: place) else {
                    throw VaultError.badRequest("Body must be {\"seconds\": an integer 0–\(limit)}", details: ["field": "seconds"])
                }
                let ahead = sandbox.clock.offsetSeconds
                guard ahead + Double(seconds) <= VirtualClock.maxShift else {
                    throw VaultError.badRequest(
                        "\(place): the clock is \(Int(ahead.rounded())) s ahead of the wall clock; \(seconds) s more would put it past "
                            + "\(limit) s (100 years), which dates cannot go beyond", details: ["field": "seconds"])
                }
                sandbox.clock.advance(by: TimeInterval(seconds))
                try sandbox.saveClock()
                return (200, Self.clock(sandbox))
            }
        }
        routes.get("\(p)/sandboxes/:id/clock") { _, context in
            try await run(context) { sandbox, _ in (200, Self.clock(sandbox)) }
        }
        routes.put("\(p)/sandboxes/:id/clock") { request, context in
            try await run(context) { sandbox, _ in
                // {"now": RFC 3339 with a zone} sets the clock; {"frozen": bool} stops or restarts it; both may be given.
                let body = try await Self.object(request)
                for key in body.keys where key != "now" && key != "frozen" {
                    throw VaultError.badRequest("Setting the clock: unknown member '\(key)' (known: now, frozen)", details: ["field": .string(key)])
                }
                // Both members are checked before either is applied.
                var now: Date?
                if let value = body["now"] {
                    guard let text = value.stringValue, let date = try? Date(text, strategy: .iso8601),
                          abs(date.timeIntervalSinceNow) <= VirtualClock.maxShift else {
                        throw VaultError.badRequest("Setting the clock: 'now' must be an RFC 3339 date-time with a zone, within 100 years of today",
                                                    details: ["field": "now"])
                    }
                    now = date
                }
                var frozen: Bool?
                if let value = body["frozen"] {
                    guard let flag = value.boolValue else {
                        throw VaultError.badRequest("Setting the clock: 'frozen' must be true or false", details: ["field": "frozen"])
                    }
                    frozen = flag
                }
                if let now { sandbox.clock.set(to: now) }
                if let frozen { sandbox.clock.freeze(frozen) }
                try sandbox.saveClock()
                return (200, Self.clock(sandbox))
            }
        }
        routes.get("\(p)/sandboxes/:id/audit") { _, context in
            try await run(context) { sandbox, _ in (200, ["records": .array(try sandbox.store.auditRecords().map(\.json))]) }
        }
        // Connect sessions newest first, with their hosted page and outcome (to find the page of
        // a session an app made without a browser to open it).
        routes.get("\(p)/sandboxes/:id/connect-sessions") { _, context in
            try await run(context) { sandbox, _ in
                let now = sandbox.clock.now
                return (200, ["sessions": .array(try sandbox.store.connectSessions(limit: 100).map { session in
                    var poll = ConnectEndpoint.pollBody(session, at: now).objectValue ?? [:]
                    poll["session_token"] = .string(session.token)
                    poll["connect_url"] = .string(ConnectPages.sessionURL(serverURL: address.baseURL, sandboxID: sandbox.id, token: session.token))
                    poll["allowed_providers"] = session.allowedProviders.map { .array($0.map(JSONValue.string)) } ?? .null
                    poll["created_at"] = .string(session.createdAt.rfc3339)
                    poll["expires_at"] = .string(session.expiresAt.rfc3339)
                    poll["opened_at"] = session.openedAt.map { .string($0.rfc3339) } ?? .null
                    return .object(poll)
                })])
            }
        }
        routes.get("\(p)/sandboxes/:id/token-requests") { _, context in
            try await run(context) { sandbox, _ in (200, ["records": .array(try sandbox.store.tokenRequests().map(\.json))]) }
        }
        routes.get("\(p)/sandboxes/:id/providers/:provider/journal") { request, context in
            try await run(context) { sandbox, context in
                let provider = try Self.provider(context)
                let caller = request.uri.queryParameters.get("caller")
                guard caller == nil || ["sdk", "vault", "browser"].contains(caller!) else {
                    throw VaultError.badRequest("caller must be sdk, vault or browser", details: ["field": "caller"])
                }
                let records = try sandbox.store.providerRequests(providerID: provider, caller: caller)
                return (200, ["requests": .array(records.map(\.json))])
            }
        }
    }

    /// The sandbox as the control API shows it: what an app needs to use it. The API key only
    /// when asked for (see the type's comment).
    func describe(_ sandbox: Sandbox, includingAPIKey: Bool = false) -> JSONValue {
        let server = self.server.address.baseURL
        var providers: [String: JSONValue] = [:]
        for provider in ProviderCatalog.all {
            var hosts: [String: JSONValue] = [:]
            for host in provider.hosts {
                hosts["https://\(host)"] = .string(ProviderRoutes.baseURL(serverURL: server, sandboxID: sandbox.id, host: host))
            }
            providers[provider.id] = .object(hosts)
        }
        var members: [String: JSONValue] = [
            "id": .string(sandbox.id), "name": .string(sandbox.name),
            "base_url": .string(server), "providers": .object(providers), "now": .string(sandbox.clock.now.rfc3339),
        ]
        if includingAPIKey { members["api_key"] = .string(sandbox.apiKey) }
        return .object(members)
    }

    // MARK: input at the boundary

    /// A fault rule from a control-API body, every member checked.
    static func fault(provider: String, from body: JSONObject) throws -> ProviderFault {
        let place = "A fault for \(provider)"
        let known: Set<String> = ["status", "body", "method", "path_prefix", "delay_ms", "times", "host", "caller", "drop",
                                  "query_contains", "body_contains", "pass_through"]
        if let unknown = body.keys.first(where: { !known.contains($0) }) {
            throw VaultError.badRequest("\(place): unknown member '\(unknown)' (known: \(known.sorted().joined(separator: ", ")))",
                                        details: ["field": .string(unknown)])
        }
        // Informational statuses are not answers: HTTP would carry on waiting for the real one.
        if case .number(let n)? = body["status"], n.isFinite, n.rounded() == n, n >= 100, n < 200 {
            throw VaultError.badRequest("\(place): 'status' \(Int(n)) is informational (1xx), which cannot be a provider's answer; "
                                            + "use 200–599", details: ["field": "status"])
        }
        var passThrough = false
        if let member = body["pass_through"] {
            guard let flag = member.boolValue else {
                throw VaultError.badRequest("\(place): 'pass_through' must be true or false", details: ["field": "pass_through"])
            }
            passThrough = flag
        }
        if passThrough, let unused = ["status", "body", "drop"].first(where: { body[$0] != nil }) {
            throw VaultError.badRequest("\(place) passes through (the usual answer, later): leave '\(unused)' out", details: ["field": .string(unused)])
        }
        guard let status = try passThrough ? 200 : integer("status", in: body, range: 200...599, for: place) else {
            throw VaultError.badRequest("\(place) needs 'status', an integer 200–599", details: ["field": "status"])
        }
        let responseBody = body["body"].map { $0.isNull ? "" : ($0.stringValue ?? $0.jsonText) } ?? ""
        if (status == 204 || status == 304), !responseBody.isEmpty {
            throw VaultError.badRequest("\(place): a \(status) answer has no body; leave 'body' out", details: ["field": "body"])
        }
        let method = try string("method", in: body, for: place, maxLength: 20)
        if let method, method.isEmpty || !method.allSatisfy({ $0.isASCII && $0.isLetter }) {
            throw VaultError.badRequest("\(place): 'method' must be an HTTP method such as GET or POST, got \(shown(.string(method)))",
                                        details: ["field": "method"])
        }
        let pathPrefix = try string("path_prefix", in: body, for: place, maxLength: 2000)
        if let pathPrefix, !pathPrefix.hasPrefix("/") {
            throw VaultError.badRequest("\(place): 'path_prefix' must start with '/' (a path on the provider's host), got "
                                            + shown(.string(pathPrefix)), details: ["field": "path_prefix"])
        }
        let host = try string("host", in: body, for: place, maxLength: 253)?.lowercased()
        if let host, ProviderCatalog.descriptor(id: provider)?.hosts.contains(host) != true {
            throw VaultError.badRequest("\(place): \(provider) does not own the host \(shown(.string(host)))", details: ["field": "host"])
        }
        let caller = try string("caller", in: body, for: place, maxLength: 10)
        if let caller, !["sdk", "vault", "browser"].contains(caller) {
            throw VaultError.badRequest("\(place): 'caller' must be sdk, vault or browser", details: ["field": "caller"])
        }
        var fault = ProviderFault(
            providerID: provider, method: method, pathPrefix: pathPrefix, status: status, body: responseBody,
            delayMilliseconds: try integer("delay_ms", in: body, range: 0...maxFaultDelayMilliseconds, for: place) ?? 0,
            times: try integer("times", in: body, range: 1...maxFaultTimes, for: place), host: host, caller: caller, origin: "control API")
        if let drop = body["drop"] {
            guard let flag = drop.boolValue else { throw VaultError.badRequest("\(place): 'drop' must be true or false", details: ["field": "drop"]) }
            fault.drop = flag
        }
        fault.queryContains = try string("query_contains", in: body, for: place, maxLength: 2000)
        fault.bodyContains = try string("body_contains", in: body, for: place, maxLength: 2000)
        if passThrough {
            guard fault.delayMilliseconds > 0 else {
                throw VaultError.badRequest("\(place): 'pass_through' needs 'delay_ms' (1–\(maxFaultDelayMilliseconds)): without it the fault does nothing",
                                            details: ["field": "delay_ms"])
            }
            fault.passThrough = true
        }
        return fault
    }

    /// An integer member of a body within `range`; nil when absent or null. Anything else — another
    /// type, a fraction, a number out of range (`1e300` included) — is a 400 naming the field.
    static func clock(_ sandbox: Sandbox) -> JSONValue {
        ["now": .string(sandbox.clock.now.rfc3339), "offset_seconds": .number(sandbox.clock.offsetSeconds.rounded()),
         "frozen": .bool(sandbox.clock.isFrozen)]
    }

    static func integer(_ name: String, in body: JSONObject, range: ClosedRange<Int>, for place: String) throws -> Int? {
        guard let value = body[name], !value.isNull else { return nil }
        let expected = "\(place): '\(name)' must be an integer \(range.lowerBound)–\(range.upperBound), got \(shown(value))"
        guard case .number(let n) = value, n.isFinite, n.rounded() == n,
              n >= Double(range.lowerBound), n <= Double(range.upperBound) else {
            throw VaultError.badRequest(expected, details: ["field": .string(name)])
        }
        return Int(n)
    }

    /// A string member of a body, at most `maxLength` characters; nil when absent or null.
    static func string(_ name: String, in body: JSONObject, for place: String, maxLength: Int) throws -> String? {
        guard let value = body[name], !value.isNull else { return nil }
        guard let text = value.stringValue else {
            throw VaultError.badRequest("\(place): '\(name)' must be a string, got \(shown(value))", details: ["field": .string(name)])
        }
        guard text.count <= maxLength else {
            throw VaultError.badRequest("\(place): '\(name)' is longer than \(maxLength) characters", details: ["field": .string(name)])
        }
        return text
    }

    /// A value as a message shows it: its JSON, cut short.
    static func shown(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count <= 60 ? text : String(text.prefix(57)) + "..."
    }

    /// The `:provider` of the path, when it is a provider VaultSim simulates; 404 otherwise.
    static func provider(_ context: some RequestContext) throws -> String {
        let id = context.parameters.get("provider") ?? ""
        guard ProviderCatalog.descriptor(id: id) != nil else {
            let known = ProviderCatalog.all.map(\.id)
            throw VaultError(status: 404, code: "unknown_provider",
                             message: "No provider '\(id)': VaultSim simulates \(known.joined(separator: ", "))",
                             details: ["provider": .string(id), "known": .array(known.map(JSONValue.string))])
        }
        return id
    }

    // MARK: running a route

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
            return error.response()
        } catch let error as DecodingError {
            return VaultError.badRequest("Invalid request body: \(error)").response()
        } catch let error as any HTTPResponseError {
            // A body over `bodyLimit` (413), in the envelope like every other refusal.
            return VaultError.httpRefusal(status: error.status, "the control API reads bodies of at most \(bodyLimit >> 20) MiB")
                .response()
        }
    }

    /// The request body as a JSON object; `{}` when there is none. Arrays, strings, numbers and
    /// null are refused.
    private static func object(_ request: Request) async throws -> JSONObject {
        let data = Data(buffer: try await request.body.collect(upTo: bodyLimit))
        if data.isEmpty { return [:] }
        guard let value = JSONValue.parse(data) else { throw VaultError.badRequest("Request body is not JSON") }
        guard let object = value.objectValue else {
            throw VaultError.badRequest("Request body must be a JSON object, got \(value.typeName)", details: ["got": .string(value.typeName)])
        }
        return object
    }

    private static func decode<T: Decodable>(_ request: Request) async throws -> T {
        try JSONValue.object(try await object(request)).decode(as: T.self)
    }

    static func json(_ status: Int, _ value: JSONValue) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
