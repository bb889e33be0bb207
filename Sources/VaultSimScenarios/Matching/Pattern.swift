import Foundation
import VaultSimCore

/// An expected shape for a JSON value, written in YAML.
///
/// * a scalar matches an equal value (strings may hold `${grants.NAME}` placeholders);
/// * a mapping matches an object that has at least those keys, each matching (a subset match;
///   under a key ending in `headers`, names compare without regard to case);
/// * a list matches an array of the same length, item by item;
/// * a mapping whose keys all start with `$` is a list of operators, all of which must hold:
///   `$present`, `$absent`, `$any`, `$len`, `$contains`, `$not_contains`, `$each`, `$matches`,
///   `$one_of`, `$type`, `$gt`, `$gte`, `$lt`, `$lte`, `$not`.
public indirect enum Pattern: Sendable {
    case equals(JSONValue)
    case object([(key: String, pattern: Pattern)])
    case array([Pattern])
    case all([Operator])

    public enum Operator: Sendable {
        case present(Bool)
        case any
        case length(Int)
        case contains([Pattern])
        case containsText(String)
        case notContainsText(String)
        case each(Pattern)
        case matches(String)
        case oneOf([JSONValue])
        case type(String)
        case compare(String, Double)
        case not(Pattern)
    }

    static let operatorNames = ["$present", "$absent", "$any", "$len", "$contains", "$not_contains", "$each", "$matches",
                                "$one_of", "$type", "$gt", "$gte", "$lt", "$lte", "$not"]

    /// Builds a pattern from YAML, rejecting unknown operators with their location.
    static func parse(_ node: YAMLNode, bindings: Set<String>) throws(ScenarioLoadError) -> Pattern {
        switch node.value {
        case .scalar(let value):
            if case .string(let s) = value { try Placeholders.validate(s, at: node.location, known: bindings) }
            return .equals(value)
        case .sequence(let items):
            var patterns: [Pattern] = []
            for item in items { patterns.append(try parse(item, bindings: bindings)) }
            return .array(patterns)
        case .mapping(let pairs):
            let operatorKeys = pairs.filter { $0.key.hasPrefix("$") }
            if operatorKeys.isEmpty {
                var members: [(key: String, pattern: Pattern)] = []
                for pair in pairs { members.append((pair.key, try parse(pair.value, bindings: bindings))) }
                return .object(members)
            }
            if operatorKeys.count != pairs.count, let plain = pairs.first(where: { !$0.key.hasPrefix("$") }) {
                throw ScenarioLoadError(plain.keyLocation, "a mapping of $-operators cannot also hold the plain key '\(plain.key)'")
            }
            var ops: [Operator] = []
            for pair in pairs { ops.append(try parseOperator(pair.key, pair.value, at: pair.keyLocation, bindings: bindings)) }
            return .all(ops)
        }
    }

    private static func parseOperator(_ key: String, _ node: YAMLNode, at location: SourceLocation,
                                      bindings: Set<String>) throws(ScenarioLoadError) -> Operator {
        let json = node.json
        func number() throws(ScenarioLoadError) -> Double {
            guard case .number(let n) = json else { throw ScenarioLoadError(node.location, "\(key) takes a number") }
            return n
        }
        switch key {
        case "$present":
            guard let b = json.boolValue else { throw ScenarioLoadError(node.location, "$present takes true or false") }
            return .present(b)
        case "$absent":
            guard json.boolValue == true else { throw ScenarioLoadError(node.location, "$absent takes true") }
            return .present(false)
        case "$any":
            return .any
        case "$len":
            guard let n = json.intValue, n >= 0 else { throw ScenarioLoadError(node.location, "$len takes a non-negative integer") }
            return .length(n)
        case "$contains":
            if case .string(let s) = json {
                try Placeholders.validate(s, at: node.location, known: bindings)
                return .containsText(s)
            }
            guard case .sequence(let items) = node.value else {
                throw ScenarioLoadError(node.location, "$contains takes a string (substring) or a list (of items an array must contain)")
            }
            var patterns: [Pattern] = []
            for item in items { patterns.append(try parse(item, bindings: bindings)) }
            return .contains(patterns)
        case "$not_contains":
            guard case .string(let s) = json else { throw ScenarioLoadError(node.location, "$not_contains takes a string") }
            try Placeholders.validate(s, at: node.location, known: bindings)
            return .notContainsText(s)
        case "$each":
            return .each(try parse(node, bindings: bindings))
        case "$matches":
            guard case .string(let s) = json else { throw ScenarioLoadError(node.location, "$matches takes a regular expression string") }
            do { _ = try Regex(s) } catch { throw ScenarioLoadError(node.location, "$matches: invalid regular expression: \(error)") }
            try Placeholders.validate(s, at: node.location, known: bindings)
            return .matches(s)
        case "$one_of":
            guard case .array(let values) = json else { throw ScenarioLoadError(node.location, "$one_of takes a list of values") }
            for case .string(let text) in values { try Placeholders.validate(text, at: node.location, known: bindings) }
            return .oneOf(values)
        case "$type":
            let types = ["null", "boolean", "number", "string", "array", "object"]
            guard case .string(let t) = json, types.contains(t) else {
                throw ScenarioLoadError(node.location, "$type takes one of: \(types.joined(separator: ", "))")
            }
            return .type(t)
        case "$gt", "$gte", "$lt", "$lte":
            return .compare(key, try number())
        case "$not":
            return .not(try parse(node, bindings: bindings))
        default:
            throw ScenarioLoadError(location, "unknown operator '\(key)' (known: \(operatorNames.joined(separator: ", ")))")
        }
    }
}

/// One way an actual value differs from its pattern.
public struct Mismatch: Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    /// What the pattern wanted and what came, where the comparison has two sides to show.
    public var expected: String?
    public var actual: String?
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }

    public init(path: String, message: String, expected: String? = nil, actual: String? = nil) {
        self.path = path
        self.message = message
        self.expected = expected
        self.actual = actual
    }

    /// `expected X, got Y`, keeping both sides.
    static func differs(at path: String, expected: String, actual: String) -> Mismatch {
        Mismatch(path: path, message: "expected \(expected), got \(actual)", expected: expected, actual: actual)
    }
}

extension Pattern {
    /// Matches `actual` (nil: the key is missing) and lists every difference.
    public func mismatches(_ actual: JSONValue?, at path: String = "", bindings: [String: String] = [:]) -> [Mismatch] {
        func fail(_ message: String) -> [Mismatch] { [Mismatch(path: path, message: message)] }
        switch self {
        case .equals(let expected):
            let expected = Placeholders.substitute(expected, bindings)
            guard let actual else {
                return [Mismatch(path: path, message: "missing (expected \(expected.jsonText))", expected: expected.jsonText, actual: "(missing)")]
            }
            return actual == expected ? [] : [.differs(at: path, expected: expected.jsonText, actual: Self.show(actual))]
        case .object(let members):
            guard let actual else { return fail("missing (expected an object)") }
            guard case .object(let object) = actual else { return fail("expected an object, got \(Self.show(actual))") }
            let caseInsensitive = path.lowercased().hasSuffix("headers")
            return members.flatMap { member -> [Mismatch] in
                let value = caseInsensitive
                    ? object.first { $0.key.lowercased() == member.key.lowercased() }?.value
                    : object[member.key]
                return member.pattern.mismatches(value, at: Self.join(path, member.key), bindings: bindings)
            }
        case .array(let items):
            guard let actual else { return fail("missing (expected a list of \(items.count))") }
            guard case .array(let array) = actual else { return fail("expected a list, got \(Self.show(actual))") }
            guard array.count == items.count else { return fail("expected \(items.count) items, got \(array.count): \(Self.show(actual))") }
            return zip(items, array).enumerated().flatMap { index, pair in
                pair.0.mismatches(pair.1, at: "\(path)[\(index)]", bindings: bindings)
            }
        case .all(let ops):
            return ops.flatMap { $0.mismatches(actual, at: path, bindings: bindings) }
        }
    }

    /// True when `actual` matches.
    public func matches(_ actual: JSONValue?, bindings: [String: String] = [:]) -> Bool {
        mismatches(actual, bindings: bindings).isEmpty
    }

    static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    /// A value shown in a message, cut short when long.
    static func show(_ value: JSONValue) -> String {
        let text = value.jsonText
        return text.count > 300 ? String(text.prefix(300)) + "…" : text
    }
}

extension Pattern.Operator {
    func mismatches(_ actual: JSONValue?, at path: String, bindings: [String: String]) -> [Mismatch] {
        func fail(_ message: String) -> [Mismatch] { [Mismatch(path: path, message: message)] }
        switch self {
        case .present(let wanted):
            if wanted { return actual == nil ? fail("missing") : [] }
            return actual.map { fail("expected to be absent, got \(Pattern.show($0))") } ?? []
        case .any:
            return []
        default:
            break
        }
        guard let actual else { return fail("missing") }
        switch self {
        case .present, .any:
            return []
        case .length(let n):
            let count: Int? = switch actual {
            case .array(let a): a.count
            case .object(let o): o.count
            case .string(let s): s.count
            default: nil
            }
            guard let count else { return fail("$len applies to lists, objects and strings, got \(actual.typeName)") }
            return count == n ? [] : [Mismatch(path: path, message: "expected length \(n), got \(count): \(Pattern.show(actual))",
                                               expected: "length \(n)", actual: "length \(count): \(Pattern.show(actual))")]
        case .contains(let patterns):
            guard case .array(let array) = actual else { return fail("expected a list, got \(Pattern.show(actual))") }
            return patterns.enumerated().compactMap { index, pattern in
                let attempts = array.enumerated().map { ($0.offset, pattern.mismatches($0.element, at: "[\($0.offset)]", bindings: bindings)) }
                if attempts.contains(where: { $0.1.isEmpty }) { return nil }
                guard let closest = attempts.min(by: { $0.1.count < $1.1.count }) else {
                    return Mismatch(path: path, message: "no item matches $contains[\(index)]: the list is empty")
                }
                let differences = closest.1.prefix(5).map(\.description).joined(separator: "; ")
                return Mismatch(path: path, message: "no item matches $contains[\(index)]; the closest, item \(closest.0), differs: \(differences)")
            }
        case .containsText(let text):
            let text = Placeholders.substitute(text, bindings)
            guard case .string(let s) = actual else { return fail("expected a string containing \"\(text)\", got \(Pattern.show(actual))") }
            return s.contains(text) ? [] : [Mismatch(path: path, message: "expected to contain \"\(text)\", got \(Pattern.show(actual))",
                                                     expected: "text containing \"\(text)\"", actual: Pattern.show(actual))]
        case .notContainsText(let text):
            let text = Placeholders.substitute(text, bindings)
            return actual.jsonText.contains(text) ? fail("expected not to contain \"\(text)\", got \(Pattern.show(actual))") : []
        case .each(let pattern):
            guard case .array(let array) = actual else { return fail("expected a list, got \(Pattern.show(actual))") }
            return array.enumerated().flatMap { pattern.mismatches($1, at: "\(path)[\($0)]", bindings: bindings) }
        case .matches(let regex):
            guard case .string(let s) = actual else { return fail("expected a string matching /\(regex)/, got \(Pattern.show(actual))") }
            let pattern = Placeholders.substitute(regex, bindings)
            guard let compiled = try? Regex(pattern) else { return fail("invalid regular expression /\(pattern)/") }
            return s.contains(compiled) ? [] : [Mismatch(path: path, message: "expected to match /\(pattern)/, got \(Pattern.show(actual))",
                                                         expected: "/\(pattern)/", actual: Pattern.show(actual))]
        case .oneOf(let values):
            return values.map { Placeholders.substitute($0, bindings) }.contains(actual) ? []
                : [.differs(at: path, expected: "one of \(JSONValue.array(values).jsonText)", actual: Pattern.show(actual))]
        case .type(let name):
            return actual.typeName == name ? [] : [.differs(at: path, expected: "a \(name)", actual: actual.typeName)]
        case .compare(let op, let bound):
            guard case .number(let n) = actual else { return fail("\(op) applies to numbers, got \(Pattern.show(actual))") }
            let holds = switch op {
            case "$gt": n > bound
            case "$gte": n >= bound
            case "$lt": n < bound
            default: n <= bound
            }
            return holds ? [] : [.differs(at: path, expected: "\(op) \(bound)", actual: "\(n)")]
        case .not(let pattern):
            return pattern.matches(actual, bindings: bindings) ? fail("expected not to match, got \(Pattern.show(actual))") : []
        }
    }
}
