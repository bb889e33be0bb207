import Foundation
import GRDB
import Synchronization

/// One isolated world: the vault's side (an app with its API key, its provider configs, grants,
/// secrets, the credentials providers returned, journals and audit trail) and the providers'
/// side (`providerDatabase`, whose schema and SQL belong to VaultSimProviders), plus its own
/// virtual clock, provider faults and provider data overrides. Nothing in one sandbox is visible
/// from another, and the two sides share no table.
public final class Sandbox: Sendable {
    public let id: String
    public let name: String
    public let app: App
    /// The app's API key, so a runner or `vaultsim serve` can hand it out. The vault checks keys
    /// by their SHA-256 only; the plaintext is also kept in `sandbox_meta` so `serve` can print
    /// it after a restart — `serve` makes its database files readable by the user only.
    public let apiKey: String
    public let store: VaultStore
    /// The providers' own database (authorization-server state); see `ProviderStore`.
    public let providerDatabase: any DatabaseWriter
    public let clock: VirtualClock
    public let faults: FaultBook
    /// Faults of the vault itself (its `/sdk/*` endpoints), matched by path; provider id `vault`.
    public let vaultFaults = FaultBook()
    /// Calls waiting for a person's decision (human-in-the-loop approvals), in memory.
    public let approvals = ApprovalBook()
    /// The app's identity provider and the sign-ins `authenticate()` started, in memory.
    public let identity = IdentityBook()
    /// Credential refreshes in flight, one per grant.
    public let refreshes = SingleFlight<VaultCredential>()
    private let behaviourState = Mutex(VaultBehaviour())
    private let dataOverrides = Mutex<[String: JSONValue]>([:])
    private let stepState = Mutex<String?>(nil)
    private let replayState = Mutex<(any ReplaySource)?>(nil)

    private init(id: String, name: String, app: App, apiKey: String, store: VaultStore, providerDatabase: any DatabaseWriter) {
        self.id = id
        self.name = name
        self.app = app
        self.apiKey = apiKey
        self.store = store
        self.providerDatabase = providerDatabase
        self.clock = VirtualClock()
        self.faults = FaultBook()
    }

    /// An empty in-memory database for the providers' side of a sandbox.
    public static func inMemoryProviderDatabase() throws -> any DatabaseWriter {
        var configuration = Configuration()
        configuration.label = "ProviderStore"
        return try DatabaseQueue(configuration: configuration)
    }

    /// A file database for the providers' side (`vaultsim serve`), WAL with synchronous=NORMAL.
    public static func fileProviderDatabase(at path: String) throws -> any DatabaseWriter {
        var configuration = Configuration()
        configuration.label = "ProviderStore"
        configuration.prepareDatabase { db in try db.execute(sql: "PRAGMA synchronous = NORMAL") }
        return try DatabasePool(path: path, configuration: configuration)
    }

    /// Creates a sandbox in `store` (new), or reopens the one a file store already holds.
    public static func open(name: String, store: VaultStore, providerDatabase: any DatabaseWriter) throws -> Sandbox {
        if let id = try store.meta("sandbox_id"), let key = try store.meta("api_key"), let app = try store.apps().first {
            let sandbox = Sandbox(id: id, name: try store.meta("name") ?? name, app: app, apiKey: key, store: store,
                                  providerDatabase: providerDatabase)
            try sandbox.restoreClock()
            return sandbox
        }
        let id = SecretGenerator.token(12).lowercased()
        let clock = Date()
        let app = App(name: name, createdAt: clock)
        let apiKey = SecretGenerator.apiKey()
        try store.insert(app: app)
        try store.insert(apiKey: APIKeyRecord(keyHash: RequestSigning.sha256Hex(Data(apiKey.utf8)), appID: app.id,
                                              prefix: String(apiKey.prefix(14)), createdAt: clock))
        for provider in ProviderCatalog.all {
            let client = Self.oauthClient(for: provider)
            try store.save(providerConfig: ProviderConfig(
                providerID: provider.id, clientID: client?.id, clientSecret: client?.secret, isConfigured: true))
        }
        try store.setMeta("sandbox_id", id)
        try store.setMeta("name", name)
        try store.setMeta("api_key", apiKey)
        return Sandbox(id: id, name: name, app: app, apiKey: apiKey, store: store, providerDatabase: providerDatabase)
    }

    /// OAuth client credentials shaped like the ones each provider's console hands out.
    static func oauthClient(for provider: ProviderDescriptor) -> (id: String, secret: String)? {
        guard provider.kind == .oauth else { return nil }
        let digits = String((0..<12).map { _ in "0123456789".randomElement()! })
        switch provider.id {
        case "google":
            return ("\(digits)-\(SecretGenerator.token(32).lowercased()).apps.googleusercontent.com", "GOCSPX-" + SecretGenerator.token(28))
        case "slack":
            return ("\(digits).\(digits.reversed().map(String.init).joined())", SecretGenerator.token(32).lowercased())
        case "github":
            return ("Ov23li" + SecretGenerator.token(14), SecretGenerator.token(40).lowercased())
        default:
            return ("vaultsim-\(provider.id)-client", SecretGenerator.token(32))
        }
    }

    /// Keeps the virtual clock's reading in the store, so a reopened sandbox (`vaultsim serve`
    /// after a restart) shows the same virtual time.
    public func saveClock() throws {
        try store.setMeta("clock_offset", String(clock.offsetSeconds))
        try store.setMeta("clock_frozen", clock.isFrozen ? "true" : "false")
    }

    private func restoreClock() throws {
        guard let text = try store.meta("clock_offset"), let offset = TimeInterval(text) else { return }
        clock.set(to: Date().addingTimeInterval(offset))
        clock.freeze(try store.meta("clock_frozen") == "true")
    }

    /// How this sandbox's vault behaves where real vaults may differ (scenario-selectable).
    public var behaviour: VaultBehaviour {
        get { behaviourState.withLock { $0 } }
    }

    public func setBehaviour(_ change: (inout VaultBehaviour) -> Void) {
        behaviourState.withLock { change(&$0) }
    }

    /// The scenario step running now (set by the runner), kept with every exchange journaled.
    public var currentStep: String? { stepState.withLock { $0 } }

    public func setCurrentStep(_ step: String?) {
        stepState.withLock { $0 = step }
    }

    /// When set, recorded answers stand in for the whole simulation (`vaultsim replay`).
    public var replay: (any ReplaySource)? { replayState.withLock { $0 } }

    public func setReplay(_ source: (any ReplaySource)?) {
        replayState.withLock { $0 = source }
    }

    /// The part of the API key after `alter_key_`: a secret that must never leak.
    public var apiKeySecretPart: String { String(apiKey.dropFirst("alter_key_".count)) }
}

// MARK: - Seeding

extension Sandbox {
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

    /// Every secret value the vault of this sandbox holds, with a label saying what it is: the
    /// access and refresh tokens providers returned, managed secrets and the API key's secret
    /// part. The zero-token-leak check searches for each of them (and for the providers' own
    /// records, which VaultSimProviders lists).
    public func issuedSecrets() throws -> [(label: String, value: String)] {
        var secrets: [(label: String, value: String)] = [("the API key", apiKeySecretPart)]
        for credential in try store.allCredentials() {
            secrets.append(("access token of grant \(credential.grantID)", credential.accessToken))
            if let refresh = credential.refreshToken { secrets.append(("refresh token of grant \(credential.grantID)", refresh)) }
        }
        for secret in try store.allManagedSecrets() {
            for value in secret.sensitiveValues {
                secrets.append(("\(secret.type.rawValue) secret of grant \(secret.grantID)", value))
            }
        }
        return secrets
    }
}

/// Choices a vault implementation may make differently, settable per sandbox.
public struct VaultBehaviour: Sendable, Equatable {
    /// What a token request does while a refresh of the same grant is running.
    public enum RefreshWhileRefreshing: String, Sendable, CaseIterable {
        /// Wait for that refresh and hand out its result (single flight).
        case wait
        /// Answer 409 `token_refresh_in_progress` at once.
        case conflict
    }

    /// What a token request does when the grant lacks scopes the app's configuration requires.
    public enum ScopeMismatch: String, Sendable, CaseIterable {
        /// Hand out the token with `scope_mismatch: true` (the SDK raises on a provider 403).
        case flag
        /// Refuse with 403 `scope_mismatch` before any provider call.
        case refuse
    }

    public var refreshWhileRefreshing: RefreshWhileRefreshing = .wait
    public var scopeMismatch: ScopeMismatch = .flag
    /// The address the vault takes callers to come from. VaultSim listens on loopback, so every
    /// real caller is 127.0.0.1; a scenario sets another to exercise IP allowlists.
    public var callerAddress = "127.0.0.1"
    /// When set, the vault answers this sandbox's app only under this base-URL path.
    public var basePath: String?
    /// The app's API key: active, or refused with a typed key error.
    public var apiKey = APIKeyState.active

    public init() {}
}
