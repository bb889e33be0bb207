import Foundation

/// The vault's credential logic: turns a grant into a usable credential, refreshing an expired
/// access token through the provider's token endpoint (one refresh per grant at a time), and
/// turns an authorization code into a grant. Knows the provider only through its responses.
public struct CredentialService: Sendable {
    public let sandbox: Sandbox
    public let oauth: ProviderOAuthClient

    public init(sandbox: Sandbox, transport: any ProviderTransport) {
        self.sandbox = sandbox
        self.oauth = ProviderOAuthClient(transport: transport, sandbox: sandbox)
    }

    /// A usable credential for an active OAuth grant, and whether this request refreshed it (a
    /// request that waited for another's refresh did not).
    public func credential(for context: VaultStore.GrantContext) async throws(VaultError) -> (VaultCredential, refreshed: Bool) {
        let grant = context.grant
        guard let credential = context.credential else { throw try dead(grant, "the vault holds no credential for it") }
        if credential.isFresh(at: sandbox.clock.now) { return (credential, false) }
        if sandbox.behaviour.refreshWhileRefreshing == .conflict, sandbox.refreshes.isRunning(grant.id) {
            throw VaultError.refreshInProgress(grant.id)
        }
        guard credential.refreshToken != nil else {
            throw try dead(grant, "the access token expired and the provider gave no refresh token")
        }
        guard let provider = ProviderCatalog.descriptor(id: grant.providerID), let config = context.config else {
            throw VaultError.providerNotConfigured(grant.providerID)
        }
        do {
            // Only the request that started the refresh reports it; the others waited for it.
            let (refreshed, started) = try await sandbox.refreshes.run(grant.id) {
                try await self.refresh(grant: grant, provider: provider, config: config)
            }
            return (refreshed, started)
        } catch let error as VaultError {
            throw error
        } catch {
            throw VaultError(status: 500, code: "internal_error", message: "refreshing the credential failed: \(type(of: error))")
        }
    }

    /// The grant can never give a credential again: it becomes credential_revoked.
    private func dead(_ grant: Grant, _ why: String) throws(VaultError) -> VaultError {
        do {
            try sandbox.store.setStatus(.credentialRevoked, grantID: grant.id, reason: why, at: sandbox.clock.now)
        } catch {
            return Self.storeFailure(error)
        }
        return Self.credentialRevoked(grant.id, grant.providerID, why)
    }

    /// Whether a refresh of this grant is running now (for the vault's 409 mode).
    public func isRefreshing(grantID: String) -> Bool { sandbox.refreshes.isRunning(grantID) }

    private func refresh(grant: Grant, provider: ProviderDescriptor, config: ProviderConfig) async throws -> VaultCredential {
        // Another flight may have refreshed it just before this one started.
        guard let current = try sandbox.store.credential(grantID: grant.id) else {
            throw Self.credentialRevoked(grant.id, grant.providerID, "the vault holds no credential for it")
        }
        if current.isFresh(at: sandbox.clock.now) { return current }
        guard let refreshToken = current.refreshToken else {
            throw Self.credentialRevoked(grant.id, grant.providerID, "the access token expired and the provider gave no refresh token")
        }
        let set: ProviderTokenSet
        do {
            set = try await oauth.refresh(token: refreshToken, provider: provider, config: config)
            if let scopes = set.scopes, !Set(scopes).isSubset(of: current.scopes) {
                throw ProviderOAuthError.unavailable("the refresh answered scopes never granted: \(Set(scopes).subtracting(current.scopes).sorted().joined(separator: " "))")
            }
        } catch let error as ProviderOAuthError {
            if case .invalidGrant(let message) = error {
                // The underlying connection is dead: the grant says so from now on.
                try sandbox.store.setStatus(.credentialRevoked, grantID: grant.id, reason: "\(provider.id) refused the refresh: \(message)",
                                            at: sandbox.clock.now)
            }
            throw Self.vaultError(error, grantID: grant.id, providerID: provider.id)
        }
        let now = sandbox.clock.now
        let renewed = VaultCredential(
            grantID: grant.id, accessToken: set.accessToken, refreshToken: set.refreshToken ?? refreshToken, tokenType: set.tokenType,
            scopes: set.scopes ?? current.scopes, expiresAt: set.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }, obtainedAt: now)
        try sandbox.store.save(credential: renewed)
        return renewed
    }

    /// The end of an authorization: exchanges the code at the provider, asks who the account is,
    /// and stores the grant. Reconnecting an account that already has a grant at this provider
    /// (active, expired, revoked or with a dead credential) keeps that grant's id, replaces its
    /// credential, scopes and TTL, and makes it active; after a deletion a new grant is made.
    public func completeAuthorization(providerID: String, code: String, codeVerifier: String?,
                                      expiresAt: Date? = nil) async throws(VaultError) -> Grant {
        try await authorize(providerID: providerID, code: code, codeVerifier: codeVerifier, expiresAt: expiresAt).grant
    }

    /// `completeAuthorization`, also saying whether an existing grant was re-authorized
    /// (Connect's `operation: reauth`). `repairing` names the grant a repair session
    /// (`repair_grant_id`) replaces the credential of: the account the user authorizes must be
    /// that grant's (409 `repair_account_mismatch` otherwise).
    public func authorize(providerID: String, code: String, codeVerifier: String?, expiresAt: Date? = nil,
                          repairing: String? = nil) async throws(VaultError) -> (grant: Grant, reauthorized: Bool) {
        guard let provider = ProviderCatalog.descriptor(id: providerID), provider.kind == .oauth else {
            throw VaultError.badRequest("'\(providerID)' is not an OAuth provider", code: "unknown_provider")
        }
        let config: ProviderConfig
        do {
            guard let found = try sandbox.store.providerConfig(id: providerID), found.isConfigured else {
                throw VaultError.providerNotConfigured(providerID)
            }
            config = found
        } catch let error as VaultError { throw error } catch { throw Self.storeFailure(error) }
        let set: ProviderTokenSet
        let account: ProviderAccountInfo
        do {
            set = try await oauth.exchange(code: code, codeVerifier: codeVerifier, provider: provider, config: config)
            account = try await oauth.account(accessToken: set.accessToken, provider: provider)
        } catch {
            throw Self.vaultError(error, grantID: nil, providerID: providerID)
        }
        let now = sandbox.clock.now
        do {
            // Re-authorization keeps the grant id (alter-sdk's README), whatever happened to the
            // grant, except after the developer deleted it: then a new grant is made.
            let repaired = try repairing.flatMap { try sandbox.store.grant(id: $0) }
                .flatMap { $0.status != .deleted && $0.providerID == providerID ? $0 : nil }
            if let repaired, repaired.accountIdentifier != account.identifier {
                throw VaultError(status: 409, code: "repair_account_mismatch",
                                 message: "The user authorized \(account.identifier), but the grant being repaired belongs to \(repaired.accountIdentifier ?? "another account")",
                                 details: ["grant_id": .string(repaired.id), "provider_id": .string(providerID)])
            }
            let existing = try repaired ?? sandbox.store.reconnectableGrant(providerID: providerID, accountIdentifier: account.identifier)
            var grant = existing ?? Grant(kind: .oauth, providerID: providerID, accountIdentifier: account.identifier,
                                          accountDisplayName: account.displayName ?? account.identifier, scopes: set.scopes ?? [],
                                          createdAt: now, expiresAt: expiresAt)
            let credential = VaultCredential(
                grantID: grant.id, accessToken: set.accessToken, refreshToken: set.refreshToken, tokenType: set.tokenType,
                scopes: set.scopes ?? [], expiresAt: set.expiresIn.map { now.addingTimeInterval(TimeInterval($0)) }, obtainedAt: now)
            if existing != nil {
                grant.scopesJSON = JSONValue.listText(set.scopes ?? grant.scopes)
                grant.expiresAt = expiresAt
                grant.revokeReason = nil
                try sandbox.store.update(grant: grant, credential: credential)
            } else {
                try sandbox.store.insert(grant: grant, credential: credential)
            }
            return (grant, existing != nil)
        } catch let error as VaultError {
            throw error
        } catch {
            throw Self.storeFailure(error)
        }
    }

    // MARK: errors

    static func credentialRevoked(_ grantID: String, _ providerID: String, _ why: String) -> VaultError {
        VaultError.credentialRevoked(grantID, providerID: providerID, reason: why)
    }

    static func vaultError(_ error: ProviderOAuthError, grantID: String?, providerID: String) -> VaultError {
        var top: [String: JSONValue] = [:]
        if let grantID { top["grant_id"] = .string(grantID) }
        let details: [String: JSONValue] = ["provider_id": .string(providerID), "provider_error": .string(error.description)]
        switch error {
        case .invalidGrant(let message):
            guard let grantID else {
                return VaultError(status: 400, code: "invalid_grant", message: "The provider refused the authorization code: \(message)", details: details)
            }
            var error = VaultError.credentialRevoked(grantID, providerID: providerID, reason: message)
            error.details.merge(details) { _, new in new }
            return error
        case .invalidClient:
            return VaultError(status: 400, code: "invalid_client",
                              message: "\(providerID) refused the app's OAuth client credentials; check the provider configuration",
                              details: details, topLevel: top)
        case .rejected(let code, let message):
            return VaultError(status: 502, code: "provider_error", message: "\(providerID) refused the request: \(code): \(message)",
                              details: details, topLevel: top)
        case .unavailable(let message):
            return VaultError(status: 503, code: "provider_unavailable",
                              message: "\(providerID)'s authorization server is unavailable: \(message)", details: details, topLevel: top)
        }
    }

    static func storeFailure(_ error: any Error) -> VaultError {
        VaultError(status: 500, code: "internal_error", message: "the vault's store failed: \(type(of: error))")
    }
}
