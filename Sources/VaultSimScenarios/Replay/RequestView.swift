import Foundation
import VaultSimCore

/// A request as replay compares it: what carries meaning, with volatile parts left out or
/// normalised (see docs/replay.md, "What is compared").
///
/// - method, and the target: `vault /sdk/token`, or `www.googleapis.com /calendar/v3/…`;
/// - the query as sorted, decoded pairs;
/// - the body: JSON compared as data (with `latency_ms` anywhere, and `date`, `server` and
///   `content-length` in a `response_headers` object, left out), a form as sorted pairs, other
///   text as it is, bytes as base64;
/// - every header except the volatile ones (`volatileHeaders`); `Authorization: Basic` is
///   compared decoded, a SigV4 `Authorization` without its date and signature.
public struct RequestView: Sendable, Hashable {
    public var method: String
    public var target: String
    public var query: [String]
    public var body: Body
    /// `name: value`, names in lower case, sorted by name (values of one name in order).
    public var headers: [String: [String]]

    public enum Body: Sendable, Hashable {
        case none
        case json(JSONValue)
        case form([String])
        case text(String)
        case bytes(String)

        var summary: String {
            switch self {
            case .none: "(no body)"
            case .json(let value): value.jsonText
            case .form(let pairs): pairs.joined(separator: "&")
            case .text(let text): text
            case .bytes(let base64): "<bytes, base64 \(base64.prefix(40))…>"
            }
        }
    }

    /// Headers that change from run to run, or that the HTTP stack and not the SDK chooses.
    public static let volatileHeaders: Set<String> = [
        "host", "user-agent", "content-length", "accept-encoding", "connection", "date", "keep-alive", "te", "transfer-encoding",
        "x-alter-timestamp", "x-alter-nonce", "x-alter-signature", "x-alter-signature-v2", "x-alter-content-sha256",
        "x-amz-date", "x-amz-content-sha256", "traceparent", "tracestate", "x-request-id",
    ]

    /// JSON members that change from run to run (anywhere), and those inside a `response_headers` object.
    static let volatileMembers: Set<String> = ["latency_ms"]
    static let volatileRecordedHeaders: Set<String> = ["date", "server", "content-length"]

    public init(method: String, service: String, host: String, path: String, query: String, headers: [(String, String)],
                body: Data, contentType: String?) {
        self.method = method.uppercased()
        self.target = service == "vault" ? "vault \(path)" : "\(host.lowercased()) \(path)"
        self.query = QueryString.pairs(query).map { "\($0.name)=\($0.value)" }.sorted()
        var kept: [String: [String]] = [:]
        for (name, value) in headers {
            let lower = name.lowercased()
            guard !Self.volatileHeaders.contains(lower), !lower.hasPrefix("x-vaultsim-"), !lower.hasPrefix("proxy-") else { continue }
            kept[lower, default: []].append(Self.normalise(header: lower, value: value))
        }
        self.headers = kept
        self.body = Self.body(body, contentType: contentType)
    }

    static func normalise(header name: String, value: String) -> String {
        // A JSON header (the SDK's `X-Alter-Context`) compares as data: its members in any order.
        if let first = value.first, first == "{" || first == "[", let json = JSONValue.parse(value) { return json.sortedKeys.jsonText }
        guard name == "authorization" else { return value }
        if value.lowercased().hasPrefix("basic "), let data = Data(base64Encoded: String(value.dropFirst(6))),
           let text = String(data: data, encoding: .utf8) {
            return "Basic (decoded) \(text)"
        }
        if value.hasPrefix("AWS4-HMAC-SHA256") {
            // Credential=AKID/20261207/region/service/aws4_request: the date goes, and the signature.
            var parts: [String] = []
            for part in value.dropFirst("AWS4-HMAC-SHA256".count).split(separator: ",") {
                let item = part.trimmingCharacters(in: .whitespaces)
                if item.hasPrefix("Signature=") {
                    parts.append("Signature=<signature>")
                } else if item.hasPrefix("Credential=") {
                    var scope = item.dropFirst("Credential=".count).split(separator: "/", omittingEmptySubsequences: false).map(String.init)
                    if scope.count > 1 { scope[1] = "<date>" }
                    parts.append("Credential=" + scope.joined(separator: "/"))
                } else {
                    parts.append(item)
                }
            }
            return "AWS4-HMAC-SHA256 " + parts.joined(separator: ", ")
        }
        return value
    }

    static func body(_ data: Data, contentType: String?) -> Body {
        guard !data.isEmpty else { return .none }
        let type = contentType?.lowercased() ?? ""
        if type.hasPrefix("application/x-www-form-urlencoded") {
            return .form(QueryString.pairs(data).map { "\($0.name)=\($0.value)" }.sorted())
        }
        if let json = JSONValue.parse(data) { return .json(withoutVolatile(json)) }
        if let text = String(data: data, encoding: .utf8) { return .text(text) }
        return .bytes(data.base64EncodedString())
    }

    /// A JSON body without what changes from run to run; `dropping` is the header names to leave
    /// out of a headers object (an audit record's `request_headers` and `response_headers`).
    static func withoutVolatile(_ value: JSONValue, dropping: Set<String> = []) -> JSONValue {
        switch value {
        case .object(let members):
            var kept = JSONObject()
            for (name, member) in members {
                if volatileMembers.contains(name) { continue }
                if dropping.contains(name.lowercased()) { continue }
                kept[name] = withoutVolatile(member, dropping: name == "response_headers" ? volatileRecordedHeaders
                                                : name == "request_headers" ? volatileHeaders : [])
            }
            return .object(kept)
        case .array(let items):
            return .array(items.map { withoutVolatile($0) })
        case .string(let text) where text.hasPrefix("<transport error:"):
            // The SDK's audit record of a failed call says how long it waited: `timeout after 1014ms`.
            return .string(text.replacing(/[0-9]+/, with: "N"))
        default:
            return value
        }
    }

    /// One field that differs: where, what was recorded, what arrived.
    public struct Difference: Sendable, Equatable, CustomStringConvertible {
        public var field: String
        public var expected: String
        public var actual: String

        public var description: String { "\(field): expected \(expected), got \(actual)" }
    }

    /// The fields compared, for "what matched".
    public static let fieldNames = ["method", "target", "query", "body", "headers"]

    /// What differs from `recorded` (nothing when the request matches).
    public func differences(from recorded: RequestView) -> [Difference] {
        var found: [Difference] = []
        if method != recorded.method { found.append(Difference(field: "method", expected: recorded.method, actual: method)) }
        if target != recorded.target { found.append(Difference(field: "target", expected: recorded.target, actual: target)) }
        if query != recorded.query {
            found.append(Difference(field: "query", expected: Self.show(recorded.query), actual: Self.show(query)))
        }
        found += Self.bodyDifferences(recorded.body, body)
        for name in Set(headers.keys).union(recorded.headers.keys).sorted() where headers[name] != recorded.headers[name] {
            found.append(Difference(field: "header \(name)", expected: recorded.headers[name].map(Self.show) ?? "(absent)",
                                    actual: headers[name].map(Self.show) ?? "(absent)"))
        }
        return found
    }

    static func show(_ values: [String]) -> String {
        values.isEmpty ? "(none)" : values.map { "\"\($0)\"" }.joined(separator: ", ")
    }

    static func bodyDifferences(_ expected: Body, _ actual: Body) -> [Difference] {
        guard expected != actual else { return [] }
        switch (expected, actual) {
        case (.json(let e), .json(let a)):
            return jsonDifferences(e, a, at: "body")
        case (.form(let e), .form(let a)):
            let missing = e.filter { !a.contains($0) }, extra = a.filter { !e.contains($0) }
            return [Difference(field: "body (form)", expected: show(missing), actual: show(extra))]
        default:
            return [Difference(field: "body", expected: String(expected.summary.prefix(300)), actual: String(actual.summary.prefix(300)))]
        }
    }

    /// Each path where two JSON values differ (`body.request.url`), as data: member order does not count.
    static func jsonDifferences(_ expected: JSONValue, _ actual: JSONValue, at path: String) -> [Difference] {
        switch (expected, actual) {
        case (.object(let e), .object(let a)):
            var found: [Difference] = []
            for name in Set(e.keys).union(a.keys).sorted() {
                let child = "\(path).\(name)"
                switch (e[name], a[name]) {
                case (let x?, let y?): found += jsonDifferences(x, y, at: child)
                case (let x?, nil): found.append(Difference(field: child, expected: x.jsonText, actual: "(absent)"))
                case (nil, let y?): found.append(Difference(field: child, expected: "(absent)", actual: y.jsonText))
                case (nil, nil): break
                }
            }
            return found
        case (.array(let e), .array(let a)) where e.count == a.count:
            return zip(e, a).enumerated().flatMap { jsonDifferences($0.element.0, $0.element.1, at: "\(path)[\($0.offset)]") }
        default:
            return expected == actual ? [] : [Difference(field: path, expected: String(expected.jsonText.prefix(300)),
                                                          actual: String(actual.jsonText.prefix(300)))]
        }
    }
}
