import Foundation

/// JUnit XML for CI systems (GitLab, Jenkins, GitHub publishers), rendered from the run record:
/// one `testcase` per scenario with a unique dotted `classname` per scenario area and SDK
/// version (`vaultsim.alter-sdk_0_11_0.errors`) and the scenario's last id part as `name`,
/// `file` its path, `time`; a `failure` whose `message` is short (the first finding's expected
/// vs actual) and whose body lists every finding; `error` for a scenario that could not be
/// judged; `skipped` for an unsupported one; the SDK and VaultSim as `properties`; the driver's
/// stderr as `system-err`.
public enum JUnitReport {
    public static func xml(_ record: RunRecord, suiteName: String = "vaultsim") -> String {
        let sdkPart = record.sdk.map { identifier("\($0.name)_\($0.version)") } ?? "unknown-sdk"
        let failures = record.count(.failed), errors = record.count(.errored), skipped = record.count(.skipped)
        let counts = "tests=\"\(record.scenarios.count)\" failures=\"\(failures)\" errors=\"\(errors)\" skipped=\"\(skipped)\" time=\"\(seconds(record.seconds))\""
        var xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        xml += "<testsuites name=\"\(escape(suiteName))\" \(counts)>\n"
        xml += "  <testsuite name=\"\(escape("\(suiteName).\(sdkPart)"))\" \(counts) timestamp=\"\(escape(record.startedAt))\">\n"
        xml += "    <properties>\n"
        var properties: [(String, String)] = [("vaultsim", record.vaultsim), ("driver", record.driver), ("mode", record.mode), ("suite", record.suite)]
        if let sdk = record.sdk { properties += [("sdk.name", sdk.name), ("sdk.version", sdk.version)] }
        if let seed = record.seed { properties.append(("seed", String(seed))) }
        if let shards = record.shards { properties.append(("shards", shards.map { "\($0.index)/\($0.total)" }.joined(separator: ","))) }
        for (name, value) in properties { xml += "      <property name=\"\(escape(name))\" value=\"\(escape(value))\"/>\n" }
        xml += "    </properties>\n"
        for result in record.scenarios {
            let parts = result.scenarioID.split(separator: "/").map(String.init)
            let area = parts.dropLast().map(identifier)
            let className = ([suiteName, sdkPart] + area).joined(separator: ".")
            let name = parts.last ?? result.scenarioID
            xml += "    <testcase classname=\"\(escape(className))\" name=\"\(escape(name))\" file=\"\(escape(result.location.file))\" time=\"\(seconds(result.duration.seconds))\">\n"
            switch result.verdict {
            case .passed: break
            case .skipped:
                xml += "      <skipped message=\"\(escape(result.skipReason ?? "unsupported"))\"/>\n"
            case .failed, .errored:
                let element = result.verdict == .failed ? "failure" : "error"
                let type = result.findings.first?.kind.rawValue ?? "failure"
                xml += "      <\(element) message=\"\(escape(shortMessage(result)))\" type=\"\(escape(type))\">\(escape(body(result)))</\(element)>\n"
            }
            if !result.driverLog.isEmpty {
                xml += "      <system-err>\(escape(result.driverLog))</system-err>\n"
            }
            xml += "    </testcase>\n"
        }
        xml += "  </testsuite>\n</testsuites>\n"
        return xml
    }

    /// At most 200 characters: the first finding's expected vs actual when it has them.
    static func shortMessage(_ result: ScenarioResult) -> String {
        guard let first = result.findings.first else { return result.driverStartFailure ?? "failed" }
        var text: String
        if let expected = first.expected, let actual = first.actual {
            text = "\(first.path ?? first.step ?? first.kind.rawValue): expected \(expected), got \(actual)"
        } else {
            text = first.message
        }
        if result.findings.count > 1 { text += " (+\(result.findings.count - 1) more)" }
        return text.count > 200 ? String(text.prefix(199)) + "…" : text
    }

    /// Every finding, with its location and, where there are two sides, expected and actual.
    static func body(_ result: ScenarioResult) -> String {
        result.findings.map { finding in
            let place = finding.location.map { "\($0)" } ?? ""
            var text = "[\(finding.kind.rawValue)] " + (place.isEmpty || finding.message.contains(place) ? finding.message : "\(place): \(finding.message)")
            if let expected = finding.expected, let actual = finding.actual {
                text += "\n  expected: \(expected)\n  actual:   \(actual)"
            }
            return text
        }.joined(separator: "\n")
    }

    static func seconds(_ value: Double) -> String { String(format: "%.3f", value) }

    /// A classname part: letters, digits, `-` and `_` only (dots separate the parts).
    static func identifier(_ text: String) -> String {
        String(text.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" ? $0 : "_" })
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
                // XML 1.0 cannot hold other control characters, nor the two non-characters.
                if scalar.value < 0x20 || scalar.value == 0xFFFE || scalar.value == 0xFFFF { out += "?" } else { out.unicodeScalars.append(scalar) }
            }
        }
        return out
    }
}
