import Foundation

/// The SDK versions a scenario applies to (`requires: {sdk: ">=0.12, <0.22"}`): comparators
/// joined by commas, all of which must hold. Versions are dotted numbers (`0.12`, `0.29.0`);
/// missing parts count as 0, and a pre-release or local suffix (`0.29.0rc1`, `+local`) is
/// ignored after the numbers.
public struct SDKVersionRange: Sendable, Equatable, CustomStringConvertible {
    public enum Comparison: String, Sendable, CaseIterable {
        // Two-character operators first, so `>=` is not read as `>`.
        case atLeast = ">=", atMost = "<=", equal = "==", notEqual = "!=", greater = ">", less = "<"
    }

    public struct Clause: Sendable, Equatable {
        public var comparison: Comparison
        public var version: [Int]
    }

    public var clauses: [Clause]
    public var text: String

    public var description: String { text }

    /// Reads a range; nil with the reason when a clause is not `<op><version>`.
    public static func parse(_ text: String) -> Result<SDKVersionRange, RangeError> {
        var clauses: [Clause] = []
        for raw in text.split(separator: ",", omittingEmptySubsequences: false) {
            let clause = raw.trimmingCharacters(in: .whitespaces)
            guard let comparison = Comparison.allCases.first(where: { clause.hasPrefix($0.rawValue) }) else {
                return .failure(RangeError(message: "'\(clause)' does not start with one of >= <= == != > <"))
            }
            let versionText = clause.dropFirst(comparison.rawValue.count).trimmingCharacters(in: .whitespaces)
            guard let version = Self.version(versionText, strict: true) else {
                return .failure(RangeError(message: "'\(versionText)' in '\(clause)' is not a version such as 0.12 or 0.29.0"))
            }
            clauses.append(Clause(comparison: comparison, version: version))
        }
        return .success(SDKVersionRange(clauses: clauses, text: text))
    }

    public struct RangeError: Error, Sendable, Equatable {
        public var message: String
    }

    /// Whether a version the driver reported is in the range; nil when it is not a version.
    public func contains(_ reported: String) -> Bool? {
        guard let version = Self.version(reported, strict: false) else { return nil }
        return clauses.allSatisfy { clause in
            let order = Self.compare(version, clause.version)
            switch clause.comparison {
            case .atLeast: return order >= 0
            case .atMost: return order <= 0
            case .equal: return order == 0
            case .notEqual: return order != 0
            case .greater: return order > 0
            case .less: return order < 0
            }
        }
    }

    /// Dotted numbers (at most 4 parts); `strict` refuses anything after them.
    static func version(_ text: String, strict: Bool) -> [Int]? {
        let numeric = text.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
        if strict, numeric.count != text.count { return nil }
        let parts = numeric.split(separator: ".", omittingEmptySubsequences: false)
        guard (1...4).contains(parts.count), !numeric.hasSuffix(".") else { return nil }
        var numbers: [Int] = []
        for part in parts {
            guard !part.isEmpty, part.count <= 6, let number = Int(part) else { return nil }
            numbers.append(number)
        }
        return numbers
    }

    static func compare(_ a: [Int], _ b: [Int]) -> Int {
        for index in 0..<max(a.count, b.count) {
            let x = index < a.count ? a[index] : 0, y = index < b.count ? b[index] : 0
            if x != y { return x < y ? -1 : 1 }
        }
        return 0
    }
}
