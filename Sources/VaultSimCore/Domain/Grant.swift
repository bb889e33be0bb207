import Foundation
import GRDB

/// A grant: the vault's permission to act for one account at one provider (an OAuth
/// connection) or to use one stored credential (a managed secret). Apps refer to it by `id`.
public struct Grant: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Kind: String, Codable, Sendable { case oauth, managedSecret = "managed_secret" }
    /// Where a grant is in its life. Each status other than `active` has its own answer at
    /// `/sdk/token` (PROTOCOL.md §5.3): `revoked` → 403 `grant_revoked`, `credentialRevoked`
    /// (the provider refused the refresh) → 403 `credential_revoked`, `expired` (the grant's TTL
    /// passed) → 403 `grant_expired`, `deleted` (removed by the developer) → 410.
    public enum Status: String, Codable, Sendable, CaseIterable {
        case active, revoked, expired, deleted
        case credentialRevoked = "credential_revoked"

        /// The statuses `list_grants` shows.
        public static let listed: [Status] = [.active, .credentialRevoked, .expired]
    }

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
    /// When an SDK last reported that the provider refused a call for missing scopes
    /// (`report-scope-mismatch`, alter-sdk 0.12+), and the scopes it named (JSON array): the
    /// grant shows `scope_mismatch` until the user authorizes it again.
    public var scopeMismatchReportedAt: Date?
    public var reportedMissingScopesJSON: String?
    /// The person the grant belongs to, as the app's identity provider names them (`sub`): what
    /// identity mode (`provider=` with a user token) resolves a grant by. Nil: nobody's.
    public var userSub: String?

    public init(id: String = SecretGenerator.uuid(), kind: Kind, providerID: String, status: Status = .active,
                accountIdentifier: String? = nil, accountDisplayName: String? = nil, scopes: [String] = [],
                createdAt: Date, expiresAt: Date? = nil) {
        self.id = id
        self.kind = kind
        self.providerID = providerID
        self.status = status
        self.accountIdentifier = accountIdentifier
        self.accountDisplayName = accountDisplayName
        self.scopesJSON = JSONValue.listText(scopes)
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    public var scopes: [String] {
        JSONValue.list(fromText: scopesJSON)
    }

    public var isActive: Bool { status == .active }

    /// Whether `list_grants` shows it: the app needs to see grants that want re-authorization;
    /// revoked and deleted ones are gone from its point of view.
    public var isListed: Bool { Status.listed.contains(status) }

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
        case scopeMismatchReportedAt = "scope_mismatch_reported_at"
        case reportedMissingScopesJSON = "reported_missing_scopes"
        case userSub = "user_sub"
    }

    /// The grant as `then.grants` shows it.
    public var json: JSONValue {
        func s(_ v: String?) -> JSONValue { v.map(JSONValue.string) ?? .null }
        return [
            "grant_id": .string(id), "kind": .string(kind.rawValue), "provider_id": .string(providerID), "status": .string(status.rawValue),
            "account_identifier": s(accountIdentifier), "scopes": .array(scopes.map(JSONValue.string)),
            "created_at": .string(createdAt.rfc3339), "expires_at": s(expiresAt?.rfc3339), "revoke_reason": s(revokeReason),
            "scope_mismatch_reported_at": s(scopeMismatchReportedAt?.rfc3339),
            "reported_missing_scopes": reportedMissingScopesJSON.map { .array(JSONValue.list(fromText: $0).map(JSONValue.string)) } ?? .null,
            "user_sub": s(userSub),
        ]
    }
}
