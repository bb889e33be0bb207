import Foundation

/// Human-readable run output, rendered from the run's records: a line per scenario as it
/// finishes, then a failures-only summary (each failing expectation as expected vs actual, with
/// its location), the totals and the contract coverage.
public enum ConsoleReport {
    /// Colours for a terminal; none in a pipe or file, and never with `NO_COLOR` set.
    public struct Style: Sendable {
        public var colours: Bool

        public init(colours: Bool) { self.colours = colours }

        public static let plain = Style(colours: false)

        /// Colours when standard output is a terminal and `NO_COLOR` is unset or empty (no-color.org).
        public static func forStandardOutput(environment: [String: String] = ProcessInfo.processInfo.environment) -> Style {
            Style(colours: isatty(STDOUT_FILENO) == 1 && (environment["NO_COLOR"] ?? "").isEmpty)
        }

        func paint(_ text: String, _ code: String) -> String { colours ? "\u{1B}[\(code)m\(text)\u{1B}[0m" : text }
        func verdict(_ verdict: ScenarioResult.Verdict) -> String {
            let word = verdict.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)
            switch verdict {
            case .passed: return paint(word, "32")
            case .failed: return paint(word, "31")
            case .errored: return paint(word, "35")
            case .skipped: return paint(word, "33")
            }
        }
    }

    public static func line(for result: ScenarioResult, style: Style = .plain) -> String {
        var text = "\(style.verdict(result.verdict)) \(result.scenarioID) (\(String(format: "%.2fs", result.duration.seconds)))"
        for failure in result.failures {
            text += "\n        - " + failure.replacingOccurrences(of: "\n", with: "\n          ")
        }
        return text
    }

    /// What comes after the per-scenario lines.
    public static func summary(_ record: RunRecord, style: Style = .plain) -> String {
        var text = ""
        let failing = record.scenarios.filter { $0.verdict == .failed || $0.verdict == .errored }
        if !failing.isEmpty {
            text += style.paint("Failures (\(failing.count)):", "1") + "\n"
            for scenario in failing {
                text += "  \(scenario.scenarioID)  \(scenario.location)\n"
                for finding in scenario.findings {
                    let place = finding.location.map { "\($0)" } ?? scenario.location.description
                    let subject = [finding.step, finding.path].compactMap { $0 }.joined(separator: " ")
                    if let expected = finding.expected, let actual = finding.actual {
                        text += "    \(place)  \(subject.isEmpty ? finding.kind.rawValue : subject)\n"
                        text += "      expected: \(expected)\n"
                        text += "      actual:   \(actual)\n"
                    } else {
                        // Most messages name their place already.
                        text += "    " + (finding.message.contains(place) ? finding.message : "\(place)  \(finding.message)") + "\n"
                    }
                }
            }
        }
        if let sdk = record.sdk {
            let language = [sdk.language, sdk.languageVersion].compactMap { $0 }.joined(separator: " ")
            text += "SDK: \(sdk.name) \(sdk.version)\(language.isEmpty ? "" : " (\(language))")\n"
        }
        let shard = record.shards.map { " (shard " + $0.map { "\($0.index)/\($0.total)" }.joined(separator: ", ") + ")" } ?? ""
        text += "\(plural(record.scenarios.count, "scenario")) in \(String(format: "%.1f", record.seconds)) s\(shard)\n"
        text += "\(record.count(.passed)) passed, \(record.count(.failed)) failed"
        if record.count(.skipped) > 0 { text += ", \(record.count(.skipped)) skipped" }
        if record.count(.errored) > 0 { text += ", \(record.count(.errored)) errored" }
        if let coverage = record.coverage {
            text += "\nContract coverage: \(coverage.covered) of \(coverage.total) items have a passing scenario"
            if !coverage.uncovered.isEmpty {
                text += "; not covered:"
                for item in coverage.uncovered { text += "\n  " + item.joined(separator: "  ") }
            }
        }
        return text
    }

    /// `1 scenario`, `2 scenarios`.
    public static func plural(_ count: Int, _ noun: String) -> String {
        "\(count) \(noun)\(count == 1 ? "" : "s")"
    }

    /// The one report of a driver that could not start a client: what it said and the end of its
    /// log (a traceback, say), once, instead of the same failure for every scenario.
    public static func driverStartFailure(_ result: ScenarioResult, driver: String) -> String {
        var text = "vaultsim: the driver could not start (first seen in \(result.scenarioID)): \(result.driverStartFailure ?? "")\n"
        text += "  driver: \(driver)\n"
        let log = result.driverLog.split(separator: "\n", omittingEmptySubsequences: false).suffix(30).joined(separator: "\n")
        if !log.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
            text += "  its log (last lines):\n    " + log.replacingOccurrences(of: "\n", with: "\n    ") + "\n"
        }
        text += "  The bundled Python driver speaks the AlterVault API of alter-sdk 0.8 to 0.11; choose one of those with "
            + "--sdk alter-sdk==0.11.0, or another driver with --driver CMD (docs/driver-protocol.md).\n"
        text += "  Nothing else was run; this is an infrastructure failure (exit 3), not a scenario's."
        return text
    }
}
