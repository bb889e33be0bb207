/// An OAuth grant to put in a sandbox, as if a user had completed Alter Connect.
public struct GrantSeed: Codable, Sendable, Equatable {
    public var provider: String
    public var account: String?
    public var displayName: String?
    public var scopes: [String]
    public var status: Grant.Status
    /// Lifetime of the first access token, in seconds; the provider's default when nil.
    public var tokenLifetime: Int?

    /// The grant's own lifetime (its TTL policy), in seconds from when it is made; nil: no TTL.
    public var ttl: Int?
    /// Policies of this grant alone (the app's apply too).
    public var policies: [AccessPolicy] = []
    /// The `sub` of the person the grant belongs to at the app's identity provider (identity mode).
    public var userSub: String?

    /// The longest `tokenLifetime` accepted (ten years), so no date leaves the store's range.
    public static let maxTokenLifetime = 10 * 365 * 86400

    public init(provider: String, account: String? = nil, displayName: String? = nil, scopes: [String] = [],
                status: Grant.Status = .active, tokenLifetime: Int? = nil) {
        self.provider = provider
        self.account = account
        self.displayName = displayName
        self.scopes = scopes
        self.status = status
        self.tokenLifetime = tokenLifetime
    }

    enum CodingKeys: String, CodingKey {
        case provider, account, scopes, status
        case displayName = "display_name"
        case tokenLifetime = "token_lifetime"
        case ttl, policies
        case userSub = "user_sub"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decode(String.self, forKey: .provider)
        account = try c.decodeIfPresent(String.self, forKey: .account)
        displayName = try c.decodeIfPresent(String.self, forKey: .displayName)
        scopes = try c.decodeIfPresent([String].self, forKey: .scopes) ?? []
        status = try c.decodeIfPresent(Grant.Status.self, forKey: .status) ?? .active
        tokenLifetime = try c.decodeIfPresent(Int.self, forKey: .tokenLifetime)
        ttl = try c.decodeIfPresent(Int.self, forKey: .ttl)
        policies = try c.decodeIfPresent([AccessPolicy].self, forKey: .policies) ?? []
        userSub = try c.decodeIfPresent(String.self, forKey: .userSub)
    }
}

/// A managed secret to store in a sandbox, as a developer would in the portal.
/// Secret values left out are generated, so scenario files never hold one.
public struct SecretSeed: Codable, Sendable, Equatable {
    public var provider: String
    public var type: CredentialType
    public var secret: String?
    public var identifier: String?
    public var header: String?
    public var secondaryName: String?
    public var region: String?
    public var service: String?

    public init(provider: String = ProviderCatalog.internalAPI.id, type: CredentialType, secret: String? = nil, identifier: String? = nil,
                header: String? = nil, secondaryName: String? = nil, region: String? = nil, service: String? = nil) {
        self.provider = provider
        self.type = type
        self.secret = secret
        self.identifier = identifier
        self.header = header
        self.secondaryName = secondaryName
        self.region = region
        self.service = service
    }

    enum CodingKeys: String, CodingKey {
        case provider, type, secret, identifier, header, region, service
        case secondaryName = "secondary_name"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        provider = try c.decodeIfPresent(String.self, forKey: .provider) ?? ProviderCatalog.internalAPI.id
        type = try c.decode(CredentialType.self, forKey: .type)
        secret = try c.decodeIfPresent(String.self, forKey: .secret)
        identifier = try c.decodeIfPresent(String.self, forKey: .identifier)
        header = try c.decodeIfPresent(String.self, forKey: .header)
        secondaryName = try c.decodeIfPresent(String.self, forKey: .secondaryName)
        region = try c.decodeIfPresent(String.self, forKey: .region)
        service = try c.decodeIfPresent(String.self, forKey: .service)
    }
}
