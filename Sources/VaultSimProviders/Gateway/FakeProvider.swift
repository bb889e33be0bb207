import Foundation
import VaultSimCore

/// A simulated third-party API. It answers requests made with credentials the vault issued in
/// one sandbox, from its fixture data merged with that sandbox's overrides.
public protocol FakeProvider: Sendable {
    var descriptor: ProviderDescriptor { get }
    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse
}

/// The fake providers of one server, by id.
public struct ProviderDirectory: Sendable {
    public let providers: [String: any FakeProvider]
    public let fixtures: FixtureLibrary

    public init(fixtures: FixtureLibrary) {
        self.fixtures = fixtures
        let all: [any FakeProvider] = [GoogleProvider(fixtures: fixtures), InternalAPIProvider(fixtures: fixtures)]
        self.providers = Dictionary(uniqueKeysWithValues: all.map { ($0.descriptor.id, $0) })
    }

    /// The providers with a fake API (the others have grants only, for now).
    public static let simulatedProviderIDs: Set<String> = [ProviderCatalog.google.id, ProviderCatalog.internalAPI.id]

    public func provider(id: String) -> (any FakeProvider)? { providers[id] }
}
