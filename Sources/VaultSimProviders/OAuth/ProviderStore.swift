import Foundation
import GRDB
import VaultSimCore

/// The providers' own world in one sandbox: what Google, Slack and GitHub know as authorization
/// servers. OAuth clients registered with them, user accounts, authorization codes, access and
/// refresh tokens (refresh tokens in families, for rotation) and revocations.
///
/// It lives in a database of its own (`Sandbox.providerDatabase`), so the vault's store and this
/// one share no table: the vault knows a provider's tokens only from the provider's responses.
public struct ProviderStore: Sendable {
    let writer: any DatabaseWriter

    public init(_ sandbox: Sandbox) {
        self.writer = sandbox.providerDatabase
    }

    /// Creates or upgrades the schema. Idempotent; called once when a sandbox is prepared.
    public static func migrate(_ sandbox: Sandbox) throws {
        try migrator.migrate(sandbox.providerDatabase)
    }

    static var migrator: DatabaseMigrator {
        var migrator = DatabaseMigrator()
        migrator.registerMigration("v1: clients, accounts, codes, tokens") { db in
            try db.create(table: "oauth_clients") { t in
                t.column("provider_id", .text).notNull()
                t.column("client_id", .text).notNull()
                t.column("client_secret", .text).notNull()
                t.column("redirect_uris", .text).notNull()
                t.column("rotate_refresh_tokens", .boolean).notNull()
                t.primaryKey(["provider_id", "client_id"])
            }
            try db.create(table: "accounts") { t in
                t.column("provider_id", .text).notNull()
                t.column("id", .text).notNull()
                t.column("login", .text).notNull()
                t.column("email", .text).notNull()
                t.column("name", .text).notNull()
                t.column("team", .text)
                t.primaryKey(["provider_id", "id"])
                t.uniqueKey(["provider_id", "login"])
            }
            try db.create(table: "authorization_codes") { t in
                t.primaryKey("code", .text)
                t.column("provider_id", .text).notNull()
                t.column("client_id", .text).notNull()
                t.column("account_id", .text).notNull()
                t.column("redirect_uri", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("code_challenge", .text)
                t.column("code_challenge_method", .text)
                t.column("access_token_lifetime", .integer)
                t.column("issued_at", .datetime).notNull()
                t.column("expires_at", .datetime).notNull()
                t.column("used_at", .datetime)
            }
            try db.create(table: "tokens") { t in
                t.primaryKey("token", .text)
                t.column("kind", .text).notNull()
                t.column("provider_id", .text).notNull()
                t.column("client_id", .text).notNull()
                t.column("account_id", .text).notNull()
                t.column("scopes", .text).notNull()
                t.column("family_id", .text).notNull().indexed()
                t.column("code", .text).indexed()
                t.column("issued_at", .datetime).notNull()
                t.column("expires_at", .datetime)
                t.column("rotated_at", .datetime)
                t.column("revoked_at", .datetime)
                t.column("revoked_by", .text)
            }
            try db.create(index: "tokens_by_account", on: "tokens", columns: ["provider_id", "client_id", "account_id"])
        }
        migrator.registerMigration("v2: API credentials of managed-secret APIs") { db in
            try db.create(table: "api_credentials") { t in
                t.autoIncrementedPrimaryKey("id")
                t.column("provider_id", .text).notNull().indexed()
                t.column("credential", .text).notNull()
                t.column("issued_at", .datetime).notNull()
            }
        }
        return migrator
    }
}

// MARK: - Records

/// An application registered with a provider (the sandbox app's OAuth client).
public struct OAuthClientRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "oauth_clients"
    public var providerID: String
    public var clientID: String
    public var clientSecret: String
    public var redirectURIsJSON: String
    /// Whether refresh tokens are single-use (each refresh returns a new one).
    public var rotateRefreshTokens: Bool

    public init(providerID: String, clientID: String, clientSecret: String, redirectURIs: [String], rotateRefreshTokens: Bool) {
        self.providerID = providerID
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.redirectURIsJSON = JSONValue.listText(redirectURIs)
        self.rotateRefreshTokens = rotateRefreshTokens
    }

    public var redirectURIs: [String] { JSONValue.list(fromText: redirectURIsJSON) }

    enum CodingKeys: String, CodingKey {
        case providerID = "provider_id"
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case redirectURIsJSON = "redirect_uris"
        case rotateRefreshTokens = "rotate_refresh_tokens"
    }
}

/// A user account at a provider. `login` is what the provider calls the user in its own terms
/// (an email at Google, a user name at Slack and GitHub).
public struct ProviderAccount: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "accounts"
    public var providerID: String
    public var id: String
    public var login: String
    public var email: String
    public var name: String
    /// The workspace (Slack) the account belongs to.
    public var team: String?

    public init(providerID: String, id: String, login: String, email: String, name: String, team: String? = nil) {
        self.providerID = providerID
        self.id = id
        self.login = login
        self.email = email
        self.name = name
        self.team = team
    }

    enum CodingKeys: String, CodingKey {
        case id, login, email, name, team
        case providerID = "provider_id"
    }
}

public struct AuthorizationCodeRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "authorization_codes"
    public var code: String
    public var providerID: String
    public var clientID: String
    public var accountID: String
    public var redirectURI: String
    public var scopesJSON: String
    public var codeChallenge: String?
    public var codeChallengeMethod: String?
    /// A simulation knob: the lifetime of the first access token (a scenario's `token_lifetime`).
    public var accessTokenLifetime: Int?
    public var issuedAt: Date
    public var expiresAt: Date
    public var usedAt: Date?

    public var scopes: [String] { JSONValue.list(fromText: scopesJSON) }

    enum CodingKeys: String, CodingKey {
        case code
        case providerID = "provider_id"
        case clientID = "client_id"
        case accountID = "account_id"
        case redirectURI = "redirect_uri"
        case scopesJSON = "scopes"
        case codeChallenge = "code_challenge"
        case codeChallengeMethod = "code_challenge_method"
        case accessTokenLifetime = "access_token_lifetime"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case usedAt = "used_at"
    }
}

/// An access or refresh token a provider issued. Tokens issued from one authorization share a
/// `familyID`: reusing a rotated refresh token, or replaying the code, revokes the whole family.
public struct ProviderToken: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Kind: String, Codable, Sendable { case access, refresh }
    public static let databaseTableName = "tokens"

    public var token: String
    public var kind: Kind
    public var providerID: String
    public var clientID: String
    public var accountID: String
    public var scopesJSON: String
    public var familyID: String
    public var code: String?
    public var issuedAt: Date
    public var expiresAt: Date?
    /// A refresh token that was exchanged (rotation); using it again is reuse.
    public var rotatedAt: Date?
    public var revokedAt: Date?
    /// Why it was revoked: `user`, `client`, `code_reuse`, `refresh_token_reuse`, `scenario`.
    public var revokedBy: String?

    public var scopes: [String] { JSONValue.list(fromText: scopesJSON) }

    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && rotatedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }

    enum CodingKeys: String, CodingKey {
        case token, kind, code
        case providerID = "provider_id"
        case clientID = "client_id"
        case accountID = "account_id"
        case scopesJSON = "scopes"
        case familyID = "family_id"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case rotatedAt = "rotated_at"
        case revokedAt = "revoked_at"
        case revokedBy = "revoked_by"
    }
}

// MARK: - Queries

extension ProviderStore {
    public func save(client: OAuthClientRecord) throws {
        try writer.write { try client.save($0) }
    }

    public func client(providerID: String, clientID: String) throws -> OAuthClientRecord? {
        try writer.read { try OAuthClientRecord.fetchOne($0, key: ["provider_id": providerID, "client_id": clientID]) }
    }

    public func clients(providerID: String) throws -> [OAuthClientRecord] {
        try writer.read { try OAuthClientRecord.filter(Column("provider_id") == providerID).fetchAll($0) }
    }

    /// Adds the account, or returns the one the provider already has with that login.
    @discardableResult
    public func ensure(account: ProviderAccount) throws -> ProviderAccount {
        try writer.write { db in
            if let existing = try ProviderAccount
                .filter(Column("provider_id") == account.providerID && Column("login") == account.login).fetchOne(db) {
                return existing
            }
            try account.insert(db)
            return account
        }
    }

    public func account(providerID: String, id: String) throws -> ProviderAccount? {
        try writer.read { try ProviderAccount.fetchOne($0, key: ["provider_id": providerID, "id": id]) }
    }

    public func account(providerID: String, login: String) throws -> ProviderAccount? {
        try writer.read { try ProviderAccount.filter(Column("provider_id") == providerID && Column("login") == login).fetchOne($0) }
    }

    public func accounts(providerID: String) throws -> [ProviderAccount] {
        try writer.read { try ProviderAccount.filter(Column("provider_id") == providerID).order(Column.rowID).fetchAll($0) }
    }

    /// A token the provider issued (any state), or nil.
    public func token(_ value: String, providerID: String) throws -> ProviderToken? {
        try writer.read { try ProviderToken.filter(Column("token") == value && Column("provider_id") == providerID).fetchOne($0) }
    }

    public func allTokens() throws -> [ProviderToken] {
        try writer.read { try ProviderToken.fetchAll($0) }
    }

    /// A credential a managed-secret API issued (and so accepts), as the developer stored it.
    public func register(apiCredential: ManagedSecret, providerID: String, at date: Date) throws {
        let text = String(decoding: try JSONEncoder().encode(apiCredential), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "INSERT INTO api_credentials (provider_id, credential, issued_at) VALUES (?, ?, ?)",
                           arguments: [providerID, text, date])
        }
    }

    /// The credentials a managed-secret API accepts.
    public func apiCredentials(providerID: String) throws -> [ManagedSecret] {
        try writer.read { db in
            try String.fetchAll(db, sql: "SELECT credential FROM api_credentials WHERE provider_id = ? ORDER BY id", arguments: [providerID])
        }.compactMap { try? JSONDecoder().decode(ManagedSecret.self, from: Data($0.utf8)) }
    }

    public func allCodes() throws -> [AuthorizationCodeRecord] {
        try writer.read { try AuthorizationCodeRecord.fetchAll($0) }
    }
}
