import Foundation
import VaultSimCore

/// `${grants.NAME}`, `${secrets.NAME}` and `${sandbox.id}` in scenario strings: values known only
/// once the sandbox exists (grant ids are made fresh for every run).
enum Placeholders {
    nonisolated(unsafe) static let syntax = /\$\{([A-Za-z0-9_.\-]+)\}/  // Regex is immutable once built; only read here

    /// Fails on a placeholder that names nothing the scenario defines.
    static func validate(_ text: String, at location: SourceLocation, known: Set<String>) throws(ScenarioLoadError) {
        for match in text.matches(of: syntax) {
            let name = String(match.output.1)
            guard known.contains(name) else {
                let names = known.sorted().map { "${\($0)}" }.joined(separator: ", ")
                throw ScenarioLoadError(location, "unknown placeholder '${\(name)}' (defined here: \(names.isEmpty ? "none" : names))")
            }
        }
    }

    static func substitute(_ text: String, _ bindings: [String: String]) -> String {
        guard text.contains("${") else { return text }
        return text.replacing(syntax) { match in bindings[String(match.output.1)] ?? String(match.output.0) }
    }

    static func substitute(_ value: JSONValue, _ bindings: [String: String]) -> JSONValue {
        switch value {
        case .string(let s): .string(substitute(s, bindings))
        case .array(let a): .array(a.map { substitute($0, bindings) })
        case .object(let o): .object(o.mapValues { substitute($0, bindings) })
        default: value
        }
    }
}
