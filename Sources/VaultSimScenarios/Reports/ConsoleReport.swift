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
        text += "\(summary.results.count) scenarios in \(String(format: "%.1f", seconds)) s\n"
        text += "\(summary.passedCount) passed, \(summary.failedCount) failed"
        if summary.skippedCount > 0 { text += ", \(summary.skippedCount) skipped" }
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
