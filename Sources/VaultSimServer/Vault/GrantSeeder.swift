import Foundation
import VaultSimCore
import VaultSimProviders

extension VaultSimServer {
    /// The vault's credential logic for a sandbox, talking to providers through this server.
    public func credentials(_ sandbox: Sandbox) -> CredentialService {
        CredentialService(sandbox: sandbox, transport: transport)
    }

    /// The vault's OAuth callback, registered with every provider as the app's redirect URI.
    public var callbackURL: String { address.baseURL + "/connect/callback" }

    /// Makes a sandbox usable with this server: records the vault's callback on the app's OAuth
    /// provider configs and registers the app's clients with the providers. Run after the
    /// server listens (the callback names its port), for every new or reopened sandbox.
    public func prepare(_ sandbox: Sandbox) throws {
        let callback = callbackURL
        for var config in try sandbox.store.allProviderConfigs() where config.clientID != nil && config.redirectURI != callback {
            config.redirectURI = callback
            try sandbox.store.save(providerConfig: config)
        }
        try directory.prepare(sandbox, redirectURI: callback)
    }

    /// A new in-memory sandbox, prepared.
    public func createSandbox(name: String) throws -> Sandbox {
        let sandbox = try registry.create(name: name)
        do {
            try prepare(sandbox)
        } catch {
            registry.remove(id: sandbox.id)
            throw error
        }
        return sandbox
    }

    /// Adds an OAuth grant the way a user's consent makes one: the account is made at the
    /// provider if it has none by that login, the provider's authorization server issues a code
    /// for the app's client (in process, no browser; with PKCE where the provider supports it),
    /// and the vault exchanges the code over HTTP and reads the account from userinfo. So every
    /// seeded grant holds tokens the provider really issued.
    public func seed(grant seed: GrantSeed, in sandbox: Sandbox) async throws(VaultError) -> Grant {
        guard let provider = directory.oauthProvider(id: seed.provider) else {
            let known = ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")
            throw VaultError.badRequest("'\(seed.provider)' is not an OAuth provider VaultSim simulates (known: \(known))", code: "unknown_provider")
        }
        if let lifetime = seed.tokenLifetime, !(1...GrantSeed.maxTokenLifetime).contains(lifetime) {
            throw VaultError.badRequest("token_lifetime must be 1–\(GrantSeed.maxTokenLifetime) seconds, got \(lifetime)", code: "invalid_seed")
        }
        if let ttl = seed.ttl, !(1...GrantSeed.maxTokenLifetime).contains(ttl) {
            throw VaultError.badRequest("ttl must be 1–\(GrantSeed.maxTokenLifetime) seconds, got \(ttl)", code: "invalid_seed")
        }
        let login = seed.account ?? Self.defaultLogin(provider: seed.provider)
        do {
            guard let config = try sandbox.store.providerConfig(id: seed.provider), let clientID = config.clientID,
                  let redirectURI = config.redirectURI else {
                throw VaultError.badRequest("the app has no OAuth client for \(seed.provider), so no grant can be made for it", code: "provider_not_configured")
            }
            let account = try ProviderStore(sandbox).ensure(account: provider.account(login: login, displayName: seed.displayName))
            let verifier = provider.policy.supportsPKCE ? SecretGenerator.token(64) : nil
            let code = try provider.authorizationServer(sandbox).authorize(.init(
                clientID: clientID, redirectURI: redirectURI, scopes: seed.scopes.isEmpty ? Self.defaultScopes(seed.provider) : seed.scopes,
                accountID: account.id, codeChallenge: verifier.map(AuthorizationServer.s256),
                codeChallengeMethod: verifier == nil ? nil : "S256", accessTokenLifetime: seed.tokenLifetime))
            let grant = try await credentials(sandbox).completeAuthorization(
                providerID: seed.provider, code: code.code, codeVerifier: verifier,
                expiresAt: seed.ttl.map { sandbox.clock.now.addingTimeInterval(TimeInterval($0)) })
            for policy in seed.policies { try sandbox.store.add(policy: policy, grantID: grant.id) }
            if let sub = seed.userSub, try sandbox.store.setOwner(sub, grantID: grant.id) == nil {
                throw VaultError.badRequest("the grant just made is gone", code: "invalid_seed")
            }
            if seed.status != .active {
                return try sandbox.store.setStatus(seed.status, grantID: grant.id, reason: "seeded as \(seed.status.rawValue)",
                                                   at: sandbox.clock.now) ?? grant
            }
            return grant
        } catch let error as VaultError {
            throw error
        } catch let failure as OAuthFailure {
            throw VaultError.badRequest("\(seed.provider) refused the seed's authorization: \(failure)", code: "invalid_seed")
        } catch {
            throw VaultError(status: 500, code: "internal_error", message: "seeding failed: \(type(of: error))")
        }
    }

    /// Stores a managed secret the way a developer does: the API issues the credential (it is
    /// recorded as valid in the API's own store) and the developer stores it in the vault.
    @discardableResult
    public func seed(secret seed: SecretSeed, in sandbox: Sandbox) throws(VaultError) -> Grant {
        do {
            let grant = try sandbox.seed(secret: seed)
            guard let secret = try sandbox.store.managedSecret(grantID: grant.id) else { throw VaultError.grantNotFound(grant.id) }
            try ProviderStore(sandbox).register(apiCredential: secret, providerID: grant.providerID, at: sandbox.clock.now)
            return grant
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(status: 500, code: "internal_error", message: "storing the secret failed: \(type(of: error))")
        }
    }

    /// Adds an account at a provider (a user who exists there), without any grant.
    @discardableResult
    public func addAccount(provider providerID: String, login: String, displayName: String?, in sandbox: Sandbox) throws(VaultError) -> ProviderAccount {
        guard let provider = directory.oauthProvider(id: providerID) else {
            throw VaultError.badRequest("'\(providerID)' is not an OAuth provider VaultSim simulates", code: "unknown_provider")
        }
        do {
            return try ProviderStore(sandbox).ensure(account: provider.account(login: login, displayName: displayName))
        } catch {
            throw VaultError(status: 500, code: "internal_error", message: "adding the account failed: \(type(of: error))")
        }
    }

    /// The user removes the app's access in their account settings at the provider: every token
    /// the provider issued to the app for that account stops working. The vault is not told.
    @discardableResult
    public func revokeAtProvider(provider providerID: String, login: String, in sandbox: Sandbox) throws(VaultError) -> Int {
        guard let provider = directory.oauthProvider(id: providerID) else {
            throw VaultError.badRequest("'\(providerID)' is not an OAuth provider VaultSim simulates", code: "unknown_provider")
        }
        do {
            guard let account = try ProviderStore(sandbox).account(providerID: providerID, login: login) else {
                throw VaultError.notFound("\(providerID) has no account '\(login)'")
            }
            let clientID = try sandbox.store.providerConfig(id: providerID)?.clientID
            return try provider.authorizationServer(sandbox).revokeAccess(accountID: account.id, clientID: clientID, reason: "user")
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(status: 500, code: "internal_error", message: "revoking at the provider failed: \(type(of: error))")
        }
    }

    /// Every secret of the sandbox, the vault's and the providers' (for the leak check).
    public func allSecrets(_ sandbox: Sandbox) throws -> [(label: String, value: String)] {
        var secrets = try sandbox.issuedSecrets()
        let store = ProviderStore(sandbox)
        for token in try store.allTokens() {
            secrets.append(("\(token.providerID) \(token.kind.rawValue) token of account \(token.accountID)", token.token))
        }
        for config in try sandbox.store.allProviderConfigs() {
            if let secret = config.clientSecret { secrets.append(("\(config.providerID) client secret", secret)) }
        }
        return secrets
    }

    /// Every secret of the sandbox, typed, for a transcript's placeholders: the vault's and the
    /// providers' (their access and refresh tokens, authorization codes and client secrets).
    public func redactionSecrets(_ sandbox: Sandbox) throws -> [RedactionSecret] {
        var secrets = try sandbox.vaultRedactionSecrets()
        let store = ProviderStore(sandbox)
        for token in try store.allTokens() {
            secrets.append(RedactionSecret(token.kind == .refresh ? .refreshToken : .accessToken, token.token))
        }
        for code in try store.allCodes() { secrets.append(RedactionSecret(.authorizationCode, code.code)) }
        for config in try sandbox.store.allProviderConfigs() {
            if let secret = config.clientSecret { secrets.append(RedactionSecret(.clientSecret, secret)) }
        }
        return secrets
    }

    static func defaultLogin(provider: String) -> String {
        let name = "user-" + SecretGenerator.token(6).lowercased()
        return provider == "google" ? name + "@example.com" : name
    }

    static func defaultScopes(_ provider: String) -> [String] {
        switch provider {
        case "google": ["openid", "email", "profile"]
        case "slack": ["chat:write", "channels:read"]
        default: ["read:user"]
        }
    }
}
