import Foundation
import GRDB

/// An application registered with the vault: it owns API keys, provider configs and grants.
public struct App: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "apps"
    public var id: String
    public var name: String
    public var createdAt: Date

    /// What consent and Connect pages call the app. The dev sandbox's app is named `default`
    /// internally; a person reading "Make sure you trust default" would wonder what that is.
    public var displayName: String { name == "default" ? Self.devSandboxDisplayName : name }

    /// The name pages show for `vaultsim serve`'s default app.
    public static let devSandboxDisplayName = "My App (VaultSim dev sandbox)"

    public init(id: String = SecretGenerator.uuid(), name: String, createdAt: Date) {
        self.id = id
        self.name = name
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case id, name
        case createdAt = "created_at"
    }
}

/// An API key of an app. Only a SHA-256 of the key is stored; the key itself is shown once.
public struct APIKeyRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "api_keys"
    public var keyHash: String
    public var appID: String
    /// The first characters of the key, to tell keys apart in listings.
    public var prefix: String
    public var createdAt: Date
    public var revokedAt: Date?

    public init(keyHash: String, appID: String, prefix: String, createdAt: Date) {
        self.keyHash = keyHash
        self.appID = appID
        self.prefix = prefix
        self.createdAt = createdAt
    }

    enum CodingKeys: String, CodingKey {
        case prefix
        case keyHash = "key_hash"
        case appID = "app_id"
        case createdAt = "created_at"
        case revokedAt = "revoked_at"
    }
}

/// How the app is set up for one provider. An OAuth provider without client credentials is
/// "not configured", and token requests for its grants fail as the guide's troubleshooting says.
public struct ProviderConfig: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "provider_configs"
    public var providerID: String
    public var clientID: String?
    public var clientSecret: String?
    public var isConfigured: Bool
    /// The vault's OAuth callback registered with the provider (set when the server starts).
    public var redirectURI: String?
    /// Scopes the app requires of every grant at this provider (JSON array); a grant lacking
    /// one has drifted (`scope_mismatch`).
    public var requiredScopesJSON: String = "[]"

    public var requiredScopes: [String] {
        get { JSONValue.list(fromText: requiredScopesJSON) }
        set { requiredScopesJSON = JSONValue.listText(newValue) }
    }

    /// The scopes the app's configuration allows at this provider (JSON array; empty: the
    /// provider's defaults). A Connect session may ask for fewer, never for others.
    public var allowedScopesJSON: String = "[]"

    public var allowedScopes: [String] {
        get {
            let stored = JSONValue.list(fromText: allowedScopesJSON)
            return stored.isEmpty ? ProviderCatalog.descriptor(id: providerID)?.oauth?.defaultScopes ?? [] : stored
        }
        set { allowedScopesJSON = JSONValue.listText(newValue) }
    }

    /// The required scopes a grant with `scopes` lacks.
    public func missingScopes(in scopes: [String]) -> [String] {
        requiredScopes.filter { !scopes.contains($0) }
    }

    public init(providerID: String, clientID: String?, clientSecret: String?, isConfigured: Bool, redirectURI: String? = nil) {
        self.providerID = providerID
        self.clientID = clientID
        self.clientSecret = clientSecret
        self.isConfigured = isConfigured
        self.redirectURI = redirectURI
    }

    enum CodingKeys: String, CodingKey {
        case providerID = "provider_id"
        case clientID = "client_id"
        case clientSecret = "client_secret"
        case isConfigured = "is_configured"
        case redirectURI = "redirect_uri"
        case requiredScopesJSON = "required_scopes"
        case allowedScopesJSON = "allowed_scopes"
    }
}

/// An actor (an agent or service named by `X-Alter-Caller`) the vault has seen, with the id it
/// returns in `X-Alter-Actor-ID`.
public struct ActorRecord: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "actors"
    public var id: String
    public var caller: String
    public var callerType: String
    public var firstSeenAt: Date

    enum CodingKeys: String, CodingKey {
        case id, caller
        case callerType = "caller_type"
        case firstSeenAt = "first_seen_at"
    }
}
