import Foundation
import VaultSimCore

/// A simulated third-party service, answering for the real host names of its descriptor. It
/// serves one sandbox at a time, from its fixture data merged with that sandbox's overrides and,
/// for OAuth providers, from its own authorization-server state (`ProviderStore`).
public protocol FakeProvider: Sendable {
    var descriptor: ProviderDescriptor { get }
    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse
}

/// A provider that is also an OAuth authorization server.
public protocol OAuthFakeProvider: FakeProvider {
    var policy: OAuthPolicy { get }
    /// The account a scenario or seed names by `login`, made up from the provider's fixtures
    /// (or with generated ids) when the provider has no such account yet.
    func account(login: String, displayName: String?) -> ProviderAccount
}

extension OAuthFakeProvider {
    public func authorizationServer(_ sandbox: Sandbox) -> AuthorizationServer {
        AuthorizationServer(policy: policy, sandbox: sandbox)
    }
}

/// The fake providers of one server, by id.
public struct ProviderDirectory: Sendable {
    public let providers: [String: any FakeProvider]
    public let fixtures: FixtureLibrary

    public init(fixtures: FixtureLibrary) {
        self.fixtures = fixtures
        let all: [any FakeProvider] = [
            GoogleProvider(fixtures: fixtures), SlackProvider(fixtures: fixtures), GitHubProvider(fixtures: fixtures),
            InternalAPIProvider(fixtures: fixtures),
        ]
        self.providers = Dictionary(uniqueKeysWithValues: all.map { ($0.descriptor.id, $0) })
    }

    /// The providers with a fake API.
    public static let simulatedProviderIDs: Set<String> = Set(ProviderCatalog.all.map(\.id))

    public func provider(id: String) -> (any FakeProvider)? { providers[id] }

    public func oauthProvider(id: String) -> (any OAuthFakeProvider)? { providers[id] as? any OAuthFakeProvider }

    /// The provider that owns a real host name.
    public func provider(host: String) -> (any FakeProvider)? {
        ProviderCatalog.descriptor(forHost: host).flatMap { providers[$0.id] }
    }

    /// Registers the sandbox app's OAuth clients with every OAuth provider (the app's client id
    /// and secret from its provider configs, and the vault's callback as the redirect URI) and
    /// migrates the providers' store. Idempotent; run whenever a sandbox is created or reopened.
    public func prepare(_ sandbox: Sandbox, redirectURI: String) throws {
        try ProviderStore.migrate(sandbox)
        let store = ProviderStore(sandbox)
        for provider in providers.values.compactMap({ $0 as? any OAuthFakeProvider }) {
            guard let config = try sandbox.store.providerConfig(id: provider.descriptor.id),
                  let clientID = config.clientID, let secret = config.clientSecret else { continue }
            let existing = try store.client(providerID: provider.descriptor.id, clientID: clientID)
            try store.save(client: OAuthClientRecord(
                providerID: provider.descriptor.id, clientID: clientID, clientSecret: secret,
                redirectURIs: Array(Set((existing?.redirectURIs ?? []) + [redirectURI])).sorted(),
                rotateRefreshTokens: existing?.rotateRefreshTokens ?? provider.policy.rotatesRefreshTokensByDefault))
        }
    }
}
