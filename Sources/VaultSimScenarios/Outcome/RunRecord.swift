import Foundation
import VaultSimCore

/// A whole run as data: what ran (the suite, the SDK, the driver, the machine, the shard) and
/// every scenario's record. The JSON report is this, encoded (`docs/report.schema.json`); the
/// console, JUnit and HTML reports are rendered from it; `vaultsim report merge` joins shards of
/// one suite back into one.
public struct RunRecord: Codable, Sendable, Equatable {
    /// The JSON report's format; a reader refuses another.
    public static let format = "vaultsim-report/1"

    public struct SDK: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
        public var language: String?
        public var languageVersion: String?

        public init(name: String, version: String, language: String? = nil, languageVersion: String? = nil) {
            self.name = name
            self.version = version
            self.language = language
            self.languageVersion = languageVersion
        }

        enum CodingKeys: String, CodingKey {
            case name, version, language
            case languageVersion = "language_version"
        }
    }

    public struct Machine: Codable, Sendable, Equatable {
        public var cores: Int
        public var os: String
        public var arch: String

        public init(cores: Int, os: String, arch: String) {
            self.cores = cores
            self.os = os
            self.arch = arch
        }

        public static var current: Machine {
            var system = utsname()
            uname(&system)
            func text<T>(_ field: T) -> String {
                withUnsafeBytes(of: field) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
            }
            return Machine(cores: ProcessInfo.processInfo.activeProcessorCount, os: "\(text(system.sysname)) \(text(system.release))",
                           arch: text(system.machine))
        }
    }

    public struct Shard: Codable, Sendable, Equatable {
        /// 1-based, as `--shard K/N` writes it.
        public var index: Int
        public var total: Int

        public init(index: Int, total: Int) {
            self.index = index
            self.total = total
        }
    }

    public struct Coverage: Codable, Sendable, Equatable {
        public var covered: Int
        public var total: Int
        /// Items without a passing scenario: `[id, title, source]`.
        public var uncovered: [[String]]

        public init(covered: Int, total: Int, uncovered: [[String]]) {
            self.covered = covered
            self.total = total
            self.uncovered = uncovered
        }
    }

    public var format: String
    public var vaultsim: String
    /// Names the suite that ran (a digest of every scenario id before sharding): shards of one
    /// suite share it, and merge refuses shards that do not.
    public var suite: String
    public var suiteSize: Int
    public var sdk: SDK?
    public var driver: String
    /// `proxy` (real URLs through the intercepting proxy) or `gateway` (`--no-proxy`).
    public var mode: String
    public var machine: Machine
    /// The seed of the order the scenarios started in (`--seed` repeats it); nil when they ran in
    /// the order given.
    public var seed: Int?
    public var startedAt: String
    public var seconds: Double
    /// The shards this record holds (one; several once merged), nil for an unsharded run.
    public var shards: [Shard]?
    public var coverage: Coverage?
    public var scenarios: [ScenarioResult]

    public init(vaultsim: String, suite: [String], sdk: SDK?, driver: String, mode: String, machine: Machine = .current, seed: Int? = nil,
                startedAt: Date, seconds: Double, shard: Shard?, coverage: Coverage?, scenarios: [ScenarioResult]) {
        self.format = Self.format
        self.vaultsim = vaultsim
        self.suite = Self.suiteDigest(suite)
        self.suiteSize = suite.count
        self.sdk = sdk
        self.driver = driver
        self.mode = mode
        self.machine = machine
        self.seed = seed
        self.startedAt = startedAt.rfc3339
        self.seconds = (seconds * 1000).rounded() / 1000
        self.shards = shard.map { [$0] }
        self.coverage = coverage
        // Listed by id, whatever order they ran in.
        self.scenarios = scenarios.sorted { $0.scenarioID < $1.scenarioID }
    }

    enum CodingKeys: String, CodingKey {
        case format, vaultsim, suite, sdk, driver, mode, machine, seed, seconds, shards, coverage, scenarios
        case suiteSize = "suite_size"
        case startedAt = "started_at"
    }

    /// Every key written, absent values as `null` (a reader need not guess whether a key was left out).
    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(format, forKey: .format)
        try c.encode(vaultsim, forKey: .vaultsim)
        try c.encode(suite, forKey: .suite)
        try c.encode(suiteSize, forKey: .suiteSize)
        try c.encode(sdk, forKey: .sdk)
        try c.encode(driver, forKey: .driver)
        try c.encode(mode, forKey: .mode)
        try c.encode(machine, forKey: .machine)
        try c.encode(seed, forKey: .seed)
        try c.encode(startedAt, forKey: .startedAt)
        try c.encode(seconds, forKey: .seconds)
        try c.encode(shards, forKey: .shards)
        try c.encode(coverage, forKey: .coverage)
        try c.encode(scenarios, forKey: .scenarios)
    }

    /// `sha256:` and the first 16 hex digits of the digest of the sorted scenario ids.
    static func suiteDigest(_ ids: [String]) -> String {
        "sha256:" + RequestSigning.sha256Hex(Data(ids.sorted().joined(separator: "\n").utf8)).prefix(16)
    }

    /// What the driver said of itself in the first scenario that started one.
    public static func sdk(from results: [ScenarioResult]) -> SDK? {
        guard let info = results.lazy.compactMap(\.sdk).first else { return nil }
        return SDK(name: info["sdk"]?.stringValue ?? "?", version: info["version"]?.stringValue ?? "?",
                   language: info["language"]?.stringValue, languageVersion: info["language_version"]?.stringValue)
    }

    /// The same record with scenario paths under `base` written relative to it (reports name
    /// files as the repository has them: CI servers link `file` attributes that way).
    public func relativized(to base: String) -> RunRecord {
        let prefix = base.hasSuffix("/") ? base : base + "/"
        func relative(_ text: String) -> String { text.replacingOccurrences(of: prefix, with: "") }
        func relative(_ location: SourceLocation) -> SourceLocation {
            SourceLocation(file: relative(location.file), line: location.line, column: location.column)
        }
        var copy = self
        copy.scenarios = scenarios.map { scenario in
            var scenario = scenario
            scenario.location = relative(scenario.location)
            scenario.findings = scenario.findings.map { finding in
                var finding = finding
                finding.location = finding.location.map(relative)
                finding.message = relative(finding.message)
                return finding
            }
            scenario.steps = scenario.steps.map { step in
                var step = step
                step.location = relative(step.location)
                return step
            }
            return scenario
        }
        return copy
    }

    public func count(_ verdict: ScenarioResult.Verdict) -> Int { scenarios.filter { $0.verdict == verdict }.count }
    public var allPassed: Bool { count(.failed) == 0 && count(.errored) == 0 }

    // MARK: JSON

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }

    public struct ReadError: Error, CustomStringConvertible {
        public var description: String
    }

    /// Reads a JSON report, refusing another format.
    public static func read(_ data: Data, name: String) throws(ReadError) -> RunRecord {
        let format = (try? JSONDecoder().decode([String: JSONValue].self, from: data))?["format"]?.stringValue
        guard format == Self.format else {
            throw ReadError(description: "\(name) is not a VaultSim report of format \(Self.format) (its format: \(format ?? "none"))")
        }
        do {
            return try JSONDecoder().decode(RunRecord.self, from: data)
        } catch {
            throw ReadError(description: "\(name) cannot be read as a VaultSim report: \(error)")
        }
    }

    // MARK: merging shards

    /// One record of the shards of one run: the same suite, SDK, driver and mode, no shard twice,
    /// every scenario once, in suite order (by id).
    public static func merge(_ records: [(name: String, record: RunRecord)]) throws(ReadError) -> RunRecord {
        guard var merged = records.first?.record else { throw ReadError(description: "nothing to merge: name one or more JSON reports") }
        let first = records[0].name
        var seen = Set<String>()
        var shards: [Shard] = []
        var scenarios: [ScenarioResult] = []
        for (name, record) in records {
            if record.suite != merged.suite || record.suiteSize != merged.suiteSize {
                throw ReadError(description: "\(name) is a shard of another suite (\(record.suite), \(record.suiteSize) scenarios) than \(first) (\(merged.suite), \(merged.suiteSize)); merge only shards of one run")
            }
            if record.sdk != merged.sdk {
                throw ReadError(description: "\(name) ran \(record.sdk.map { "\($0.name) \($0.version)" } ?? "no SDK") but \(first) ran \(merged.sdk.map { "\($0.name) \($0.version)" } ?? "no SDK"); merge only shards of one SDK")
            }
            if record.driver != merged.driver || record.mode != merged.mode {
                throw ReadError(description: "\(name) ran another driver or mode (\(record.driver), \(record.mode)) than \(first) (\(merged.driver), \(merged.mode))")
            }
            for shard in record.shards ?? [] {
                if shards.contains(shard) { throw ReadError(description: "\(name) repeats shard \(shard.index)/\(shard.total)") }
                shards.append(shard)
            }
            for scenario in record.scenarios {
                guard seen.insert(scenario.scenarioID).inserted else {
                    throw ReadError(description: "scenario \(scenario.scenarioID) is in more than one report (\(name) among them)")
                }
                scenarios.append(scenario)
            }
        }
        merged.scenarios = scenarios.sorted { $0.scenarioID < $1.scenarioID }
        merged.shards = shards.isEmpty ? nil : shards.sorted { $0.index < $1.index }
        merged.seconds = records.map(\.record.seconds).max() ?? merged.seconds
        merged.startedAt = records.map(\.record.startedAt).min() ?? merged.startedAt
        // Coverage is judged over the whole suite: the union of what each shard's passing scenarios covered.
        if let totals = records.compactMap(\.record.coverage).first {
            let stillUncovered = records.compactMap(\.record.coverage).map { Set($0.uncovered.map { $0.first ?? "" }) }
                .reduce(Set(totals.uncovered.map { $0.first ?? "" })) { $0.intersection($1) }
            let uncovered = totals.uncovered.filter { stillUncovered.contains($0.first ?? "") }
            merged.coverage = Coverage(covered: totals.total - uncovered.count, total: totals.total, uncovered: uncovered)
        }
        if let total = merged.shards?.first?.total, let shards = merged.shards, shards.count < total {
            let missing = Set(1...total).subtracting(shards.map(\.index)).sorted().map(String.init).joined(separator: ", ")
            throw ReadError(description: "shard(s) \(missing) of \(total) are missing; merge every shard of the run")
        }
        return merged
    }
}
