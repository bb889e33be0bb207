import Foundation
import VaultSimCore
import VaultSimServer

/// Replays transcripts: a sandbox whose every answer comes from the transcript, a fresh SDK
/// client through the driver, the recorded ops driven again in order (a `concurrently` step's
/// branches together), each outcome compared with the recorded one, and every request compared
/// with the recorded requests of its op.
public struct Replayer: Sendable {
    public struct Options: Sendable {
        /// Match requests to the first unused recorded one of the op, in any order.
        public var unordered = false
        /// The intercepting proxy; nil: provider URLs are rewritten to the gateway.
        public var proxy: ProxyEnvironment?
        public var startTimeout: Duration = .seconds(60)
        public var callGrace: Duration = .seconds(15)

        public init() {}
    }

    public let server: VaultSimServer
    public let serverURL: String
    public let driver: DriverCommand
    public let options: Options

    public init(server: VaultSimServer, serverURL: String, driver: DriverCommand, options: Options = Options()) {
        self.server = server
        self.serverURL = serverURL
        self.driver = driver
        self.options = options
    }

    /// Replays one transcript.
    public func replay(_ har: HAR, name: String) async -> ReplayResult {
        let began = ContinuousClock.now
        var result = ReplayResult(name: name, entries: har.log.entries.count, ops: har.log.vaultsim?.ops.count ?? 0)
        guard let info = har.log.vaultsim else {
            result.divergences.append(Divergence(kind: .driver, step: nil, message: "the transcript has no _vaultsim data to drive the SDK with"))
            return result
        }
        let sandbox: Sandbox
        do { sandbox = try server.createSandbox(name: "replay \(name)") } catch {
            result.divergences.append(Divergence(kind: .driver, step: nil, message: "cannot create a sandbox: \(error)"))
            return result
        }
        defer { server.registry.remove(id: sandbox.id) }
        let hostMap = options.proxy == nil ? HostMap(serverURL: serverURL, sandboxID: sandbox.id) : nil
        let client = info.client ?? .object([:])
        let recordedVault = client["vault_url"]?.stringValue.flatMap { url in client["sandbox"]?.stringValue.map { (url, $0) } }
        // An unreachable vault gets a fresh unreachable address, written back as the recorded one.
        let vaultURL = client["vault"]?.stringValue == "unreachable" ? UnreachableAddress.make() : serverURL
        let standIns = StandIns(placeholders: info.placeholders, apiKeySecret: sandbox.apiKeySecretPart, recordedVault: recordedVault,
                                replayVault: (vaultURL, sandbox.id), hostMap: hostMap)
        let replay = TranscriptReplay(har: har, standIns: standIns, unordered: options.unordered)
        sandbox.setReplay(replay)

        var command = driver
        if let proxy = options.proxy { command.environment.merge(proxy.environment(sandboxID: sandbox.id)) { _, new in new } }
        let process = await DriverProcess.launch(command)
        let timeout = client["timeout"]?.numberValue ?? 10
        let callTimeout = Duration.milliseconds(Int((timeout.isFinite ? min(max(timeout, 0.001), 3600) : 10) * 1000)) + options.callGrace
        if await startClient(process, client: client, vaultURL: vaultURL, sandbox: sandbox, result: &result) {
            var index = 0
            let ops = info.ops
            while index < ops.count {
                let group = ops[index].group
                var end = index
                while end < ops.count, ops[end].group == group { end += 1 }
                replay.setGroup(group, concurrent: Set(ops[index..<end].map(\.branch)).count > 1)
                let divergences = await drive(Array(ops[index..<end]), process: process, standIns: standIns, callTimeout: callTimeout)
                for divergence in divergences { replay.add(divergence) }
                replay.setGroup(nil)
                index = end
            }
            _ = try? await process.call("close", params: [:], timeout: callTimeout)
        }
        await process.shutdown()
        result.driverLog = await process.stderr(since: 0)
        result.divergences += replay.divergences
        for index in replay.unusedEntries() {
            let entry = har.log.entries[index]
            result.divergences.append(Divergence(kind: .missingRequest, step: entry.vaultsim?.step,
                                                 request: "\(entry.request.method) \(entry.request.url)",
                                                 message: "entry \(index) was recorded but the SDK did not make it"))
        }
        result.repeats = replay.repeats.values.reduce(0, +)
        result.seconds = (ContinuousClock.now - began).replaySeconds
        return result
    }

    private func startClient(_ process: DriverProcess, client: JSONValue, vaultURL: String, sandbox: Sandbox,
                             result: inout ReplayResult) async -> Bool {
        let wrongKey = client["wrong_api_key"]?.stringValue ?? SecretGenerator.apiKey()
        var params: JSONObject = [
            "protocol": 1,
            "base_url": .string(vaultURL + (client["base_path"]?.stringValue ?? "")),
            "api_key": .string(client["api_key"]?.stringValue == "invalid" ? wrongKey : sandbox.apiKey),
            "timeout": client["timeout"] ?? 10,
        ]
        if let caller = client["caller"] { params["caller"] = caller }
        if let callerType = client["caller_type"] { params["caller_type"] = callerType }
        if let token = client["user_token"] { params["user_token"] = token }
        if client["context_manager"] == true { params["context_manager"] = true }
        if let proxy = options.proxy { params["env"] = .object(proxy.environment(sandboxID: sandbox.id).mapValues(JSONValue.string)) }
        do {
            switch try await process.call("init", params: .object(params), timeout: options.startTimeout) {
            case .result(let info):
                result.sdk = [info["sdk"]?.stringValue, info["version"]?.stringValue].compactMap { $0 }.joined(separator: " ")
                return true
            case .sdkError(let error):
                result.divergences.append(Divergence(kind: .driver, step: nil, message: "init: creating the SDK client raised \(error.summary)"))
            case .protocolError(let text):
                result.divergences.append(Divergence(kind: .driver, step: nil, message: "init: the driver refused it: \(text)"))
            }
        } catch {
            result.divergences.append(Divergence(kind: .driver, step: nil, message: "init: \(error)"))
        }
        return false
    }

    /// An op driven again, and what it answered (nil: the driver could not carry it out).
    struct Driven: Sendable {
        var op: HAR.Op
        var actual: JSONValue?
        var failure: Divergence?
    }

    /// Drives one group's ops: each branch in order, the branches together. Branches that run
    /// together race as they did when recorded, so the same op with the same arguments in several
    /// branches may get its recorded outcomes in another order: those are compared as a multiset.
    private func drive(_ ops: [HAR.Op], process: DriverProcess, standIns: StandIns, callTimeout: Duration) async -> [Divergence] {
        let branches = Dictionary(grouping: ops, by: \.branch).sorted { $0.key < $1.key }.map(\.value)
        let driven = await withTaskGroup(of: [Driven].self) { group in
            for branch in branches {
                group.addTask {
                    var found: [Driven] = []
                    for op in branch {
                        found.append(await drive(op, process: process, standIns: standIns, callTimeout: callTimeout))
                    }
                    return found
                }
            }
            var all: [Driven] = []
            for await found in group { all += found }
            return all
        }
        var divergences = driven.compactMap(\.failure)
        let answered = driven.filter { $0.actual != nil }
        if branches.count < 2 {
            for item in answered { divergences += Self.compare(item.op, actual: item.actual ?? .null) }
            return divergences
        }
        // Same op, same arguments: any of the recorded outcomes may be any branch's.
        let classes = Dictionary(grouping: answered) { "\($0.op.op) \($0.op.arguments.sortedKeys.jsonText)" }
        for key in classes.keys.sorted() {
            let items = classes[key] ?? []
            var expected = items.map { Self.comparable($0.op.outcome) }
            var unmatched: [Driven] = []
            for item in items {
                let actual = item.actual.map { Self.comparable($0) } ?? .null
                if let found = expected.firstIndex(of: actual) { expected.remove(at: found) } else { unmatched.append(item) }
            }
            for (item, outcome) in zip(unmatched, expected) {
                var op = item.op
                op.outcome = outcome
                divergences += Self.compare(op, actual: item.actual ?? .null)
            }
        }
        return divergences
    }

    private func drive(_ op: HAR.Op, process: DriverProcess, standIns: StandIns, callTimeout: Duration) async -> Driven {
        var extra = Duration.zero
        if op.op == "connect" {
            let polling = (op.arguments["timeout"]?.numberValue ?? 300) + (op.arguments["poll_interval"]?.numberValue ?? 2)
            extra = .milliseconds(Int((polling.isFinite ? min(max(polling, 0), 86_400) : 302) * 1000))
        }
        do {
            let reply = try await process.call(op.op, params: standIns.apply(op.arguments), timeout: callTimeout + extra)
            return Driven(op: op, actual: standIns.restore(reply.json))
        } catch {
            return Driven(op: op, failure: Divergence(kind: .driver, step: op.step, message: "\(op.op): \(error)"))
        }
    }

    /// The op's recorded outcome against the one it had now.
    static func compare(_ op: HAR.Op, actual: JSONValue) -> [Divergence] {
        let actual = comparable(actual)
        let expected = comparable(op.outcome)
        guard actual != expected else { return [] }
        let differences = RequestView.jsonDifferences(expected, actual, at: "outcome")
        return [Divergence(kind: .outcome, step: op.step,
                           message: "the op `\(op.op)` answered otherwise than recorded: "
                             + differences.prefix(5).map(\.description).joined(separator: "; "),
                           expected: summary(expected), actual: summary(actual))]
    }

    /// An outcome without what changes from run to run: the `date`, `server` and
    /// `content-length` of response headers, and `latency_ms`.
    static func comparable(_ value: JSONValue, inHeaders: Bool = false) -> JSONValue {
        switch value {
        case .object(let members):
            var kept = JSONObject()
            for (name, member) in members {
                if RequestView.volatileMembers.contains(name) { continue }
                if inHeaders && RequestView.volatileRecordedHeaders.contains(name.lowercased()) { continue }
                kept[name] = comparable(member, inHeaders: name == "headers" || name == "response_headers")
            }
            return .object(kept)
        case .array(let items):
            return .array(items.map { comparable($0) })
        default:
            return value
        }
    }

    /// An outcome in one line: the exception's class and message, or the result.
    static func summary(_ outcome: JSONValue) -> String {
        if let error = outcome["error"] {
            return "\(error["class"]?.stringValue ?? "?"): \(error["message"]?.stringValue ?? "") \(error["attributes"]?.jsonText ?? "")"
        }
        if let text = outcome["protocol_error"]?.stringValue { return "protocol error: \(text)" }
        return "result \(String((outcome["result"] ?? .null).jsonText.prefix(600)))"
    }
}

/// What replaying one transcript found.
public struct ReplayResult: Sendable {
    public var name: String
    public var entries: Int
    public var ops: Int
    public var sdk = ""
    public var divergences: [Divergence] = []
    /// Requests repeated beyond the recorded count (answered with the last recorded answer).
    public var repeats = 0
    public var seconds = 0.0
    public var driverLog = ""

    public var passed: Bool { divergences.isEmpty }
}

extension Duration {
    var replaySeconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
