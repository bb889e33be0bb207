import Foundation
import VaultSimCore
import Yams

/// Where something is in a scenario file.
public struct SourceLocation: Sendable, Equatable, CustomStringConvertible {
    public var file: String
    public var line: Int
    public var column: Int

    public var description: String { "\(file):\(line):\(column)" }
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

    /// Parses one YAML document. Syntax errors carry the parser's line and column.
    static func parse(_ text: String, file: String) throws(ScenarioLoadError) -> YAMLNode {
        let root: Node?
        do {
            root = try Yams.compose(yaml: text)
        } catch let error as YamlError {
            throw Self.describe(error, file: file)
        } catch {
            throw ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "cannot read YAML: \(error)")
        }
        guard let root else { throw ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "the file is empty") }
        return try convert(root, file: file)
    }

    private static func convert(_ node: Node, file: String) throws(ScenarioLoadError) -> YAMLNode {
        let location = SourceLocation(file: file, line: node.mark?.line ?? 1, column: node.mark?.column ?? 1)
        switch node {
        case .scalar(let scalar):
            let value: JSONValue
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: value = .null
            case .bool: value = node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: value = node.int.map { .number(Double($0)) } ?? .string(scalar.string)
            case .float: value = node.float.map(JSONValue.number) ?? .string(scalar.string)
            default: value = .string(scalar.string)
            }
            return YAMLNode(value: .scalar(value), location: location)
        case .mapping(let mapping):
            var pairs: [(key: String, keyLocation: SourceLocation, value: YAMLNode)] = []
            for (keyNode, valueNode) in mapping {
                let keyLocation = SourceLocation(file: file, line: keyNode.mark?.line ?? location.line, column: keyNode.mark?.column ?? 1)
                guard case .scalar(let key) = keyNode else { throw ScenarioLoadError(keyLocation, "mapping keys must be plain strings") }
                if pairs.contains(where: { $0.key == key.string }) {
                    throw ScenarioLoadError(keyLocation, "duplicate key '\(key.string)'")
                }
                pairs.append((key.string, keyLocation, try convert(valueNode, file: file)))
            }
            return YAMLNode(value: .mapping(pairs), location: location)
        case .sequence(let sequence):
            var items: [YAMLNode] = []
            for item in sequence { items.append(try convert(item, file: file)) }
            return YAMLNode(value: .sequence(items), location: location)
        case .alias:
            throw ScenarioLoadError(location, "YAML aliases are not supported in scenarios; write the value out")
        }
    }

    private static func describe(_ error: YamlError, file: String) -> ScenarioLoadError {
        switch error {
        case let .scanner(context, problem, mark, _), let .parser(context, problem, mark, _), let .composer(context, problem, mark, _):
            let prefix = context.map { "\($0.text) " } ?? ""
            return ScenarioLoadError(SourceLocation(file: file, line: mark.line, column: mark.column), "invalid YAML: \(prefix)\(problem)")
        case let .duplicatedKeysInMapping(duplicates, _):
            return ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "duplicate keys: \(duplicates.joined(separator: ", "))")
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
        guard let value = node(key) else { throw ScenarioLoadError(node.location, "\(context) needs '\(key)'") }
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

    /// Fails on any key that was not read: a typo in a scenario must not pass silently.
    func rejectUnknownKeys(allowed: [String]? = nil) throws(ScenarioLoadError) {
        for pair in pairs where !used.contains(pair.key) {
            let known = (allowed ?? Array(used)).sorted().joined(separator: ", ")
            throw ScenarioLoadError(pair.keyLocation, "unknown key '\(pair.key)' in \(context) (known: \(known))")
        }
    }

    static func string(_ node: YAMLNode, _ what: String) throws(ScenarioLoadError) -> String {
        guard case .scalar(.string(let s)) = node.value else {
            throw ScenarioLoadError(node.location, "\(what) must be a string, found \(node.typeName)")
        }
        return s
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
