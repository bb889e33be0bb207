import Foundation
import GRDB

/// A grant: the vault's permission to act for one account at one provider (an OAuth
/// connection) or to use one stored credential (a managed secret). Apps refer to it by `id`.
public struct Grant: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Kind: String, Codable, Sendable { case oauth, managedSecret = "managed_secret" }
    public enum Status: String, Codable, Sendable { case active, revoked }

    public static let databaseTableName = "grants"

    public var id: String
    public var kind: Kind
    public var providerID: String
    public var status: Status
    public var accountIdentifier: String?
    public var accountDisplayName: String?
    public var scopesJSON: String
    public var createdAt: Date
    public var revokedAt: Date?
    public var revokeReason: String?
    public var expiresAt: Date?
    public var lastUsedAt: Date?

    public init(id: String = SecretGenerator.uuid(), kind: Kind, providerID: String, status: Status = .active,
                accountIdentifier: String? = nil, accountDisplayName: String? = nil, scopes: [String] = [],
                createdAt: Date, expiresAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.providerID = providerID
        self.status = status
        self.accountIdentifier = accountIdentifier
        self.accountDisplayName = accountDisplayName
        self.scopesJSON = JSONValue.array(scopes.map(JSONValue.string)).jsonText
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var scopes: [String] {
        (JSONValue.parse(scopesJSON)?.arrayValue ?? []).compactMap(\.stringValue)
    }

    public var isActive: Bool { status == .active }

    enum CodingKeys: String, CodingKey {
        case id, kind, status
        case providerID = "provider_id"
        case accountIdentifier = "account_identifier"
        case accountDisplayName = "account_display_name"
        case scopesJSON = "scopes"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
        case revokeReason = "revoke_reason"
        case expiresAt = "expires_at"
        case lastUsedAt = "last_used_at"
    }
}
