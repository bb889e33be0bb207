import Foundation
import GRDB

/// One `POST /sdk/token` the vault answered: what was asked, by whom, and the outcome
/// (`issued`, or the wire error code it answered with).
public struct TokenRequestRecord: Codable, Sendable, Equatable, FetchableRecord, MutablePersistableRecord {
    public static let databaseTableName = "token_requests"

    public var id: Int64?
    public var receivedAt: Date
    public var grantID: String?
    public var providerID: String?
    public var method: String?
    public var url: String?
    public var reason: String?
    public var caller: String?
    public var callerType: String?
    public var contextHeader: String?
    public var actorID: String?
    public var outcome: String
    public var signingScheme: String?

    public init(receivedAt: Date, grantID: String?, providerID: String?, method: String?, url: String?, reason: String?,
                callerInfo: CallerInfo, outcome: String) {
        self.receivedAt = receivedAt
        self.grantID = grantID
        self.providerID = providerID
        self.method = method
        self.url = url
        self.reason = reason
        self.caller = callerInfo.caller
        self.callerType = callerInfo.callerType
        self.contextHeader = callerInfo.contextHeader
        self.actorID = callerInfo.actorID
        self.outcome = outcome
        self.signingScheme = callerInfo.signingScheme
    }

    public mutating func didInsert(_ inserted: InsertionSuccess) { id = inserted.rowID }

    public var json: JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        return [
            "received_at": .string(receivedAt.rfc3339), "grant_id": s(grantID), "provider_id": s(providerID),
            "method": s(method), "url": s(url), "reason": s(reason), "caller": s(caller), "caller_type": s(callerType),
            "context_header": s(contextHeader), "context": contextHeader.flatMap(JSONValue.parse) ?? .null,
            "actor_id": s(actorID), "outcome": .string(outcome),
            "signing_scheme": s(signingScheme),
        ]
    }

    enum CodingKeys: String, CodingKey {
        case id, method, url, reason, caller, outcome
        case receivedAt = "received_at"
        case grantID = "grant_id"
        case providerID = "provider_id"
        case callerType = "caller_type"
        case contextHeader = "context_header"
        case actorID = "actor_id"
        case signingScheme = "signing_scheme"
    }
}
