import Foundation
import VaultSimCore

/// The verdict on one scenario.
public struct ScenarioResult: Sendable {
    public enum Verdict: String, Sendable {
        case passed, failed, skipped
    }

    public var scenarioID: String
    public var title: String
    public var location: SourceLocation
    public var verdict: Verdict
    /// What went wrong, each naming the step or check and, where it applies, file:line.
    public var failures: [String]
    public var duration: Duration
    /// What the driver said of itself in `init` (SDK name, version, path).
    public var sdk: JSONValue?
    /// The driver's stderr: the SDK's log.
    public var driverLog: String
    /// Why the driver could not start a client, when it could not (see `RunSummary.driverStartFailure`).
    public var driverStartFailure: String?

    public var passed: Bool { verdict == .passed }
}

/// The results of a whole run.
public struct RunSummary: Sendable {
    public var results: [ScenarioResult]
    public var duration: Duration
    /// The first scenario whose driver could not start a client: the runner stops there (the
    /// same driver fails the same way for every scenario) and reports it once, as an
    /// infrastructure failure (exit 3), not as one failure per scenario.
    public var driverStartFailure: ScenarioResult? { results.first { $0.driverStartFailure != nil } }

    public var passedCount: Int { results.filter { $0.verdict == .passed }.count }
    public var failedCount: Int { results.filter { $0.verdict == .failed }.count }
    public var skippedCount: Int { results.filter { $0.verdict == .skipped }.count }
    public var allPassed: Bool { failedCount == 0 }
}
