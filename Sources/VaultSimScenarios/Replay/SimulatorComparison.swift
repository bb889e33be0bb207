import AsyncHTTPClient
import Foundation
import NIOCore
import VaultSimCore
import VaultSimProviders
import VaultSimServer

/// `vaultsim replay FILE --against-simulator`: a transcript's SDK → vault requests sent again,
/// re-signed with a fresh sandbox's key, to VaultSim's own simulation, and each answer compared
/// with the recorded one field by field. Recorded against a real vault, that shows where the fake
/// differs from the real thing.
///
/// The sandbox is seeded from the transcript: an OAuth grant at the provider and with the scopes
/// each recorded `/sdk/token` answer names. What the transcript cannot say (a grant's revocation,
/// policies, faults, the clock) is not seeded, so an answer that depended on it differs and is
/// reported like any other difference.
public struct SimulatorComparison: Sendable {
    public let server: VaultSimServer
    public let serverURL: String

    public init(server: VaultSimServer, serverURL: String) {
        self.server = server
        self.serverURL = serverURL
    }

    /// One recorded request sent again, and how VaultSim's answer compares.
    public struct Compared: Sendable {
        public var entry: Int
        public var request: String
        public var recordedStatus: Int
        public var status: Int
        public var differences: [RequestView.Difference]
    }

    public struct Result: Sendable {
        public var name: String
        public var compared: [Compared] = []
        /// Grants made for the transcript (recorded id → provider), and what could not be seeded.
        public var seeded: [String] = []
        public var notes: [String] = []
        public var seconds = 0.0
        public var differing: Int { compared.filter { !$0.differences.isEmpty }.count }
        public var passed: Bool { differing == 0 && !compared.isEmpty }
    }

    public func compare(_ har: HAR, name: String) async -> Result {
        let began = ContinuousClock.now
        var result = Result(name: name)
        let sandbox: Sandbox
        do { sandbox = try server.createSandbox(name: "against-simulator \(name)") } catch {
            result.notes.append("cannot create a sandbox: \(error)")
            return result
        }
        defer { server.registry.remove(id: sandbox.id) }
        let entries = har.log.entries.enumerated().filter { $0.element.vaultsim?.caller == "sdk" && $0.element.vaultsim?.service == "vault" }
        // Recorded value → VaultSim's: the vault's address and sandbox, grant ids, actor ids,
        // values VaultSim made where the recording has placeholders.
        var mapped: [String: String] = [:]
        let client = har.log.vaultsim?.client ?? .null
        if let url = client["vault_url"]?.stringValue, client["vault"]?.stringValue != "unreachable" {
            if let recordedSandbox = client["sandbox"]?.stringValue { mapped["\(url)/sandboxes/\(recordedSandbox)/"] = "\(serverURL)/sandboxes/\(sandbox.id)/" }
            mapped[url] = serverURL
        }
        let (seeds, unseeded) = Self.grantSeeds(entries.map(\.element))
        result.notes += unseeded
        for (recordedID, seed) in seeds {
            do {
                mapped[recordedID] = try await server.seed(grant: seed, in: sandbox).id
                result.seeded.append("\(recordedID) → a \(seed.provider) grant with \(seed.scopes.count) scope(s)")
            } catch {
                result.notes.append("grant \(recordedID) at \(seed.provider) could not be seeded: \(error)")
            }
        }
        let http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        for (index, entry) in entries {
            let path = Self.sdkPath(entry.request.url)
            let description = "\(entry.request.method) \(path)"
            var body = Data()
            if let post = entry.request.postData {
                body = post.encoding == "base64" ? (Data(base64Encoded: post.text) ?? Data()) : Data(Self.replacing(post.text, mapped).utf8)
            }
            var request = HTTPClientRequest(url: serverURL + path)
            request.method = .init(rawValue: entry.request.method)
            for header in entry.request.headers where Self.forwarded.contains(header.name.lowercased()) {
                request.headers.add(name: header.name, value: Self.replacing(header.value, mapped))
            }
            request.headers.add(name: "x-api-key", value: sandbox.apiKey)
            let (pathOnly, _) = Self.splitQuery(path)
            for (name, value) in RequestSigning.sign(method: entry.request.method, path: pathOnly, body: body, apiKey: sandbox.apiKey,
                                                      timestamp: Int(Date().timeIntervalSince1970), nonce: SecretGenerator.token(32)) {
                request.headers.add(name: name, value: value)
            }
            if !body.isEmpty { request.body = .bytes(ByteBuffer(bytes: body)) }
            do {
                let response = try await http.execute(request, timeout: .seconds(30))
                let answer = try await response.body.collect(upTo: 8 << 20)
                let actual = Data(answer.readableBytesView)
                // VaultSim's actor id stands for the recorded one from here on.
                if let recordedActor = entry.response.headers.first(where: { $0.name.lowercased() == "x-alter-actor-id" })?.value,
                   let actor = response.headers.first(name: "x-alter-actor-id"), mapped[recordedActor] == nil {
                    mapped[recordedActor] = actor
                }
                let expected = entry.response.content.text.map { entry.response.content.encoding == "base64" ? Data(base64Encoded: $0) ?? Data() : Data($0.utf8) } ?? Data()
                var differences: [RequestView.Difference] = []
                if Int(response.status.code) != entry.response.status {
                    differences.append(.init(field: "status", expected: String(entry.response.status), actual: String(response.status.code)))
                }
                // A value VaultSim made where the recording has a placeholder (a session token in a
                // URL) stands for that placeholder in later requests.
                var captured: [String: String] = [:]
                differences += Self.bodyDifferences(expected: expected, actual: actual, mapped: mapped, captured: &captured)
                for (placeholder, value) in captured where mapped[placeholder] == nil { mapped[placeholder] = value }
                result.compared.append(Compared(entry: index, request: description, recordedStatus: entry.response.status,
                                                status: Int(response.status.code), differences: differences))
            } catch {
                result.compared.append(Compared(entry: index, request: description, recordedStatus: entry.response.status, status: 0,
                                                differences: [.init(field: "answer", expected: "an answer", actual: "\(error)")]))
            }
        }
        try? await http.shutdown()
        result.seconds = (ContinuousClock.now - began).replaySeconds
        return result
    }

    /// The request headers that carry meaning to the vault; the key and signature are the sandbox's.
    static let forwarded: Set<String> = ["content-type", "x-alter-caller", "x-alter-caller-type", "x-alter-context", "x-alter-actor-id",
                                         "x-alter-run-id", "x-alter-thread-id", "x-alter-tool-call-id", "accept"]

    /// For each grant a recorded `/sdk/token` answered with its provider: a seed with the scopes it named.
    /// The account (identifier and display name) a recorded grant listing or poll names per grant.
    static func accounts(_ entries: [HAR.Entry]) -> [String: (String, String?)] {
        var found: [String: (String, String?)] = [:]
        func visit(_ value: JSONValue) {
            switch value {
            case .object(let members):
                if let id = members["grant_id"]?.stringValue, let account = members["account_identifier"]?.stringValue, found[id] == nil {
                    found[id] = (account, members["account_display_name"]?.stringValue)
                }
                members.values.forEach(visit)
            case .array(let items): items.forEach(visit)
            default: break
            }
        }
        for entry in entries { entry.response.content.text.flatMap { JSONValue.parse($0) }.map(visit) }
        return found
    }

    /// For each grant a recorded `/sdk/token` answered with its OAuth provider: a seed with the
    /// scopes it named and the account a listing named; and a note for each that cannot be seeded.
    static func grantSeeds(_ entries: [HAR.Entry]) -> (seeds: [(String, GrantSeed)], unseeded: [String]) {
        var seeds: [(String, GrantSeed)] = []
        var unseeded: [String] = []
        var seen = Set<String>()
        let accounts = accounts(entries)
        for entry in entries where entry.request.url.contains("/sdk/token") && entry.response.status == 200 {
            guard let answer = entry.response.content.text.flatMap({ JSONValue.parse($0) }),
                  let grantID = answer["grant_id"]?.stringValue, let provider = answer["provider_id"]?.stringValue,
                  seen.insert(grantID).inserted else { continue }
            guard ProviderCatalog.all.contains(where: { $0.id == provider && $0.kind == .oauth }) else {
                unseeded.append("grant \(grantID) at \(provider) is not an OAuth grant VaultSim can seed from a transcript (a managed secret's value is not in it)")
                continue
            }
            let scopes = (answer["scopes"]?.arrayValue ?? []).compactMap(\.stringValue)
            let account = accounts[grantID]
            seeds.append((grantID, GrantSeed(provider: provider, account: account?.0, displayName: account?.1, scopes: scopes)))
        }
        return (seeds, unseeded)
    }

    /// `https://vault.example.com/base/sdk/token?x` → `/sdk/token?x`.
    static func sdkPath(_ url: String) -> String {
        let (_, path, query) = TranscriptReplay.split(url: url)
        let sdk = path.range(of: "/sdk/").map { String(path[$0.lowerBound...]) } ?? path
        return query.isEmpty ? sdk : sdk + "?" + query
    }

    static func splitQuery(_ path: String) -> (String, String) {
        guard let mark = path.firstIndex(of: "?") else { return (path, "") }
        return (String(path[..<mark]), String(path[path.index(after: mark)...]))
    }

    /// Longest first: a sandbox's URL is replaced whole before the server's address inside it.
    static func replacing(_ text: String, _ mapped: [String: String]) -> String {
        mapped.sorted { $0.key.count > $1.key.count }.reduce(text) { $0.replacingOccurrences(of: $1.key, with: $1.value) }
    }

    /// JSON compared as data; where the recorded value is a placeholder, a date or a count of
    /// seconds left, any value of the same type will do; mapped ids compare as the recorded ones.
    static func bodyDifferences(expected: Data, actual: Data, mapped: [String: String], captured: inout [String: String]) -> [RequestView.Difference] {
        guard let recorded = JSONValue.parse(expected), let answered = JSONValue.parse(actual) else {
            return expected == actual ? [] : [.init(field: "body", expected: String(decoding: expected.prefix(300), as: UTF8.self),
                                                    actual: String(decoding: actual.prefix(300), as: UTF8.self))]
        }
        var reverse = Dictionary(mapped.map { ($1, $0) }, uniquingKeysWith: { first, _ in first })
        let reconciled = reconcile(recorded, replacing(answered, reverse: reverse), captured: &captured)
        for (placeholder, value) in captured { reverse[value] = placeholder }
        return RequestView.jsonDifferences(loosened(recorded, reverse: [:]), loosened(reconciled, reverse: reverse), at: "body")
    }

    /// VaultSim's answer with every mapped value written back as the recorded one, inside strings too.
    static func replacing(_ value: JSONValue, reverse: [String: String]) -> JSONValue {
        switch value {
        case .object(let members): .object(members.mapValues { replacing($0, reverse: reverse) })
        case .array(let items): .array(items.map { replacing($0, reverse: reverse) })
        case .string(let text): .string(replacing(text, reverse))
        default: value
        }
    }

    /// Where a recorded string holds placeholders (`…/connect/<<connect_session_token:1>>`) and
    /// VaultSim's has any values in their places, VaultSim's is taken as the recorded one, and
    /// what stood for each placeholder is captured.
    static func reconcile(_ recorded: JSONValue, _ answered: JSONValue, captured: inout [String: String]) -> JSONValue {
        switch (recorded, answered) {
        case (.object(let expected), .object(let actual)):
            var members = actual
            for (key, value) in actual { if let twin = expected[key] { members[key] = reconcile(twin, value, captured: &captured) } }
            return .object(members)
        case (.array(let expected), .array(let actual)) where expected.count == actual.count:
            return .array(zip(expected, actual).map { reconcile($0, $1, captured: &captured) })
        case (.string(let expected), .string(let actual)) where expected.contains("<<") && expected != actual:
            let placeholders = expected.matches(of: /<<[a-z0-9_]+:[0-9]+>>/).map { String($0.output) }
            guard !placeholders.isEmpty else { return answered }
            var pattern = "^"
            var rest = Substring(expected)
            for placeholder in placeholders {
                guard let range = rest.range(of: placeholder) else { return answered }
                pattern += NSRegularExpression.escapedPattern(for: String(rest[..<range.lowerBound])) + "(.+?)"
                rest = rest[range.upperBound...]
            }
            pattern += NSRegularExpression.escapedPattern(for: String(rest)) + "$"
            guard let regex = try? NSRegularExpression(pattern: pattern),
                  let match = regex.firstMatch(in: actual, range: NSRange(actual.startIndex..., in: actual)) else { return answered }
            for (index, placeholder) in placeholders.enumerated() {
                if let range = Range(match.range(at: index + 1), in: actual) { captured[placeholder] = String(actual[range]) }
            }
            return recorded
        default:
            return answered
        }
    }

    /// A value with what cannot match written as its kind: `<secret>`, `<date>`, `<seconds>`, `<uuid>`.
    static func loosened(_ value: JSONValue, reverse: [String: String], key: String = "") -> JSONValue {
        switch value {
        case .object(let members):
            return .object(JSONObject(uniqueKeysWithValues: members.map { ($0.key, loosened($0.value, reverse: reverse, key: $0.key)) }))
        case .array(let items):
            return .array(items.map { loosened($0, reverse: reverse, key: key) })
        case .string(let text):
            if let original = reverse[text] { return .string(original) }
            if text.hasPrefix("<<"), text.hasSuffix(">>") { return "<secret>" }
            if ["access_token", "refresh_token", "id_token", "session_token"].contains(key) { return "<secret>" }
            // Which credential a token response is (the App generation's `token_generation`):
            // derived from the token, so it differs wherever the token does.
            if key == "token_generation", UUID(uuidString: text) != nil { return "<uuid>" }
            if ISO8601DateFormatter().date(from: text) != nil { return "<date>" }
            return value
        case .number where key == "expires_in" || key == "latency_ms":
            return "<seconds>"
        default:
            return value
        }
    }
}
