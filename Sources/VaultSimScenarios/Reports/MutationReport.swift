import Foundation
import VaultSimCore
import Yams

/// What `vaultsim mutate` found: each mutant of the SDK under test (a single edit of its source),
/// and whether the suite noticed it. Pure data; `markdown()` and `json()` render it.
public struct MutationReport: Sendable, Codable, Equatable {
    public struct Mutant: Sendable, Codable, Equatable {
        public var id: String
        public var file: String
        public var line: Int
        public var `operator`: String
        public var description: String
        public var original: String
        public var mutated: String
        public var diff: String

        public init(id: String, file: String, line: Int, operator: String, description: String, original: String, mutated: String, diff: String) {
            self.id = id
            self.file = file
            self.line = line
            self.operator = `operator`
            self.description = description
            self.original = original
            self.mutated = mutated
            self.diff = diff
        }
    }

    public enum Outcome: String, Sendable, Codable {
        /// A scenario failed (or errored, or the SDK did not start): the suite noticed.
        case killed
        /// Every scenario passed.
        case survived
    }

    public struct Result: Sendable, Codable, Equatable {
        public var mutant: Mutant
        public var outcome: Outcome
        /// The scenarios that failed or errored (killed), the first few.
        public var killedBy: [String]
        /// How many scenarios ran (and, for a survivor, passed or were skipped).
        public var scenariosRun: Int
        public var seconds: Double
        /// For a survivor: the committed explanation, if one matches.
        public var explanation: Explanation?

        public init(mutant: Mutant, outcome: Outcome, killedBy: [String], scenariosRun: Int, seconds: Double, explanation: Explanation? = nil) {
            self.mutant = mutant
            self.outcome = outcome
            self.killedBy = killedBy
            self.scenariosRun = scenariosRun
            self.seconds = seconds
            self.explanation = explanation
        }
    }

    /// Why a survivor is not a gap in the suite: `equivalent` (no caller can tell it from the
    /// SDK) or `open` (a behaviour the contract leaves open), with the reason.
    public struct Explanation: Sendable, Codable, Equatable {
        /// `unreached`: a part of the SDK no scenario can drive yet (a gap of VaultSim, named).
        public enum Kind: String, Sendable, Codable { case equivalent, open, unreached }
        public var kind: Kind
        public var reason: String
        public var file: String
        public var original: String
        public var mutated: String
        /// The line, when the same edit of the same text means different things in different
        /// places (a message repeated in several methods); nil: any line.
        public var line: Int?

        public init(kind: Kind, reason: String, file: String, original: String, mutated: String, line: Int? = nil) {
            self.kind = kind
            self.reason = reason
            self.file = file
            self.original = original
            self.mutated = mutated
            self.line = line
        }

        public func matches(_ mutant: Mutant) -> Bool {
            file == mutant.file && original == mutant.original && mutated == mutant.mutated && (line == nil || line == mutant.line)
        }

        /// The explanations file: a YAML list of `{file, original, mutated, kind, reason}`.
        public static func load(yaml text: String) throws -> [Explanation] {
            try YAMLDecoder().decode([Explanation].self, from: text)
        }
    }

    public var command: String
    public var sdk: String
    public var files: [String]
    /// Every mutant the operators make (before sampling), by operator.
    public var candidates: [String: Int]
    public var sample: Int?
    public var seed: Int
    public var scenarios: Int
    public var baselineSeconds: Double
    public var results: [Result]
    /// How many mutants the run made; more than `results` while it runs (or when it was stopped).
    public var planned: Int?

    public init(command: String, sdk: String, files: [String], candidates: [String: Int], sample: Int?, seed: Int, scenarios: Int,
                baselineSeconds: Double, results: [Result]) {
        self.command = command
        self.sdk = sdk
        self.files = files
        self.candidates = candidates
        self.sample = sample
        self.seed = seed
        self.scenarios = scenarios
        self.baselineSeconds = baselineSeconds
        self.results = results
    }

    public var killed: Int { results.filter { $0.outcome == .killed }.count }
    public var survivors: [Result] { results.filter { $0.outcome == .survived } }
    public var equivalent: Int { survivors.filter { $0.explanation?.kind == .equivalent }.count }
    public var open: Int { survivors.filter { $0.explanation?.kind == .open }.count }
    public var unreached: Int { survivors.filter { $0.explanation?.kind == .unreached }.count }
    public var unexplained: Int { survivors.filter { $0.explanation == nil }.count }

    /// Killed over the mutants that are not equivalent.
    public var killRate: Double {
        let counted = results.count - equivalent
        return counted == 0 ? 1 : Double(killed) / Double(counted)
    }

    public func markdown() -> String {
        let total = candidates.values.reduce(0, +)
        var text = """
            # Suite power: mutation testing of \(sdk)

            Generated by `\(command)`. Do not edit by hand: run the command again.

            Each mutant is one edit of the SDK's source (\(files.joined(separator: ", "))), the kind of bug a release could
            ship; the suite (\(scenarios) scenarios) runs against it through `PYTHONPATH`, the scenarios that killed the most
            mutants so far first, and stops at the first that fails. A mutant is **killed** when that scenario fails again
            when run a second time, **survives** when every scenario passes (only a survivor runs the whole suite). A
            survivor is explained in
            `docs/suite-power-explained.yaml` as **equivalent** (no caller can tell it from the SDK), **open** (a
            behaviour the contract leaves open) or **unreached** (a part of the SDK no scenario can drive yet: a
            gap VaultSim names); an unexplained survivor is a gap in the suite. Only equivalent mutants leave the
            kill rate's count.


            """
        text += "| | |\n|---|---|\n"
        text += "| Mutants the operators make | \(total) |\n"
        let unfinished = (planned ?? results.count) > results.count ? " of the \(planned ?? 0) made (the run stopped early; these are its results so far)" : ""
        text += "| Mutants run | \(results.count)\(unfinished)\(sample.map { " (a sample of \($0), seed \(seed))" } ?? "") |\n"
        text += "| Killed | \(killed) |\n"
        text += "| Survived | \(survivors.count): \(equivalent) equivalent, \(open) open, \(unreached) unreached, \(unexplained) unexplained |\n"
        text += "| Kill rate (of the non-equivalent) | \(String(format: "%.1f", killRate * 100)) % |\n"
        let seconds = results.map(\.seconds).reduce(0, +)
        text += "| Suite on the unmutated SDK | \(String(format: "%.1f", baselineSeconds)) s |\n"
        text += "| Time for the mutants | \(String(format: "%.0f", seconds)) s (\(String(format: "%.1f", results.isEmpty ? 0 : seconds / Double(results.count))) s each) |\n\n"

        text += "## By operator\n\n| Operator | Made | Run | Killed | Survived |\n|---|---|---|---|---|\n"
        for name in candidates.keys.sorted() {
            let ran = results.filter { $0.mutant.operator == name }
            text += "| \(name) | \(candidates[name] ?? 0) | \(ran.count) | \(ran.filter { $0.outcome == .killed }.count) | \(ran.filter { $0.outcome == .survived }.count) |\n"
        }
        text += "\n## Survivors\n\n"
        if survivors.isEmpty { text += "None.\n" }
        for survivor in survivors.sorted(by: { $0.mutant.id < $1.mutant.id }) {
            let why = survivor.explanation.map { "\($0.kind.rawValue): \($0.reason)" } ?? "**unexplained**: no scenario notices it"
            text += "### \(survivor.mutant.id) (\(survivor.mutant.operator), \(survivor.mutant.file):\(survivor.mutant.line))\n\n"
            text += "\(survivor.mutant.description)  \nAll \(survivor.scenariosRun) scenarios ran and none failed. \(why)\n\n"
            text += "```diff\n\(survivor.mutant.diff.hasSuffix("\n") ? survivor.mutant.diff : survivor.mutant.diff + "\n")```\n\n"
        }
        text += "## Killed\n\n| Mutant | Operator | Where | Edit | Killed by | Scenarios run |\n|---|---|---|---|---|---|\n"
        for result in results.filter({ $0.outcome == .killed }).sorted(by: { $0.mutant.id < $1.mutant.id }) {
            let edit = result.mutant.description.replacingOccurrences(of: "|", with: "\\|").replacingOccurrences(of: "`", with: "'")
            text += "| \(result.mutant.id) | \(result.mutant.operator) | \(result.mutant.file):\(result.mutant.line) | `\(edit.prefix(90))` | \(result.killedBy.prefix(3).joined(separator: ", "))\(result.killedBy.count > 3 ? ", …" : "") | \(result.scenariosRun) |\n"
        }
        return text
    }

    /// The same results with the survivors explained by `explanations` (the first that matches
    /// each), as a later `--from` run renders them.
    public func explained(by explanations: [Explanation]) -> MutationReport {
        var report = self
        for index in report.results.indices where report.results[index].outcome == .survived {
            report.results[index].explanation = explanations.first { $0.matches(report.results[index].mutant) }
        }
        return report
    }

    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(self), as: UTF8.self) + "\n"
    }
}
