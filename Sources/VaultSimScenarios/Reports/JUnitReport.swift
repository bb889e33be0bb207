import Foundation

/// JUnit XML for CI systems: one `testcase` per scenario, the failures as `failure` elements
/// and the driver's stderr (the SDK log) as `system-err`.
public enum JUnitReport {
    public static func xml(_ summary: RunSummary, suiteName: String = "vaultsim") -> String {
        func seconds(_ d: Duration) -> String {
            String(format: "%.3f", Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18)
        }
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites tests=\"\(summary.results.count)\" failures=\"\(summary.failedCount)\" skipped=\"\(summary.skippedCount)\" time=\"\(seconds(summary.duration))\">\n"
        xml += "  <testsuite name=\"\(escape(suiteName))\" tests=\"\(summary.results.count)\" failures=\"\(summary.failedCount)\" skipped=\"\(summary.skippedCount)\" time=\"\(seconds(summary.duration))\">\n"
        for result in summary.results {
            let parts = result.scenarioID.split(separator: "/")
            let className = parts.count > 1 ? parts.dropLast().joined(separator: ".") : suiteName
            xml += "    <testcase classname=\"\(escape(className))\" name=\"\(escape(result.scenarioID))\" file=\"\(escape(result.location.file))\" time=\"\(seconds(result.duration))\">\n"
            switch result.verdict {
            case .passed: break
            case .skipped:
                xml += "      <skipped message=\"\(escape(result.failures.first ?? ""))\"/>\n"
            case .failed:
                xml += "      <failure message=\"\(escape(result.failures.first ?? "failed"))\">\(escape(result.failures.joined(separator: "\n")))</failure>\n"
            }
            if !result.driverLog.isEmpty {
                xml += "      <system-err>\(escape(result.driverLog))</system-err>\n"
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    static func escape(_ text: String) -> String {
        var out = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&apos;"
            case "\n", "\t", "\r": out.unicodeScalars.append(scalar)
            default:
                // XML 1.0 cannot hold other control characters.
                if scalar.value < 0x20 { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
