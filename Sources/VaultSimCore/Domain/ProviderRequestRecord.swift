import Foundation
import GRDB

/// One request a fake provider saw (its journal), with the status it answered.
public struct ProviderRequestRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "provider_requests"

    public var id: Int64?
    public var receivedAt: Date
    public var providerID: String
    public var method: String
    /// The path below the provider's mount point, as received (percent-encoding kept).
    public var path: String
    /// The raw query string, without `?`.
    public var query: String
    /// Header names in lower case; repeated headers joined with `", "`.
    public var headersJSON: String
    public var body: String
    public var status: Int
    /// What answered: `provider`, or `fault` when a scenario's fault rule did.
    public var answeredBy: String

    public init(receivedAt: Date, providerID: String, method: String, path: String, query: String,
                headers: [String: String], body: String, status: Int, answeredBy: String) {
        self.receivedAt = receivedAt
        self.providerID = providerID
        self.method = method
        self.path = path
        self.query = query
        self.headersJSON = JSONValue.object(headers.mapValues(JSONValue.string)).jsonText
        self.body = body
        self.status = status
        self.answeredBy = answeredBy
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var headers: [String: String] {
        Dictionary(uniqueKeysWithValues: (JSONValue.parse(headersJSON)?.objectValue ?? [:]).compactMap { member in
            member.value.stringValue.map { (member.key, $0) }
        })
    }

    /// Query parameters decoded (`+` and percent-escapes), the last value winning.
    public var queryItems: [String: String] { QueryString.decode(query) }

    public var json: JSONValue {
        [
            "received_at": .string(receivedAt.rfc3339), "provider": .string(providerID), "method": .string(method),
            "path": .string(path), "query": .object(queryItems.mapValues(JSONValue.string)), "raw_query": .string(query),
            "headers": .object(headers.mapValues(JSONValue.string)), "body": .string(body),
            "json": JSONValue.parse(body) ?? .null, "status": .number(Double(status)), "answered_by": .string(answeredBy),
        ]
    }

    enum CodingKeys: String, CodingKey {
        case id, method, path, query, body, status
        case receivedAt = "received_at"
        case providerID = "provider_id"
        case headersJSON = "headers"
        case answeredBy = "answered_by"
    }
}
