import Foundation
import VaultSimCore

/// `${grants.NAME}`, `${secrets.NAME}` and `${sandbox.id}` in scenario strings: values known only
/// once the sandbox exists (grant ids are made fresh for every run).
enum Placeholders {
    nonisolated(unsafe) static let syntax = /\$\{([A-Za-z0-9_.\-]+)\}/  // Regex is immutable once built; only read here

    /// Fails on a placeholder that names nothing the scenario defines, and on a `${` that does not
    /// start a whole placeholder (`${grants.alice` would otherwise reach the SDK as literal text).
    static func validate(_ text: String, at location: SourceLocation, known: Set<String>) throws(ScenarioLoadError) {
        var rest = text[...]
        while let opening = rest.range(of: "${") {
            let tail = rest[opening.lowerBound...]
            guard let match = tail.prefixMatch(of: syntax) else {
                let name = tail.dropFirst(2).prefix(while: isNameCharacter)
                throw ScenarioLoadError(location, name.isEmpty
                    ? "'${' starts no placeholder: write ${NAME} (defined here: \(listing(known)))"
                    : "unterminated placeholder '${\(name)': close it with '}' (defined here: \(listing(known)))")
            }
            let name = String(match.output.1)
            guard known.contains(name) else {
                throw ScenarioLoadError(location, "unknown placeholder '${\(name)}' (defined here: \(listing(known)))")
            }
            rest = tail[match.range.upperBound...]
        }
    }

    /// The characters of a placeholder's name, as `syntax` has them.
    private static func isNameCharacter(_ c: Character) -> Bool {
        c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "." || c == "-")
    }

    private static func listing(_ known: Set<String>) -> String {
        known.isEmpty ? "none" : known.sorted().map { "${\($0)}" }.joined(separator: ", ")
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
