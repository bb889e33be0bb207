import Foundation
import GRDB

/// One `POST /sdk/oauth/audit/api-call` the vault received: the SDK's report of a provider
/// call, with who made it. `payload` is the body exactly as the SDK sent it.
public struct AuditRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "audit_records"

    public var id: Int64?
    public var receivedAt: Date
    public var grantID: String?
    public var caller: String?
    public var callerType: String?
    public var contextHeader: String?
    public var actorID: String?
    public var payloadJSON: String
    public var signingScheme: String?

    /// - Parameter payloadText: the request body as received.
    public init(receivedAt: Date, grantID: String?, callerInfo: CallerInfo, payloadText: String) {
        self.receivedAt = receivedAt
        self.grantID = grantID
        self.caller = callerInfo.caller
        self.callerType = callerInfo.callerType
        self.contextHeader = callerInfo.contextHeader
        self.actorID = callerInfo.actorID
        self.payloadJSON = payloadText
        self.signingScheme = callerInfo.signingScheme
    }

    public var payload: JSONValue { JSONValue.parse(payloadJSON) ?? .null }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    /// The record as scenarios and the control API see it.
    public var json: JSONValue {
        var object = payload.objectValue ?? [:]
        object["received_at"] = .string(receivedAt.rfc3339)
        object["caller"] = caller.map(JSONValue.string) ?? .null
        object["caller_type"] = callerType.map(JSONValue.string) ?? .null
        object["context_header"] = contextHeader.map(JSONValue.string) ?? .null
        object["actor_id"] = actorID.map(JSONValue.string) ?? .null
        object["signing_scheme"] = signingScheme.map(JSONValue.string) ?? .null
        return .object(object)
    }

    enum CodingKeys: String, CodingKey {
        case id
        case receivedAt = "received_at"
        case grantID = "grant_id"
        case caller
        case callerType = "caller_type"
        case contextHeader = "context_header"
        case actorID = "actor_id"
        case payloadJSON = "payload"
        case signingScheme = "signing_scheme"
    }
}
