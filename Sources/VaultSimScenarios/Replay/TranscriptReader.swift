import Foundation
import VaultSimCore

/// Reads a transcript and says precisely what is wrong with a bad one: which entry, which field.
public enum TranscriptReader {
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public var file: String
        public var message: String
        public var description: String { "\(file): \(message)" }
    }

    /// - Parameter requireOps: refuse a transcript with no driver ops (one `serve --record` wrote): replay needs them.
    public static func read(contentsOf path: String, requireOps: Bool = true) throws(Problem) -> HAR {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw Problem(file: path, message: "cannot read it: \((error as NSError).localizedDescription)")
        }
        return try read(data, name: path, requireOps: requireOps)
    }

    public static func read(_ data: Data, name: String, requireOps: Bool = true) throws(Problem) -> HAR {
        let har: HAR
        do {
            har = try JSONDecoder().decode(HAR.self, from: data)
        } catch let error as DecodingError {
            throw Problem(file: name, message: describe(error))
        } catch {
            throw Problem(file: name, message: "not a HAR file: \(error)")
        }
        guard ["1.1", "1.2"].contains(har.log.version) else {
            throw Problem(file: name, message: "log.version is \"\(har.log.version)\"; a HAR transcript is version 1.2")
        }
        guard let info = har.log.vaultsim else {
            throw Problem(file: name, message: "log._vaultsim is missing: this HAR was not recorded by VaultSim, so there are no driver ops to replay")
        }
        guard info.format == HAR.transcriptFormat else {
            throw Problem(file: name, message: "log._vaultsim.format is \"\(info.format)\"; this VaultSim reads \(HAR.transcriptFormat)")
        }
        if requireOps, info.ops.isEmpty, info.scenario == nil, har.log.entries.contains(where: { $0.vaultsim?.caller == "sdk" }) {
            throw Problem(file: name, message: "log._vaultsim.ops is empty: this transcript was recorded by `vaultsim serve --record` "
                          + "or `vaultsim record --upstream` (the app's own calls, no driver ops), so there is nothing to drive again; "
                          + "replay takes transcripts of `vaultsim run --record`")
        }
        for (index, entry) in har.log.entries.enumerated() {
            let at = "entry \(index) (log.entries[\(index)])"
            guard let meta = entry.vaultsim else { throw Problem(file: name, message: "\(at): _vaultsim is missing (who made the request?)") }
            guard Exchange.Caller(rawValue: meta.caller) != nil else {
                throw Problem(file: name, message: "\(at): _vaultsim.caller is \"\(meta.caller)\"; it is sdk, vault or browser")
            }
            guard entry.request.url.contains("://") else {
                throw Problem(file: name, message: "\(at): request.url \"\(entry.request.url)\" is not an absolute URL")
            }
            if let post = entry.request.postData, post.encoding == "base64", Data(base64Encoded: post.text) == nil {
                throw Problem(file: name, message: "\(at): request.postData.text is not base64, though _encoding says it is")
            }
            if entry.response.content.encoding == "base64", let text = entry.response.content.text, Data(base64Encoded: text) == nil {
                throw Problem(file: name, message: "\(at): response.content.text is not base64, though encoding says it is")
            }
            if let encoding = entry.response.content.encoding, encoding != "base64" {
                throw Problem(file: name, message: "\(at): response.content.encoding is \"\(encoding)\"; only base64 is known")
            }
        }
        for (index, op) in info.ops.enumerated() where op.op.isEmpty || op.group.isEmpty {
            throw Problem(file: name, message: "op \(index) (log._vaultsim.ops[\(index)]): op and group must not be empty")
        }
        return har
    }

    /// `log.entries[3].request.method: missing` from a decoding error's path.
    static func describe(_ error: DecodingError) -> String {
        func path(_ keys: [any CodingKey]) -> String {
            var text = ""
            for key in keys {
                if let index = key.intValue { text += "[\(index)]" } else { text += (text.isEmpty ? "" : ".") + key.stringValue }
            }
            return text.isEmpty ? "the top level" : text
        }
        func entry(_ keys: [any CodingKey]) -> String {
            guard keys.count > 2, keys[1].stringValue == "entries", let index = keys[2].intValue else { return "" }
            return "entry \(index): "
        }
        switch error {
        case .keyNotFound(let key, let context):
            let keys = context.codingPath + [key]
            return "\(entry(keys))\(path(keys)) is missing"
        case .typeMismatch(let type, let context):
            return "\(entry(context.codingPath))\(path(context.codingPath)) is not a \(type) value"
        case .valueNotFound(let type, let context):
            return "\(entry(context.codingPath))\(path(context.codingPath)) is null; a \(type) value is needed"
        case .dataCorrupted(let context):
            return context.codingPath.isEmpty
                ? "not JSON: \(context.underlyingError.map { "\($0)" } ?? context.debugDescription)"
                : "\(entry(context.codingPath))\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}

/// The replay report, as `vaultsim replay` prints it.
public enum ReplayReport {
    public static func text(_ result: ReplayResult) -> String {
        var lines: [String] = []
        let verdict = result.passed ? "REPLAYED" : "DIVERGED"
        lines.append("\(verdict)  \(result.name)  (\(result.entries) entries, \(result.ops) ops, \(String(format: "%.2f", result.seconds)) s"
                     + (result.sdk.isEmpty ? "" : ", \(result.sdk)") + (result.repeats > 0 ? ", \(result.repeats) repeated request(s) answered again" : "") + ")")
        for (number, divergence) in result.divergences.enumerated() {
            let step = divergence.step.map { " in step '\($0)'" } ?? ""
            lines.append("  \(number + 1). \(divergence.kind.rawValue)\(step): \(divergence.request.map { "\($0): " } ?? "")\(divergence.message)")
            if let expected = divergence.expected { lines.append("       expected: \(expected)") }
            if let actual = divergence.actual { lines.append("       actual:   \(actual)") }
            if let closest = divergence.closest {
                lines.append("       closest recorded: entry \(closest.entry), \(closest.request)" + (closest.step.map { " (step '\($0)')" } ?? ""))
                lines.append("         matched: \(closest.matched.isEmpty ? "nothing" : closest.matched.joined(separator: ", "))")
                for difference in closest.differences.prefix(12) {
                    lines.append("         differs: \(difference.field): recorded \(difference.expected), sent \(difference.actual)")
                }
                lines.append("         it would have answered: \(closest.answer)")
            }
        }
        return lines.joined(separator: "\n")
    }
}

extension ReplayReport {
    /// `--against-simulator`: each recorded request, and each field where VaultSim answered otherwise.
    public static func text(_ result: SimulatorComparison.Result) -> String {
        var lines: [String] = []
        let verdict = result.passed ? "SAME" : "DIFFERS"
        lines.append("\(verdict)  \(result.name)  (\(result.compared.count) SDK requests sent again, \(result.differing) answered otherwise, "
                     + "\(String(format: "%.2f", result.seconds)) s)")
        for seeded in result.seeded { lines.append("  seeded: \(seeded)") }
        for note in result.notes { lines.append("  note: \(note)") }
        if result.compared.isEmpty { lines.append("  no SDK request to the vault in this transcript: nothing to compare") }
        for compared in result.compared where !compared.differences.isEmpty {
            lines.append("  entry \(compared.entry) \(compared.request): recorded \(compared.recordedStatus), VaultSim \(compared.status)")
            for difference in compared.differences.prefix(12) {
                lines.append("    \(difference.field): recorded \(difference.expected), VaultSim \(difference.actual)")
            }
        }
        return lines.joined(separator: "\n")
    }
}
