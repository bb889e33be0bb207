import Foundation
import VaultSimCore
import Yams
#if canImport(CYaml)
// Yams' own libyaml module, read for its events so that anchors, aliases and duplicate keys are
// refused where they are written, before Yams builds (and expands) a tree. CYaml is a target of
// the Yams package, not a product, so Package.swift cannot name it; SwiftPM hands its module map
// to every target that depends on Yams. Without it, the fallback in `convert` refuses anchors
// with less precise locations.
import CYaml
#endif

/// Where something is in a scenario file.
public struct SourceLocation: Sendable, Equatable, Codable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    /// `file:line:column`; just the file when the problem is the file itself (line 0).
    public var description: String { line > 0 ? "\(file):\(line):\(column)" : file }
}

/// A problem in a scenario file, with the place it was found.
public struct ScenarioLoadError: Error, Sendable, Equatable, CustomStringConvertible {
    public var location: SourceLocation
    public var message: String

    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message
    }

    public var description: String { "\(location): \(message)" }
}

/// A YAML node with its location, converted from Yams' tree into Sendable values.
struct YAMLNode: Sendable {
    enum Value: Sendable {
        case scalar(JSONValue)
        case mapping([(key: String, keyLocation: SourceLocation, value: YAMLNode)])
        case sequence([YAMLNode])
    }

    var value: Value
    var location: SourceLocation

    /// How deep mappings and lists may nest. Scenarios need a handful of levels; the limit keeps
    /// every recursive walk over the tree (here, patterns, JSON text) far from the stack's end.
    static let maxDepth = 64

    /// Parses one YAML document. Syntax errors carry the parser's line and column.
    ///
    /// Anchors and aliases are refused before any tree is built: Yams would expand every alias,
    /// so a few lines of "billion laughs" would grow to gigabytes.
    static func parse(_ text: String, file: String) throws(ScenarioLoadError) -> YAMLNode {
        try screen(text, file: file)
        let parser: Yams.Parser
        let root: Node?
        do {
            parser = try Yams.Parser(yaml: text)
            root = try parser.singleRoot()
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
        }
        // Nodes hold their anchors weakly; the parser owns them. Kept alive so `convert` can still
        // see an anchor (the second line of defence when the event screen is not available).
        defer { withExtendedLifetime(parser) {} }
        guard let root else { throw ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "the file is empty") }
        return try convert(root, file: file)
    }

    static func aliasMessage(anchor name: String) -> String {
        "YAML anchors and aliases are not supported in scenarios (found '&\(name)'); write the value out where it is used"
    }

    static func aliasMessage(alias name: String) -> String {
        "YAML aliases are not supported in scenarios (found '*\(name)'); write the value out where it is used"
    }

    private static func convert(_ node: Node, file: String, depth: Int = 0) throws(ScenarioLoadError) -> YAMLNode {
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        // The tree is walked in document order, so the first anchor is met before any copy of it.
        if let anchor = node.anchor { throw ScenarioLoadError(location, aliasMessage(anchor: anchor.rawValue)) }
        guard depth < maxDepth else { throw ScenarioLoadError(location, "mappings and lists nest deeper than \(maxDepth) levels here") }
        switch node {
        case .scalar(let scalar):
            let value: JSONValue
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: value = .null
            case .bool: value = node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: value = node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case .float:
                if let number = node.float {
                    // JSON has no infinities or NaN, and one would trap where it becomes an Int.
                    guard number.isFinite else {
                        throw ScenarioLoadError(location, "'\(scalar.string)' is not a finite number (JSON has no .inf or .nan); quote it to mean text")
                    }
                    value = .number(number)
                } else {
                    value = .string(scalar.string)
                }
            default: value = .string(scalar.string)
            }
            return YAMLNode(value: .scalar(value), location: location)
        case .mapping(let mapping):
            var pairs: [(key: String, keyLocation: SourceLocation, value: YAMLNode)] = []
            var seen: Set<String> = []
            for (keyNode, valueNode) in mapping {
                let keyLocation = SourceLocation(file: file, line: keyNode.mark?.line ?? location.line, column: keyNode.mark?.column ?? 1)
                guard case .scalar(let key) = keyNode else { throw ScenarioLoadError(keyLocation, "mapping keys must be plain strings") }
                guard seen.insert(key.string).inserted else {
                    throw ScenarioLoadError(keyLocation, "duplicate key '\(key.string)'")
                }
                pairs.append((key.string, keyLocation, try convert(valueNode, file: file, depth: depth + 1)))
            }
            return YAMLNode(value: .mapping(pairs), location: location)
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try convert(item, file: file, depth: depth + 1)) }
            return YAMLNode(value: .sequence(items), location: location)
        case .alias(let alias):
            throw ScenarioLoadError(location, aliasMessage(alias: alias.anchor.rawValue))
        }
    }

    private static func describe(_ error: YamlError, file: String) -> ScenarioLoadError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return ScenarioLoadError(SourceLocation(file: file, line: mark.line, column: mark.column), "invalid YAML: \(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, context):
            // Normally refused earlier, at the duplicate itself (`screen`); Yams names the first one.
            return ScenarioLoadError(SourceLocation(file: file, line: context.mark.line, column: context.mark.column),
                                     "duplicate keys: \(duplicates.joined(separator: ", "))")
        default:
            return ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "invalid YAML: \(error)")
        }
    }

    /// The node as plain JSON (locations dropped).
    var json: JSONValue {
        switch value {
        case .scalar(let v): return v
        case .sequence(let items): return .array(items.map(\.json))
        case .mapping(let pairs): return .object(JSONObject(pairs.map { ($0.key, $0.value.json) }, uniquingKeysWith: { a, _ in a }))
        }
    }

    var typeName: String {
        switch value {
        case .scalar(let v): v.typeName
        case .mapping: "mapping"
        case .sequence: "list"
        }
    }
}

/// Reads a YAML mapping field by field, reporting unknown keys and wrong types with locations.
struct MappingReader {
    let node: YAMLNode
    let context: String
    private let pairs: [(key: String, keyLocation: SourceLocation, value: YAMLNode)]
    private var used: Set<String> = []

    init(_ node: YAMLNode, context: String) throws(ScenarioLoadError) {
        guard case .mapping(let pairs) = node.value else {
            throw ScenarioLoadError(node.location, "\(context) must be a mapping, found \(node.typeName)")
        }
        self.node = node
        self.context = context
        self.pairs = pairs
    }

    var keys: [String] { pairs.map(\.key) }

    mutating func node(_ key: String) -> YAMLNode? {
        used.insert(key)
        return pairs.first { $0.key == key }?.value
    }

    mutating func required(_ key: String) throws(ScenarioLoadError) -> YAMLNode {
        guard let value = node(key) else {
            // A key of the mapping that is one typo away is the likely culprit: point at it.
            if let typo = pairs.first(where: { !used.contains($0.key) && LoadProblems.closest(to: $0.key, among: [key]) != nil }) {
                throw ScenarioLoadError(typo.keyLocation, "\(context) needs '\(key)'; found '\(typo.key)' here (did you mean '\(key)'?)")
            }
            throw ScenarioLoadError(node.location, "\(context) needs '\(key)'")
        }
        return value
    }

    mutating func string(_ key: String) throws(ScenarioLoadError) -> String? {
        guard let value = node(key) else { return nil }
        return try Self.string(value, "\(context).\(key)")
    }

    mutating func requiredString(_ key: String) throws(ScenarioLoadError) -> String {
        try Self.string(try required(key), "\(context).\(key)")
    }

    mutating func int(_ key: String) throws(ScenarioLoadError) -> Int? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let v) = value.value, let n = v.intValue else {
            throw ScenarioLoadError(value.location, "\(context).\(key) must be an integer, found \(value.typeName)")
        }
        return n
    }

    mutating func double(_ key: String) throws(ScenarioLoadError) -> Double? {
        guard let value = node(key) else { return nil }
        guard case .scalar(.number(let n)) = value.value else {
            throw ScenarioLoadError(value.location, "\(context).\(key) must be a number, found \(value.typeName)")
        }
        return n
    }

    /// A number of seconds more than 0 and at most `limit` (`timeout: 2.5`). Anything else,
    /// including a negative or huge number, is refused here rather than trapping where it becomes
    /// a `Duration` or an `Int`.
    mutating func seconds(_ key: String, atMost limit: Double) throws(ScenarioLoadError) -> Double? {
        guard let value = node(key) else { return nil }
        guard case .scalar(.number(let n)) = value.value, n.isFinite, n > 0, n <= limit else {
            throw ScenarioLoadError(value.location, "\(context).\(key) must be a number of seconds more than 0 and at most \(JSONValue.number(limit).jsonText), found \(value.json.jsonText)")
        }
        return n
    }

    mutating func stringList(_ key: String) throws(ScenarioLoadError) -> [String]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let items) = value.value else {
            throw ScenarioLoadError(value.location, "\(context).\(key) must be a list of strings, found \(value.typeName)")
        }
        var strings: [String] = []
        for item in items { strings.append(try Self.string(item, "\(context).\(key) item")) }
        return strings
    }

    /// A mapping of strings to strings (headers, query parameters, context), in the order written.
    mutating func stringMap(_ key: String) throws(ScenarioLoadError) -> JSONObject? {
        guard let value = node(key) else { return nil }
        guard case .mapping(let pairs) = value.value else {
            throw ScenarioLoadError(value.location, "\(context).\(key) must be a mapping, found \(value.typeName)")
        }
        var map = JSONObject()
        for pair in pairs { map[pair.key] = .string(try Self.scalarText(pair.value, "\(context).\(key).\(pair.key)")) }
        return map
    }

    /// Fails on any key that was not read: a typo in a scenario must not pass silently. While a
    /// file is being loaded (`LoadProblems.collecting`), every unknown key is recorded and the
    /// parse goes on, so one run reports them all.
    func rejectUnknownKeys(allowed: [String]? = nil) throws(ScenarioLoadError) {
        let knownKeys = (allowed ?? Array(used)).sorted()
        for pair in pairs where !used.contains(pair.key) && !(allowed?.contains(pair.key) ?? false) {
            let guess = LoadProblems.closest(to: pair.key, among: knownKeys).map { "did you mean '\($0)'? " } ?? ""
            let error = ScenarioLoadError(pair.keyLocation, "unknown key '\(pair.key)' in \(context) (\(guess)known: \(knownKeys.joined(separator: ", ")))")
            guard let sink = LoadProblems.current else { throw error }
            sink.record(error)
        }
    }

    /// `rejectUnknownKeys` where a problem sink is always present (the loader's top level).
    func rejectUnknownKeysRecording(allowed: [String]) {
        do {
            try rejectUnknownKeys(allowed: allowed)
        } catch {
            LoadProblems.current?.record(error)
        }
    }

    static func string(_ node: YAMLNode, _ what: String) throws(ScenarioLoadError) -> String {
        guard case .scalar(.string(let s)) = node.value else {
            throw ScenarioLoadError(node.location, "\(what) must be a string, found \(node.typeName)")
        }
        return s
    }

    static func flag(_ node: YAMLNode, _ what: String) throws(ScenarioLoadError) -> Bool {
        guard case .scalar(.bool(let flag)) = node.value else {
            throw ScenarioLoadError(node.location, "\(what) must be true or false, found \(node.typeName)")
        }
        return flag
    }

    /// A scalar as text: strings as they are, numbers and booleans written out (`10`, `true`).
    static func scalarText(_ node: YAMLNode, _ what: String) throws(ScenarioLoadError) -> String {
        guard case .scalar(let v) = node.value, v != .null else {
            throw ScenarioLoadError(node.location, "\(what) must be a string, number or boolean, found \(node.typeName)")
        }
        switch v {
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        case .number: return v.jsonText
        default: return v.jsonText
        }
    }
}

// MARK: - Screening the event stream

extension YAMLNode {
    /// Reads the document's events, building no tree, and refuses where it is written: an anchor
    /// or alias, a key its mapping already has, a mapping key that is not a scalar, and nesting
    /// deeper than `maxDepth`. A syntax error ends the screen quietly: the parse that follows
    /// reports it in its own words. Linear in the text, whatever the aliases would expand to.
    static func screen(_ text: String, file: String) throws(ScenarioLoadError) {
        #if canImport(CYaml)
        let bytes = Array(text.utf8)
        if let problem = bytes.withUnsafeBufferPointer({ screenEvents($0, file: file) }) { throw problem }
        #endif
    }

    #if canImport(CYaml)
    /// One open mapping or list.
    private struct Level {
        var isMapping: Bool
        var keys: Set<String> = []
        /// In a mapping: whether the next node is a key (else it is the value of the last key).
        var awaitingKey = true
    }

    private static func screenEvents(_ input: UnsafeBufferPointer<UInt8>, file: String) -> ScenarioLoadError? {
        // libyaml asserts a non-null input; an empty file is reported by the parse.
        guard let start = input.baseAddress, !input.isEmpty else { return nil }
        // On the heap: libyaml keeps working state in these between calls.
        let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
        parser.initialize(to: yaml_parser_t())
        defer { parser.deallocate() }
        guard yaml_parser_initialize(parser) == 1 else { return nil }
        defer { yaml_parser_delete(parser) }
        yaml_parser_set_encoding(parser, YAML_UTF8_ENCODING)
        yaml_parser_set_input_string(parser, start, input.count)
        let event = UnsafeMutablePointer<yaml_event_t>.allocate(capacity: 1)
        event.initialize(to: yaml_event_t())
        defer { event.deallocate() }

        var levels: [Level] = []
        while true {
            guard yaml_parser_parse(parser, event) == 1 else { return nil }
            defer { yaml_event_delete(event) }
            let type = event.pointee.type
            let location = SourceLocation(file: file, line: event.pointee.start_mark.line + 1,
                                          column: event.pointee.start_mark.column + 1)
            if type == YAML_STREAM_END_EVENT { return nil }
            if type == YAML_ALIAS_EVENT {
                return ScenarioLoadError(location, aliasMessage(alias: anchorName(event.pointee.data.alias.anchor)))
            }
            if type == YAML_SEQUENCE_END_EVENT || type == YAML_MAPPING_END_EVENT {
                _ = levels.popLast()
                continue
            }
            guard type == YAML_SCALAR_EVENT || type == YAML_SEQUENCE_START_EVENT || type == YAML_MAPPING_START_EVENT else { continue }

            // A node starts.
            let anchor: UnsafeMutablePointer<UInt8>?
            if type == YAML_SCALAR_EVENT {
                anchor = event.pointee.data.scalar.anchor
            } else if type == YAML_SEQUENCE_START_EVENT {
                anchor = event.pointee.data.sequence_start.anchor
            } else {
                anchor = event.pointee.data.mapping_start.anchor
            }
            if let anchor { return ScenarioLoadError(location, aliasMessage(anchor: anchorName(anchor))) }
            if let parent = levels.indices.last, levels[parent].isMapping {
                if levels[parent].awaitingKey {
                    guard type == YAML_SCALAR_EVENT else { return ScenarioLoadError(location, "mapping keys must be plain strings") }
                    let key = String(decoding: UnsafeBufferPointer(start: event.pointee.data.scalar.value,
                                                                   count: event.pointee.data.scalar.length), as: UTF8.self)
                    guard levels[parent].keys.insert(key).inserted else {
                        return ScenarioLoadError(location, "duplicate key '\(key)'")
                    }
                }
                levels[parent].awaitingKey.toggle()
            }
            if type != YAML_SCALAR_EVENT {
                guard levels.count < maxDepth else {
                    return ScenarioLoadError(location, "mappings and lists nest deeper than \(maxDepth) levels here")
                }
                levels.append(Level(isMapping: type == YAML_MAPPING_START_EVENT))
            }
        }
    }

    private static func anchorName(_ pointer: UnsafeMutablePointer<UInt8>?) -> String {
        pointer.map { String(cString: $0) } ?? ""
    }
    #endif
}
