import Foundation
import HTTPTypes

/// One HTTP exchange as VaultSim saw it, whoever made it and whoever answered: an SDK's call to
/// the vault (`service` `vault`), or a call to a fake provider from the SDK, the vault or a
/// browser (`service` the provider's id). Headers are kept in order with repeats, bodies as
/// bytes. The gateway's journal, `vaultsim run --record` transcripts and replay all read this.
public struct Exchange: Sendable, Equatable {
    /// Who made the request.
    public enum Caller: String, Sendable, Codable, CaseIterable {
        /// The app, through its SDK.
        case sdk
        /// The vault itself (code exchange, refresh, revoke).
        case vault
        /// A person's browser (consent pages, the hosted Connect pages).
        case browser
    }

    public struct Request: Sendable, Equatable {
        public var method: String
        /// `https` for a provider's real host, `http` for the vault on loopback.
        public var scheme: String
        /// The real host (a provider's), or the vault's address.
        public var host: String
        /// The path as the client wrote it (percent-encoding kept).
        public var path: String
        /// The raw query, without `?`.
        public var query: String
        public var headers: HTTPFields
        public var body: Data

        public init(method: String, scheme: String, host: String, path: String, query: String, headers: HTTPFields, body: Data) {
            self.method = method
            self.scheme = scheme
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }

        public var url: String { "\(scheme)://\(host)\(path)" + (query.isEmpty ? "" : "?\(query)") }

        /// The value of the first header of that name (case-insensitive).
        public func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }
        }

        /// Header names in lower case, repeated headers joined with `", "` (the journal's view).
        public var joinedHeaders: [String: String] { Exchange.joined(headers) }
    }

    public struct Response: Sendable, Equatable {
        public var status: Int
        public var headers: HTTPFields
        public var body: Data
        /// Wait this long before answering (a fault's delay); the exchange is journaled at once.
        public var delay: Duration
        /// The connection is dropped instead of answering (a fault).
        public var dropped: Bool

        public init(status: Int, headers: HTTPFields = [:], body: Data = Data(), delay: Duration = .zero, dropped: Bool = false) {
            self.status = status
            self.headers = headers
            self.body = body
            self.delay = delay
            self.dropped = dropped
        }

        public func header(_ name: String) -> String? {
            HTTPField.Name(name).flatMap { headers[$0] }
        }
    }

    public var id: Int64?
    public var caller: Caller
    /// `vault`, or the id of the fake provider that owns the host.
    public var service: String
    public var request: Request
    public var response: Response
    /// What answered: `vault`, `provider`, `fault`, `fault (dropped connection)` or `replay`.
    public var answeredBy: String
    /// Real time the request arrived, and how long the answer took (real seconds).
    public var startedAt: Date
    public var seconds: Double
    /// The sandbox's virtual time when the request arrived.
    public var virtualTime: Date
    /// The scenario step that was running (`run --record`), if any.
    public var step: String?
    /// Bodies kept are cut at `bodyLimit`; these are the sizes that arrived and left.
    public var requestBodySize: Int
    public var responseBodySize: Int

    /// Bodies over this size are kept cut (their full size is kept too).
    public static let bodyLimit = 1 << 20

    public init(caller: Caller, service: String, request: Request, response: Response, answeredBy: String,
                startedAt: Date, seconds: Double, virtualTime: Date, step: String? = nil) {
        self.caller = caller
        self.service = service
        self.requestBodySize = request.body.count
        self.responseBodySize = response.body.count
        var request = request
        var response = response
        if request.body.count > Self.bodyLimit { request.body = request.body.prefix(Self.bodyLimit) }
        if response.body.count > Self.bodyLimit { response.body = response.body.prefix(Self.bodyLimit) }
        self.request = request
        self.response = response
        self.answeredBy = answeredBy
        self.startedAt = startedAt
        self.seconds = seconds
        self.virtualTime = virtualTime
        self.step = step
    }

    public var isProviderCall: Bool { service != "vault" }

    /// Header names in lower case, repeated headers joined with `", "`.
    public static func joined(_ fields: HTTPFields) -> [String: String] {
        var joined: [String: String] = [:]
        for field in fields {
            let name = field.name.canonicalName
            joined[name] = joined[name].map { "\($0), \(field.value)" } ?? field.value
        }
        return joined
    }

    /// Fields from `[name, value]` pairs; a name HTTP does not allow is skipped.
    public static func fields(_ pairs: [(String, String)]) -> HTTPFields {
        var fields = HTTPFields()
        for (name, value) in pairs {
            if let name = HTTPField.Name(name) { fields.append(HTTPField(name: name, value: value)) }
        }
        return fields
    }

    /// `[name, value]` pairs in order, names as the sender wrote them.
    public static func pairs(_ fields: HTTPFields) -> [(String, String)] {
        fields.map { ($0.name.rawName, $0.value) }
    }
}

// MARK: - The journal's view

extension Exchange {
    /// Bodies as the journal shows them: text, or a note for a body cut or not UTF-8.
    static func journalText(_ data: Data, size: Int) -> String {
        size > data.count ? "<\(size) bytes, not journaled>" : String(decoding: data, as: UTF8.self)
    }

    public var method: String { request.method }
    public var host: String { request.host }
    public var path: String { request.path }
    public var query: String { request.query }
    public var status: Int { response.status }
    public var providerID: String { service }
    public var headers: [String: String] { request.joinedHeaders }
    public var body: String { Self.journalText(request.body, size: requestBodySize) }
    public var responseBody: String { Self.journalText(response.body, size: responseBodySize) }

    /// Query parameters decoded (`+` and percent-escapes), the last value winning.
    public var queryItems: [String: String] { QueryString.decode(request.query) }

    /// A gateway journal entry as `then.provider_requests` and the control API show it.
    public var json: JSONValue {
        let responseHeaders = JSONValue.array(Self.pairs(response.headers).map { [.string($0.0.lowercased()), .string($0.1)] })
        return [
            "received_at": .string(virtualTime.rfc3339), "provider": .string(service), "host": .string(host),
            "caller": .string(caller.rawValue), "method": .string(method), "url": .string(request.url),
            "path": .string(path), "query": .object(queryItems.mapValues(JSONValue.string)), "raw_query": .string(query),
            "headers": .object(headers.mapValues(JSONValue.string)), "body": .string(body),
            "json": JSONValue.parse(body) ?? .null, "form": .object(QueryString.decode(body).mapValues(JSONValue.string)),
            "status": .number(Double(status)), "answered_by": .string(answeredBy),
            "response": [
                "status": .number(Double(status)), "headers": responseHeaders, "body": .string(responseBody),
                "json": JSONValue.parse(responseBody) ?? .null,
            ],
        ]
    }
}
