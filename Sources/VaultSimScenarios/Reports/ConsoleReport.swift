import Foundation

/// Human-readable run output: a line per scenario as it finishes, then a summary.
public enum ConsoleReport {
    public static func line(for result: ScenarioResult) -> String {
        let seconds = String(format: "%.2fs", Double(result.duration.components.seconds) + Double(result.duration.components.attoseconds) / 1e18)
        var text = "\(result.verdict.rawValue.uppercased().padding(toLength: 7, withPad: " ", startingAt: 0)) \(result.scenarioID) (\(seconds))"
        for failure in result.failures {
            text += "\n        - " + failure.replacingOccurrences(of: "\n", with: "\n          ")
        }
        return text
    }

    public static func summary(_ summary: RunSummary, sdk: String?) -> String {
        let seconds = Double(summary.duration.components.seconds) + Double(summary.duration.components.attoseconds) / 1e18
        var text = ""
        if let sdk { text += "SDK: \(sdk)\n" }
        text += "\(plural(summary.results.count, "scenario")) in \(String(format: "%.1f", seconds)) s\n"
        text += "\(summary.passedCount) passed, \(summary.failedCount) failed"
        if summary.skippedCount > 0 { text += ", \(summary.skippedCount) skipped" }
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

    /// `alter-sdk 0.11.0 (python 3.11.7) from /path/alter_sdk/__init__.py`.
    public static func describeSDK(_ results: [ScenarioResult]) -> String? {
        guard let info = results.lazy.compactMap(\.sdk).first else { return nil }
        let name = info["sdk"]?.stringValue ?? "?"
        let version = info["version"]?.stringValue ?? "?"
        let language = [info["language"]?.stringValue, info["language_version"]?.stringValue].compactMap { $0 }.joined(separator: " ")
        let path = info["sdk_path"]?.stringValue.map { " from \($0)" } ?? ""
        return "\(name) \(version) (\(language))\(path)"
    }
}
