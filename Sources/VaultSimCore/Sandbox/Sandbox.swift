import Foundation
import Synchronization

/// One isolated vault world: an app with its API key, its provider configs, grants, secrets,
/// tokens, journals and audit trail, plus its own virtual clock, provider faults and provider
/// data overrides. Nothing in one sandbox is visible from another.
public final class Sandbox: Sendable {
    public let id: String
    public let name: String
    public let app: App
    /// The app's API key. Kept in memory only so a runner or `vaultsim serve` can hand it out.
    public let apiKey: String
    public let store: VaultStore
    public let clock: VirtualClock
    public let faults: FaultBook
    private let dataOverrides = Mutex<[String: JSONValue]>([:])

    private init(id: String, name: String, app: App, apiKey: String, store: VaultStore) {
        self.id = id
        self.name = name
        self.app = app
        self.apiKey = apiKey
        self.store = store
        self.clock = VirtualClock()
        self.faults = FaultBook()
    }

    /// Creates a sandbox in `store` (new), or reopens the one a file store already holds.
    public static func open(name: String, store: VaultStore) throws -> Sandbox {
        if let id = try store.meta("sandbox_id"), let key = try store.meta("api_key"), let app = try store.apps().first {
            return Sandbox(id: id, name: try store.meta("name") ?? name, app: app, apiKey: key, store: store)
        }
        let id = SecretGenerator.token(12).lowercased()
        let clock = Date()
        let app = App(name: name, createdAt: clock)
        let apiKey = SecretGenerator.apiKey()
        try store.insert(app: app)
        try store.insert(apiKey: APIKeyRecord(keyHash: RequestSigning.sha256Hex(Data(apiKey.utf8)), appID: app.id,
                                              prefix: String(apiKey.prefix(14)), createdAt: clock))
        for provider in ProviderCatalog.all {
            let isOAuth = provider.kind == .oauth
            try store.save(providerConfig: ProviderConfig(
                providerID: provider.id, clientID: isOAuth ? "vaultsim-\(provider.id)-client" : nil,
                clientSecret: isOAuth ? SecretGenerator.token(32) : nil, isConfigured: true))
        }
        try store.setMeta("sandbox_id", id)
        try store.setMeta("name", name)
        try store.setMeta("api_key", apiKey)
        return Sandbox(id: id, name: name, app: app, apiKey: apiKey, store: store)
    }

    /// The part of the API key after `alter_key_`: a secret that must never leak.
    public var apiKeySecretPart: String { String(apiKey.dropFirst("alter_key_".count)) }
}

// MARK: - Seeding

extension Sandbox {
    /// Adds an OAuth grant with tokens issued as its provider would issue them.
    @discardableResult
    public func seed(grant seed: GrantSeed) throws -> Grant {
        guard let provider = ProviderCatalog.descriptor(id: seed.provider), provider.kind == .oauth else {
            throw VaultError.badRequest("'\(seed.provider)' is not an OAuth provider VaultSim simulates "
                + "(known: \(ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")))",
                code: "unknown_provider")
        }
        let now = clock.now
        let grant = Grant(kind: .oauth, providerID: provider.id, accountIdentifier: seed.account,
                          accountDisplayName: seed.displayName ?? seed.account, scopes: seed.scopes, createdAt: now)
        try store.insert(grant: grant)
        try issueAccessToken(for: grant, lifetime: seed.tokenLifetime)
        try store.insert(token: IssuedToken(token: "1//" + SecretGenerator.token(64), kind: .refresh, grantID: grant.id,
                                            providerID: provider.id, scopes: seed.scopes, issuedAt: now, expiresAt: nil))
        if seed.status == .revoked {
            return try store.revoke(grantID: grant.id, reason: "seeded as revoked", at: now) ?? grant
        }
        return grant
    }

    /// Stores a managed secret; values left out of the seed are generated.
    @discardableResult
    public func seed(secret seed: SecretSeed) throws -> Grant {
        guard let provider = ProviderCatalog.descriptor(id: seed.provider), provider.kind == .managed else {
            throw VaultError.badRequest("'\(seed.provider)' is not a managed-secret API VaultSim simulates "
                + "(known: \(ProviderCatalog.all.filter { $0.kind == .managed }.map(\.id).joined(separator: ", ")))",
                code: "unknown_provider")
        }
        let grant = Grant(kind: .managedSecret, providerID: provider.id, createdAt: clock.now)
        var secret = ManagedSecret(grantID: grant.id, type: seed.type, secret: seed.secret ?? "sk_" + SecretGenerator.token(40),
                                   identifier: seed.identifier, headerName: seed.header, secondaryName: seed.secondaryName,
                                   region: seed.region, service: seed.service)
        switch seed.type {
        case .basic: secret.identifier = secret.identifier ?? "svc-" + SecretGenerator.token(6).lowercased()
        case .keyPair: secret.identifier = secret.identifier ?? "kid_" + SecretGenerator.token(16)
        case .sigv4:
            secret.identifier = secret.identifier ?? "AKIA" + SecretGenerator.token(16).uppercased()
            secret.region = secret.region ?? "us-east-1"
            secret.service = secret.service ?? "execute-api"
        case .bearer, .apiKeyHeader, .apiKeyQuery: break
        }
        try store.insert(grant: grant)
        try store.insert(secret: secret)
        return grant
    }

    /// Issues a fresh access token for an OAuth grant, as the provider's token endpoint would.
    @discardableResult
    public func issueAccessToken(for grant: Grant, lifetime: Int? = nil) throws -> IssuedToken {
        let provider = ProviderCatalog.descriptor(id: grant.providerID)
        let now = clock.now
        let token = IssuedToken(
            token: SecretGenerator.accessToken(prefix: provider?.accessTokenPrefix ?? ""), kind: .access, grantID: grant.id,
            providerID: grant.providerID, scopes: grant.scopes, issuedAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(lifetime ?? provider?.accessTokenLifetime ?? 3600)))
        try store.insert(token: token)
        return token
    }
}

// MARK: - Provider data and secrets

extension Sandbox {
    /// Replaces (by deep merge over the fixtures) the data a fake provider serves in this sandbox.
    public func overrideData(provider: String, with data: JSONValue) {
        dataOverrides.withLock { overrides in
            overrides[provider] = overrides[provider].map { $0.merging(data) } ?? data
        }
    }

    public func dataOverride(provider: String) -> JSONValue? {
        dataOverrides.withLock { $0[provider] }
    }

    /// Every secret value this sandbox handed out, with a label saying what it is: access and
    /// refresh tokens, managed secrets and the API key's secret part. The zero-token-leak check
    /// searches for each of them.
    public func issuedSecrets() throws -> [(label: String, value: String)] {
        var secrets: [(label: String, value: String)] = [("the API key", apiKeySecretPart)]
        for token in try store.allIssuedTokens() {
            secrets.append(("\(token.kind.rawValue) token of grant \(token.grantID)", token.token))
        }
        for secret in try store.allManagedSecrets() {
            for value in secret.sensitiveValues {
                secrets.append(("\(secret.type.rawValue) secret of grant \(secret.grantID)", value))
            }
        }
        return secrets
    }
}
