import Foundation
import VaultSimCore

/// What running one scenario found, as data: the verdict, every finding, a record of each step,
/// and what the driver said of itself. Every report (console, JUnit, JSON, HTML) is rendered from
/// these and nothing else.
public struct ScenarioResult: Sendable, Codable, Equatable {
    public enum Verdict: String, Sendable, Codable, CaseIterable {
        /// Every expectation held.
        case passed
        /// The SDK did something the scenario does not expect.
        case failed
        /// The driver lacks an op the scenario needs, or the scenario does not apply to the
        /// driver's SDK version (`skip_reason` says which).
        case skipped
        /// The scenario could not be judged: the driver could not start a client, or the
        /// sandbox could not be set up. Infrastructure, not the SDK's conduct.
        case errored
    }

    public var scenarioID: String
    public var title: String
    public var location: SourceLocation
    public var tags: [String] = []
    /// The contract catalogue's items the scenario covers.
    public var covers: [String] = []
    public var verdict: Verdict
    public var findings: [Finding] = []
    public var skipReason: String?
    public var steps: [StepRecord] = []
    public var duration: Duration
    /// What the driver said of itself in `init` (SDK name, version, path).
    public var sdk: JSONValue?
    /// The driver's stderr: the SDK's log.
    public var driverLog: String
    /// Why the driver could not start a client, when it could not (see `RunSummary.driverStartFailure`).
    public var driverStartFailure: String?
    /// The recorded exchanges of the scenario, once recording exists (a path beside the report).
    public var transcript: String?
    /// With `--record`: each exchange of the transcript, in order (empty otherwise).
    public var exchanges: [ExchangeLine] = []

    public init(scenarioID: String, title: String, location: SourceLocation, tags: [String] = [], covers: [String] = [], verdict: Verdict,
                findings: [Finding] = [], skipReason: String? = nil, steps: [StepRecord] = [], duration: Duration, sdk: JSONValue? = nil,
                driverLog: String = "", driverStartFailure: String? = nil, transcript: String? = nil,
                exchanges: [ExchangeLine] = []) {
        self.scenarioID = scenarioID
        self.title = title
        self.location = location
        self.tags = tags
        self.covers = covers
        self.verdict = verdict
        self.findings = findings
        self.skipReason = skipReason
        self.steps = steps
        self.duration = duration
        self.sdk = sdk
        self.driverLog = driverLog
        self.driverStartFailure = driverStartFailure
        self.transcript = transcript
        self.exchanges = exchanges
    }

    public var passed: Bool { verdict == .passed }

    /// The findings as the sentences the console prints (the skip reason for a skipped scenario).
    public var failures: [String] { skipReason.map { [$0] } ?? findings.map(\.message) }

    /// The scenario's area: the folder its id starts with (`errors/unknown-grant` → `errors`).
    public var area: String {
        let parts = scenarioID.split(separator: "/")
        return parts.count > 1 ? parts.dropLast().joined(separator: "/") : "(top)"
    }

    enum CodingKeys: String, CodingKey {
        case title, location, tags, covers, verdict, findings, steps, sdk, transcript, exchanges
        case scenarioID = "id"
        case skipReason = "skip_reason"
        case duration = "seconds"
        case driverLog = "driver_log"
        case driverStartFailure = "driver_start_failure"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        scenarioID = try c.decode(String.self, forKey: .scenarioID)
        title = try c.decode(String.self, forKey: .title)
        location = try c.decode(SourceLocation.self, forKey: .location)
        tags = try c.decodeIfPresent([String].self, forKey: .tags) ?? []
        covers = try c.decodeIfPresent([String].self, forKey: .covers) ?? []
        verdict = try c.decode(Verdict.self, forKey: .verdict)
        findings = try c.decodeIfPresent([Finding].self, forKey: .findings) ?? []
        skipReason = try c.decodeIfPresent(String.self, forKey: .skipReason)
        steps = try c.decodeIfPresent([StepRecord].self, forKey: .steps) ?? []
        let seconds = try c.decode(Double.self, forKey: .duration)
        duration = .milliseconds(Int64((seconds.isFinite ? min(max(seconds, 0), 1e9) : 0) * 1000))
        sdk = try c.decodeIfPresent(JSONValue.self, forKey: .sdk)
        driverLog = try c.decodeIfPresent(String.self, forKey: .driverLog) ?? ""
        driverStartFailure = try c.decodeIfPresent(String.self, forKey: .driverStartFailure)
        transcript = try c.decodeIfPresent(String.self, forKey: .transcript)
        exchanges = try c.decodeIfPresent([ExchangeLine].self, forKey: .exchanges) ?? []
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(scenarioID, forKey: .scenarioID)
        try c.encode(title, forKey: .title)
        try c.encode(location, forKey: .location)
        try c.encode(tags, forKey: .tags)
        try c.encode(covers, forKey: .covers)
        try c.encode(verdict, forKey: .verdict)
        try c.encode(findings, forKey: .findings)
        try c.encode(skipReason, forKey: .skipReason)
        try c.encode(steps, forKey: .steps)
        try c.encode((duration.seconds * 1000).rounded() / 1000, forKey: .duration)
        try c.encode(sdk, forKey: .sdk)
        try c.encode(driverLog, forKey: .driverLog)
        try c.encode(driverStartFailure, forKey: .driverStartFailure)
        try c.encode(transcript, forKey: .transcript)
        // Only when recorded: a report of a run without --record is the same as before.
        if !exchanges.isEmpty { try c.encode(exchanges, forKey: .exchanges) }
    }
}

/// The results of a whole run, as the runner returns them.
public struct RunSummary: Sendable {
    public var results: [ScenarioResult]
    public var duration: Duration

    public init(results: [ScenarioResult], duration: Duration) {
        self.results = results
        self.duration = duration
    }

    /// The first scenario whose driver could not start a client: the runner stops there (the
    /// same driver fails the same way for every scenario) and reports it once, as an
    /// infrastructure failure (exit 3), not as one failure per scenario.
    public var driverStartFailure: ScenarioResult? { results.first { $0.driverStartFailure != nil } }

    public var passedCount: Int { results.filter { $0.verdict == .passed }.count }
    public var failedCount: Int { results.filter { $0.verdict == .failed }.count }
    public var skippedCount: Int { results.filter { $0.verdict == .skipped }.count }
    public var erroredCount: Int { results.filter { $0.verdict == .errored }.count }
    public var allPassed: Bool { failedCount == 0 && erroredCount == 0 }
}
