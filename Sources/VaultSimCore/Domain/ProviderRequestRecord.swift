import Foundation
import GRDB

/// One exchange with a fake provider, as the gateway saw it: who called (`sdk`, `vault`,
/// `browser`), the request, and the response it got (status, headers in order, body).
public struct ProviderRequestRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "provider_requests"

    public var id: Int64?
    public var receivedAt: Date
    public var providerID: String
    /// The real host the request was addressed to.
    public var host: String
    public var caller: String
    public var method: String
    /// The path on the real host, as received (percent-encoding kept).
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Header names in lower case; repeated headers joined with `", "`.
    public var headersJSON: String
    public var body: String
    public var status: Int
    /// What answered: `provider`, or `fault` when a scenario's fault rule did.
    public var answeredBy: String
    /// The response headers as a list of `[name, value]` pairs, in the order sent.
    public var responseHeadersJSON: String
    public var responseBody: String

    public init(receivedAt: Date, providerID: String, host: String, caller: String, method: String, path: String, query: String,
                headers: [String: String], body: String, status: Int, answeredBy: String,
                responseHeaders: [(String, String)], responseBody: String) {
        self.receivedAt = receivedAt
        self.providerID = providerID
        self.host = host
        self.caller = caller
        self.method = method
        self.path = path
        self.query = query
        self.headersJSON = JSONValue.object(headers.mapValues(JSONValue.string)).jsonText
        self.body = body
        self.status = status
        self.answeredBy = answeredBy
        self.responseHeadersJSON = JSONValue.array(responseHeaders.map { [.string($0.0), .string($0.1)] }).jsonText
        self.responseBody = responseBody
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var headers: [String: String] {
        Dictionary(uniqueKeysWithValues: (JSONValue.parse(headersJSON)?.objectValue ?? [:]).compactMap { member in
            member.value.stringValue.map { (member.key, $0) }
        })
    }

    public var responseHeaders: JSONValue { JSONValue.parse(responseHeadersJSON) ?? [] }

    /// Query parameters decoded (`+` and percent-escapes), the last value winning.
    public var queryItems: [String: String] { QueryString.decode(query) }

    public var json: JSONValue {
        [
            "received_at": .string(receivedAt.rfc3339), "provider": .string(providerID), "host": .string(host),
            "caller": .string(caller), "method": .string(method), "url": .string("https://\(host)\(path)" + (query.isEmpty ? "" : "?\(query)")),
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

    enum CodingKeys: String, CodingKey {
        case id, host, caller, method, path, query, body, status
        case receivedAt = "received_at"
        case providerID = "provider_id"
        case headersJSON = "headers"
        case answeredBy = "answered_by"
        case responseHeadersJSON = "response_headers"
        case responseBody = "response_body"
    }
}
