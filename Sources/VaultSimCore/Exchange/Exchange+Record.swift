import Foundation
import GRDB
import HTTPTypes

/// The `exchanges` table: one row per exchange, headers as JSON `[name, value]` pairs in order,
/// bodies as blobs. A row written by hand or by an older VaultSim still decodes: a header list
/// that is not JSON reads as no headers.
extension Exchange: FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "exchanges"

    public init(row: Row) throws {
        let request = Request(
            method: row["method"] ?? "", scheme: row["scheme"] ?? "https", host: row["host"] ?? "", path: row["path"] ?? "/",
            query: row["query"] ?? "", headers: Self.decodeFields(row["request_headers"]), body: row["request_body"] ?? Data())
        let response = Response(status: row["status"] ?? 0, headers: Self.decodeFields(row["response_headers"]),
                                body: row["response_body"] ?? Data(),
                                delay: .milliseconds(row["delay_ms"] as Int? ?? 0), dropped: (row["answered_by"] as String?)?.contains("dropped") == true)
        self.init(caller: Caller(rawValue: row["caller"] ?? "") ?? .sdk, service: row["service"] ?? "", request: request,
                  response: response, answeredBy: row["answered_by"] ?? "", startedAt: row["started_at"] ?? Date(timeIntervalSince1970: 0),
                  seconds: row["seconds"] ?? 0, virtualTime: row["received_at"] ?? Date(timeIntervalSince1970: 0), step: row["step"])
        id = row["id"]
        requestBodySize = row["request_body_size"] ?? request.body.count
        responseBodySize = row["response_body_size"] ?? response.body.count
    }

    public func encode(to container: inout PersistenceContainer) throws {
        container["id"] = id
        container["received_at"] = virtualTime
        container["started_at"] = startedAt
        container["seconds"] = seconds
        container["caller"] = caller.rawValue
        container["service"] = service
        container["step"] = step
        container["method"] = request.method
        container["scheme"] = request.scheme
        container["host"] = request.host
        container["path"] = request.path
        container["query"] = request.query
        container["request_headers"] = Self.encodeFields(request.headers)
        container["request_body"] = request.body
        container["request_body_size"] = requestBodySize
        container["status"] = response.status
        container["response_headers"] = Self.encodeFields(response.headers)
        container["response_body"] = response.body
        container["response_body_size"] = responseBodySize
        container["answered_by"] = answeredBy
        container["delay_ms"] = Int(response.delay.components.seconds * 1000 + response.delay.components.attoseconds / 1_000_000_000_000_000)
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    static func encodeFields(_ fields: HTTPFields) -> String {
        JSONValue.array(pairs(fields).map { [.string($0.0), .string($0.1)] }).jsonText
    }

    static func decodeFields(_ text: String?) -> HTTPFields {
        guard let text, let list = JSONValue.parse(text)?.arrayValue else { return HTTPFields() }
        return fields(list.compactMap { pair in
            guard let items = pair.arrayValue, items.count == 2, let name = items[0].stringValue, let value = items[1].stringValue else { return nil }
            return (name, value)
        })
    }
}
