import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Synchronization
import Testing
import VaultSimCore
@testable import VaultSimServer

/// Generated bad input, thousands of times: requests to the control API, `/sdk/*` and the fake
/// providers (wrong methods, odd paths, bodies of every JSON type, numbers out of every range,
/// garbage query values, signed and unsigned). None may crash the server, none may answer 5xx
/// (other than the gateway's designed 502 for a host no provider owns and the 501 of SDK
/// endpoints not simulated yet), and no answer may carry
/// a secret of the sandbox (the routes made to show one are named and excluded).
/// Seeded, so a failure is reproducible: the seed and the request are in the message.
struct FuzzTests {
    static let requestCount = 3000

    @Test func malformedRequestsNeverCrashAnswer5xxOrLeakASecret() async throws {
        // A server of its own whose log (every level) is kept, to search it for secrets too.
        let log = CapturedLog()
        var logger = Logger(label: "fuzz") { _ in CapturingLogHandler(log: log) }
        logger.logLevel = .trace
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: SharedTestServer.fixtures, logger: logger, providerTimeout: .seconds(60))
        let running = try await server.start()
        defer { Task { await running.stop() } }
        let vault = TestVault(server: server, sandbox: try server.createSandbox(name: "fuzz"))
        let sandbox = vault.sandbox
        try await vault.seed(GrantSeed(provider: "google", account: "fuzz@example.com", scopes: [
            "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.readonly"]))
        try await vault.seed(GrantSeed(provider: "slack", account: "alice", scopes: ["chat:write", "channels:read"]))
        try await vault.seed(GrantSeed(provider: "github", account: "alice", scopes: ["repo", "read:user"]))
        try vault.server.seed(secret: SecretSeed(type: .bearer), in: sandbox)
        let grants = try sandbox.store.activeOAuthGrants(providerID: nil, limit: 10, offset: 0).grants.map(\.id)
        let tokens = try grants.compactMap { try sandbox.store.credential(grantID: $0)?.accessToken }

        // Connect sessions for the hosted pages to be fuzzed with (a redirect flow, a popup flow, a plain one).
        let connect = ConnectService(credentials: server.credentials(sandbox))
        let sessions = try [
            connect.create(.init(allowedProviders: ["google", "slack"], returnURL: "https://app.example.com/done?x=1")),
            connect.create(.init(allowedOrigin: "https://app.example.com", grantPolicy: .init(maxTTLSeconds: 86400, defaultTTLSeconds: 3600))),
            connect.create(.init()),
        ].map(\.token)

        let generatorSeed = RequestGenerator(seed: 0x5EED_0011, sandboxID: sandbox.id, grants: grants, tokens: tokens, apiKey: sandbox.apiKey,
                                             sessions: sessions)
        let (statusCounts, problems) = try await vault.server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            var generator = generatorSeed
            var statusCounts: [Int: Int] = [:]
            var problems: [String] = []
            for index in 0..<Self.requestCount {
                let request = generator.next()
                let response = try await client.execute(uri: request.uri, method: request.method, headers: request.headers,
                                                        body: request.body.map { ByteBuffer(bytes: $0) })
                let status = Int(response.status.code)
                statusCounts[status, default: 0] += 1
                let text = String(decoding: Data(buffer: response.body), as: UTF8.self)
                let label = "request #\(index) \(request.method) \(request.uri.prefix(160))"
                let designed = (status == 502 && request.uri.contains("/hosts/") && text.contains("no fake provider owns the host"))
                    || (status == 501 && text.contains("\"not_simulated\""))   // SDK endpoints VaultSim does not simulate yet, said so
                if status >= 500, !designed {
                    problems.append("\(label): HTTP \(status): \(text.prefix(300))")
                }
                if !request.mayShowSecrets {
                    // The sandbox's secrets as they are now (the fuzz may have made new tokens).
                    for secret in try Self.secrets(vault) where text.contains(secret.value) {
                        problems.append("\(label): the answer contains \(secret.label)")
                    }
                }
                if problems.count >= 20 { break }
            }
            // Every journal the fuzz wrote reads back (a journaled `=` once crashed every later read).
            for provider in ["google", "slack", "github", "internal"] {
                let response = try await client.execute(uri: "/_vaultsim/sandboxes/\(sandbox.id)/providers/\(provider)/journal", method: .get)
                if response.status != .ok { problems.append("reading the \(provider) journal: HTTP \(response.status.code)") }
            }
            return (statusCounts, problems)
        }
        #expect(problems.isEmpty, "\(problems.joined(separator: "\n"))")
        let logText = log.text
        for secret in try Self.secrets(vault) where logText.contains(secret.value) {
            Issue.record("the server's log contains \(secret.label)")
        }
        // The inputs reached past the front door: refusals and answers of many kinds.
        #expect(statusCounts.keys.filter { (400..<500).contains($0) }.count >= 5, "\(statusCounts)")
        #expect(statusCounts.keys.contains { (200..<300).contains($0) }, "\(statusCounts)")
        print("fuzz: \(Self.requestCount) requests, answers by status: \(statusCounts.sorted { $0.key < $1.key }.map { "\($0.key)×\($0.value)" }.joined(separator: " "))")
    }

    static func secrets(_ vault: TestVault) throws -> [(label: String, value: String)] {
        var all: [(label: String, value: String)] = []
        for sandbox in vault.registry.all where sandbox.id == vault.sandbox.id {
            all += try vault.server.allSecrets(sandbox).filter { $0.value.count >= 8 }
        }
        return all
    }
}

struct FuzzRequest {
    var method: HTTPRequest.Method
    var uri: String
    var headers: HTTPFields
    var body: Data?
    /// Routes made to show secrets: the vault's token handout, and the local developer's API key
    /// route and journals.
    var mayShowSecrets = false
}

/// Makes bad requests, mostly aimed at real routes so they get past routing.
struct RequestGenerator {
    var rng: SplitMix64
    let sandboxID: String
    let grants: [String]
    let tokens: [String]
    let apiKey: String
    /// Connect session tokens of the sandbox.
    let sessions: [String]

    init(seed: UInt64, sandboxID: String, grants: [String], tokens: [String], apiKey: String, sessions: [String]) {
        rng = SplitMix64(seed: seed)
        self.sandboxID = sandboxID
        self.grants = grants
        self.tokens = tokens
        self.apiKey = apiKey
        self.sessions = sessions
    }

    mutating func pick<T>(_ items: [T]) -> T { items[Int(rng.next() % UInt64(items.count))] }
    mutating func chance(_ percent: Int) -> Bool { Int(rng.next() % 100) < percent }

    static let strangeStrings = ["", "-1", "0", "p-1", "p", "p99999999999999999999", "9223372036854775808", "-9223372036854775809",
                                 "1e308", "1e-308", "NaN", "inf", "abc", "%", "%00", "%ZZ", "..%2F..%2Fetc", "💥", "\u{0}",
                                 String(repeating: "x", count: 5000), "null", "[]", "{}", "true", " ", "\t", "'; DROP TABLE grants;--"]
    static let strangeNumbers: [JSONValue] = [.number(-1), .number(0), .number(1e300), .number(-1e300), .number(1.5), .number(4294967296),
                                              .number(9.3e18), .number(100), .number(599), .number(600), .number(99), .string("5"), .null,
                                              .bool(true), .array([]), .object([:])]

    mutating func strangeValue(depth: Int = 0) -> JSONValue {
        switch rng.next() % 8 {
        case 0: return pick(Self.strangeNumbers)
        case 1: return .string(pick(Self.strangeStrings))
        case 2 where depth < 3: return .array((0..<Int(rng.next() % 4)).map { _ in strangeValue(depth: depth + 1) })
        case 3 where depth < 3:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(rng.next() % 5) { object[pick(Self.fieldNames)] = strangeValue(depth: depth + 1) }
            return .object(object)
        case 4: return .string(pick(grants + ["not-a-grant", ""]))
        case 5: return .null
        default: return pick(Self.strangeNumbers)
        }
    }

    static let fieldNames = ["status", "body", "delay_ms", "times", "method", "path_prefix", "seconds", "name", "provider", "account",
                             "scopes", "token_lifetime", "ttl", "type", "secret", "login", "display_name", "grant_id", "reason",
                             "request", "limit", "offset", "provider_id", "url", "headers", "policies", "caller"]

    mutating func body() -> Data? {
        switch rng.next() % 6 {
        case 0: return nil
        case 1: return Data(pick(["null", "[]", "\"x\"", "42", "{", "{\"a\":", "\u{1}\u{2}", "{}"]).utf8)
        case 2: return Data((0..<Int(rng.next() % 64)).map { _ in UInt8(truncatingIfNeeded: rng.next()) })
        default:
            var object: [String: JSONValue] = [:]
            for _ in 0..<Int(rng.next() % 6) { object[pick(Self.fieldNames)] = strangeValue() }
            return Data(JSONValue.object(object).jsonText.utf8)
        }
    }

    /// The pieces a query or a form is split on, and their near-misses, sent raw (a lone `=`
    /// once crashed the whole server).
    static let separators = ["=", "&", "==", "&&", "=&", "&=", "%", "%2", "%ZZ", "%C3", "%C3%28", "%FF", "+", "a", "x=y", ";", "%00", "[]"]

    mutating func nearMiss() -> String {
        (0..<Int(rng.next() % 8)).map { _ in pick(Self.separators) }.joined()
    }

    mutating func query() -> String {
        if chance(30) { return nearMiss() }
        let names = ["maxResults", "pageToken", "limit", "cursor", "per_page", "page", "timeMin", "timeMax", "orderBy", "singleEvents",
                     "labelIds", "user_id", "types", "caller", "access_token", "token", "q"]
        return (0..<Int(rng.next() % 4)).map { _ in
            let value = pick(Self.strangeStrings).addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            return "\(pick(names))=\(value)"
        }.joined(separator: "&")
    }

    mutating func next() -> FuzzRequest {
        let methods: [HTTPRequest.Method] = [.get, .post, .put, .delete, .patch]
        var headers: HTTPFields = chance(85) ? [.contentType: "application/json"] : [:]
        let grant = pick(grants + ["nope", "..%2F", "💥"])
        let provider = pick(["google", "slack", "github", "internal", "..%2F..%2Fetc", "myspace", "%00"])
        var request: FuzzRequest
        switch rng.next() % 5 {
        case 0:
            // The control API, on the fuzz's own sandbox (never deleting it) or another id.
            let id = chance(80) ? sandboxID : pick(["nope", "", "..", "%2F"])
            let paths = ["/_vaultsim/sandboxes", "/_vaultsim/sandboxes/\(id)", "/_vaultsim/sandboxes/\(id)/grants",
                         "/_vaultsim/sandboxes/\(id)/secrets", "/_vaultsim/sandboxes/\(id)/grants/\(grant)/revoke",
                         "/_vaultsim/sandboxes/\(id)/providers/\(provider)/data", "/_vaultsim/sandboxes/\(id)/providers/\(provider)/faults",
                         "/_vaultsim/sandboxes/\(id)/providers/\(provider)/accounts", "/_vaultsim/sandboxes/\(id)/clock/advance",
                         "/_vaultsim/sandboxes/\(id)/audit", "/_vaultsim/sandboxes/\(id)/token-requests",
                         "/_vaultsim/sandboxes/\(id)/providers/\(provider)/journal", "/_vaultsim/sandboxes/\(id)/connect-sessions",
                         "/_vaultsim/health", "/_vaultsim/nope"]
            var method = pick(methods)
            let path = pick(paths)
            if method == .delete, path == "/_vaultsim/sandboxes/\(sandboxID)" { method = .get }
            var payload = body()
            if path.hasSuffix("/faults"), var object = payload.flatMap({ JSONValue.parse($0)?.objectValue }) {
                // A fault that parses must not be a 5xx or a long delay, or it would answer later calls 5xx by design.
                if let status = object["status"]?.intValue, status >= 500 { object["status"] = .number(418) }
                if let delay = object["delay_ms"]?.intValue, delay > 50 { object["delay_ms"] = .number(0) }
                payload = Data(JSONValue.object(object).jsonText.utf8)
            }
            request = FuzzRequest(method: method, uri: path + (chance(20) ? "?" + query() : ""), headers: headers, body: payload,
                                  mayShowSecrets: path.hasSuffix("/journal") || path.hasSuffix("/api-key"))
        case 1:
            // The vault's /sdk/* routes, signed with the sandbox's key or not signed at all.
            let path = pick(["/sdk/token", "/sdk/oauth/grants/list", "/sdk/oauth/grants/\(grant)/revoke", "/sdk/oauth/audit/api-call",
                             "/sdk/oauth/connect/session", "/sdk/oauth/connect/session/poll", "/sdk/nope", "/base/sdk/token"])
            var payload = body()
            if path == "/sdk/token", chance(50) {
                var object: [String: JSONValue] = ["grant_id": .string(grant), "reason": strangeValue(),
                                                   "request": ["method": "GET", "url": strangeValue()]]
                if chance(30) { object["request"] = strangeValue() }
                payload = Data(JSONValue.object(object).jsonText.utf8)
            }
            if chance(70) {
                let signature = RequestSigning.sign(method: "POST", path: path.replacingOccurrences(of: "/base", with: ""), body: payload ?? Data(),
                                                    apiKey: apiKey, timestamp: Int(Date().timeIntervalSince1970), nonce: SecretGenerator.token(32).lowercased())
                headers[HTTPField.Name("x-api-key")!] = apiKey
                for (name, value) in signature { headers[HTTPField.Name(name)!] = value }
            }
            // /sdk/token hands out credentials: that is its job, not a leak.
            request = FuzzRequest(method: chance(90) ? .post : pick(methods), uri: path, headers: headers, body: payload,
                                  mayShowSecrets: path.hasSuffix("/sdk/token"))
        case 4:
            // The hosted Connect pages and the vault's callback, with forms and queries of every kind.
            let id = chance(85) ? sandboxID : pick(["nope", "..", "%2F"])
            let token = pick(sessions + ["nope", "cs_", "%00", "..%2F"])
            let field = { (g: inout RequestGenerator) -> String in
                (g.pick(Self.strangeStrings + ["google", "slack", "github", "internal", "3600", "86400"]))
                    .addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            }
            switch rng.next() % 4 {
            case 0:
                request = FuzzRequest(method: chance(80) ? .get : pick(methods), uri: "/sandboxes/\(id)/connect/\(token)", headers: [:], body: nil)
            case 1, 2:
                let provider = chance(50) ? pick(["google", "slack", "github"]) : field(&self)
                let form = chance(25) ? nearMiss() : "provider=\(provider)&ttl=\(field(&self))" + (chance(20) ? "&provider=\(field(&self))" : "")
                request = FuzzRequest(method: chance(90) ? .post : pick(methods), uri: "/sandboxes/\(id)/connect/\(token)/\(pick(["start", "finish", "nope"]))",
                                      headers: [.contentType: "application/x-www-form-urlencoded"], body: Data(form.utf8))
            default:
                let state = pick(["\(sandboxID).\(field(&self))", field(&self), "nope.", ".", "\(sandboxID)."])
                var query = chance(20) ? nearMiss() + "&state=\(state)" : "state=\(state)"
                if chance(50) { query += "&code=\(field(&self))" }
                if chance(40) { query += "&error=\(pick(["access_denied", "server_error", "", "%3Cscript%3E"]))&error_description=\(field(&self))" }
                request = FuzzRequest(method: .get, uri: "/connect/callback?\(query)", headers: [:], body: nil)
            }
        default:
            // The providers, with a real token or none, and strange paths and query values.
            let host = pick(["www.googleapis.com", "gmail.googleapis.com", "oauth2.googleapis.com", "openidconnect.googleapis.com",
                             "accounts.google.com", "slack.com", "api.github.com", "github.com", "api.internal.com", "example.org"])
            let paths = ["/calendar/v3/calendars/primary/events", "/calendar/v3/calendars/%2F/events", "/gmail/v1/users/me/messages",
                         "/token", "/revoke", "/tokeninfo", "/v1/userinfo", "/o/oauth2/v2/auth", "/api/chat.postMessage",
                         "/api/conversations.list", "/api/conversations.history", "/api/auth.test", "/api/auth.revoke",
                         "/api/oauth.v2.access", "/oauth/v2/authorize", "/user", "/user/repos", "/repos/alice/x",
                         "/login/oauth/access_token", "/login/oauth/authorize", "/applications/x/grant", "/v1/loyalty/points", "/", "/%00"]
            if chance(70), let token = tokens.isEmpty ? nil : pick(tokens) { headers[.authorization] = "Bearer \(token)" }
            var payload = body()
            if chance(30) {
                headers[.contentType] = "application/x-www-form-urlencoded"
                payload = Data(nearMiss().utf8)
            }
            request = FuzzRequest(method: pick(methods), uri: "/sandboxes/\(sandboxID)/hosts/\(host)\(pick(paths))?\(query())",
                                  headers: headers, body: payload)
        }
        return request
    }
}

/// Every log line of a logger, kept in memory.
final class CapturedLog: Sendable {
    private let lines = Mutex<[String]>([])
    func append(_ line: String) { lines.withLock { $0.append(line) } }
    var text: String { lines.withLock { $0.joined(separator: "\n") } }
}

struct CapturingLogHandler: LogHandler {
    let log: CapturedLog
    var metadata: Logger.Metadata = [:]
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(level: Logger.Level, message: Logger.Message, metadata: Logger.Metadata?, source: String, file: String, function: String, line: UInt) {
        let all = self.metadata.merging(metadata ?? [:]) { _, new in new }
        log.append("\(level) \(message) \(all.map { "\($0.key)=\($0.value)" }.sorted().joined(separator: " "))")
    }
}
