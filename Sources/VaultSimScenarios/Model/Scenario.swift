import Foundation
import VaultSimCore

/// One conformance scenario: a world to set up (`given`), SDK calls and conditions in order
/// (`steps`), and what the vault and providers must have seen afterwards (`then`).
/// The file format is documented in docs/scenario-format.md.
public struct Scenario: Sendable {
    public var id: String
    public var title: String
    public var tags: [String]
    /// Ids of the contract catalogue's items this scenario covers (docs/contract-catalogue.yaml).
    public var covers: [String] = []
    /// The SDK versions the scenario applies to (`requires: {sdk: ...}`); nil: every version.
    public var sdkRange: SDKVersionRange? = nil
    public var location: SourceLocation
    public var given: Given
    public var steps: [Step]
    public var then: [ThenCheck]
    /// Ops the driver must support to run this scenario.
    public var requiredCapabilities: Set<String> {
        Set(steps.flatMap(\.action.driverOps))
    }
}

/// The world a scenario starts in.
public struct Given: Sendable {
    public var client = ClientSetup()
    /// Named grants; steps refer to them by name and expectations as `${grants.NAME}`.
    public var grants: [(name: String, seed: GrantSeed)] = []
    public var secrets: [(name: String, seed: SecretSeed)] = []
    public var providerData: [(provider: String, data: JSONValue)] = []
    public var faults: [ProviderFault] = []
    /// Providers the app has not configured (no OAuth client credentials in the portal).
    public var unconfiguredProviders: [String] = []
    /// User accounts that exist at providers (grants name their own accounts too).
    public var accounts: [AccountSeed] = []
    /// Where the sandbox's virtual clock starts (nil: now), and whether it is frozen.
    public var clock: ClockSetup?
    /// Choices the vault makes where vaults may differ.
    public var behaviour = VaultBehaviour()
    /// The app's scope allowlist per provider (what Connect may ask for).
    public var allowedScopes: [(provider: String, scopes: [String])] = []
    /// Client secrets the vault holds that differ from what the provider registered (a misconfigured client).
    public var staleClientSecrets: [(provider: String, secret: String)] = []
    /// Scopes the app's configuration requires per provider.
    public var requiredScopes: [(provider: String, scopes: [String])] = []
    /// The app's access policies (grants may have their own).
    public var policies: [AccessPolicy] = []
    /// Faults of the vault's own endpoints.
    public var vaultFaults: [ProviderFault] = []
    /// The app's identity provider and the people it knows (nil: the app has none).
    public var identity: IdentitySetup?
}

/// `given.identity`: the app has an identity provider (IdP) that knows these people; each gets a
/// valid user token at the start (`${identity.NAME.token}`), and `authenticate()` signs one in.
public struct IdentitySetup: Sendable, Equatable {
    public var users: [IdentityUser] = []
    /// How long a user token is valid, in seconds of the sandbox clock.
    public var tokenLifetime: Double = IdentityBook.defaultTokenLifetime
}

public struct ClockSetup: Sendable, Equatable {
    public var start: Date
    public var frozen = false
}

/// A user account at an OAuth provider, named by its login there.
public struct AccountSeed: Sendable, Equatable {
    public var provider: String
    public var login: String
    public var displayName: String?
}

/// How the driver's SDK client is made.
public struct ClientSetup: Sendable {
    public enum APIKey: String, Sendable { case valid, invalid }
    public enum Vault: String, Sendable { case reachable, unreachable }

    public var caller: String?
    public var callerType: String?
    public var apiKey: APIKey = .valid
    public var vault: Vault = .reachable
    /// The SDK's own HTTP timeout, in seconds.
    public var timeout: Double?
    /// A path the vault's base URL ends with (`ALTER_BASE_URL=http://host:port/base/path`).
    public var basePath: String?
    /// The address the vault takes the app's requests to come from (IP allowlists).
    public var address: String?
    /// The client is used as `async with AlterVault(...) as vault:` (the driver enters it and
    /// uses what `__aenter__` returns), and left at the end or by a `close` step.
    public var contextManager = false
    /// The user token the client's `user_token_getter` returns (placeholders allowed, such as
    /// `${identity.alice.token}`); nil: no getter.
    public var userToken: String?
}

/// One step: an SDK call (judged against `expect`) or a condition put on the world.
public struct Step: Sendable {
    public var id: String
    public var location: SourceLocation
    public var action: Action
    public var expect: StepExpectation
}

/// An account named in a step: by its login, or as the account of a grant of `given`.
public enum AccountReference: Sendable {
    case login(String)
    case ofGrant(String)
}

public enum Action: Sendable {
    case request(JSONValue)
    /// `proxy_request` (alter-sdk 0.12 on): the vault makes the provider call.
    case proxyRequest(JSONValue)
    /// `await_approval(approval_id, timeout=, poll_interval=)` (alter-sdk 0.20.1 on).
    case awaitApproval(JSONValue)
    /// `get_approval_status(approval_id, wait=)` (alter-sdk 0.20.1 on).
    case approvalStatus(JSONValue)
    case listGrants(JSONValue)
    case revokeGrant(JSONValue)
    /// A fault a provider starts answering with.
    case providerFault(ProviderFault)
    /// The grant is revoked at the vault, outside the app (a user or admin in the portal).
    case revokeAtVault(grant: String, reason: String?)
    /// Virtual time passes.
    case advanceClock(seconds: Double)
    /// The user removes the app's access in their account settings at the provider: the
    /// provider revokes every token it issued to the app for that account; the vault is not told.
    case revokeAtProvider(provider: String, account: AccountReference)
    /// Provider-side data changes (deep-merged over the provider's fixtures).
    case providerData(provider: String, data: JSONValue)
    /// The developer deletes the grant in the portal.
    case deleteGrant(grant: String)
    /// The virtual clock shows this instant from now on.
    case setClock(Date)
    /// The virtual clock stops (true) or runs again (false).
    case freezeClock(Bool)
    /// The app's configuration for a provider now requires these scopes (scope drift).
    case requireScopes(provider: String, scopes: [String])
    /// Steps started together; each is judged against its own `expect` once all have ended.
    case concurrently([Step])
    /// The app's requests now come from this address (as the vault sees it).
    case setCallerAddress(String)
    /// The app's API key changes state (revoked, expired, rotated, … or active again).
    case apiKey(APIKeyState)
    /// A fault the vault's own endpoints start answering with.
    case vaultFault(ProviderFault)
    /// The faults of a provider (or `vault`, or all when nil) stop answering.
    case clearFaults(String?)
    /// `vault.authenticate(timeout=)`: signs a person in at the app's identity provider.
    case authenticate(JSONValue)
    /// Makes another client with this base URL and API key and closes it: what the SDK's
    /// constructor refuses (`{base_url, api_key}`; the scenario's client stays as it is).
    case constructClient(JSONValue)
    /// The MCP integration's single-shot helpers (`_create_auth_session_raw()`,
    /// `_poll_auth_session_raw(session_token)`), which `alter_sdk.mcp` calls.
    case createAuthSessionRaw
    case pollAuthSessionRaw(JSONValue)
    /// `vault.verify_user_token(token)`: the token's `sub`, or null.
    case verifyUserToken(JSONValue)
    /// `vault.connect(...)`: creates a Connect session and polls it until it ends.
    case connect(JSONValue)
    /// `vault.create_connect_session(...)`.
    case createConnectSession(JSONValue)
    /// `vault.create_connect_session_for_error(e, ...)` with the SDK error the last failed call raised (0.15+).
    case createConnectSessionForError(JSONValue)
    /// `vault.poll_connect_session(session_token, ...)` (0.15+).
    case pollConnectSession(JSONValue)
    /// The simulated user goes through the hosted Connect pages and a provider's consent page.
    case user(UserPlan)
    /// Steps run one after another inside one branch of `concurrently`.
    case inOrder([Step])
    /// `vault.close()`, or leaving `async with vault:` (`{via: context_manager}`): what the SDK
    /// does with calls after it.
    case close(JSONValue)

    /// The driver op this action calls, if it is an SDK call.
    public var driverOp: String? {
        switch self {
        case .request: "request"
        case .proxyRequest: "proxy_request"
        case .awaitApproval: "await_approval"
        case .approvalStatus: "get_approval_status"
        case .listGrants: "list_grants"
        case .revokeGrant: "revoke_grant"
        case .authenticate: "authenticate"
        case .constructClient: "construct_client"
        case .createAuthSessionRaw: "create_auth_session_raw"
        case .pollAuthSessionRaw: "poll_auth_session_raw"
        case .verifyUserToken: "verify_user_token"
        case .connect: "connect"
        case .createConnectSession: "create_connect_session"
        case .createConnectSessionForError: "create_connect_session_for_error"
        case .pollConnectSession: "poll_connect_session"
        case .close: "close"
        case .providerFault, .revokeAtVault, .advanceClock, .revokeAtProvider, .providerData, .deleteGrant, .setClock,
             .freezeClock, .requireScopes, .concurrently, .setCallerAddress, .apiKey, .vaultFault, .clearFaults, .user, .inOrder: nil
        }
    }

    /// Whether the step has an outcome to judge (an SDK call, or what the simulated user saw).
    public var hasOutcome: Bool {
        if case .user = self { return true }
        return driverOp != nil
    }

    /// Every driver op this action calls, inner steps included.
    public var driverOps: [String] {
        if case .concurrently(let steps) = self { return steps.flatMap(\.action.driverOps) }
        if case .inOrder(let steps) = self { return steps.flatMap(\.action.driverOps) }
        return driverOp.map { [$0] } ?? []
    }

    public var name: String {
        switch self {
        case .request: "request"
        case .proxyRequest: "proxy_request"
        case .awaitApproval: "await_approval"
        case .approvalStatus: "get_approval_status"
        case .listGrants: "list_grants"
        case .revokeGrant: "revoke_grant"
        case .providerFault: "provider_fault"
        case .revokeAtVault: "revoke_at_vault"
        case .advanceClock: "advance_clock"
        case .revokeAtProvider: "revoke_at_provider"
        case .providerData: "provider_data"
        case .deleteGrant: "delete_grant"
        case .setClock: "set_clock"
        case .freezeClock: "freeze_clock"
        case .requireScopes: "require_scopes"
        case .concurrently: "concurrently"
        case .setCallerAddress: "set_caller_address"
        case .apiKey: "api_key"
        case .vaultFault: "vault_fault"
        case .clearFaults: "clear_faults"
        case .authenticate: "authenticate"
        case .constructClient: "construct_client"
        case .createAuthSessionRaw: "create_auth_session_raw"
        case .pollAuthSessionRaw: "poll_auth_session_raw"
        case .verifyUserToken: "verify_user_token"
        case .connect: "connect"
        case .createConnectSession: "create_connect_session"
        case .createConnectSessionForError: "create_connect_session_for_error"
        case .pollConnectSession: "poll_connect_session"
        case .close: "close"
        case .user: "user"
        case .inOrder: "in_order"
        }
    }
}

/// What the simulated user does with a Connect session, in a browser's place.
public struct UserPlan: Sendable, Equatable {
    /// `new`: a session no earlier user step opened (waiting for it to appear); `latest`: the newest.
    public enum SessionChoice: String, Sendable { case new, latest }
    /// approve (Allow), deny (Cancel at the provider), abandon (open the page and leave), open (look only).
    public enum Act: String, Sendable, CaseIterable { case approve, deny, abandon, open, ignore }

    public var session = SessionChoice.new
    public var action = Act.approve
    /// Providers to connect in turn (empty: the first the page offers).
    public var providers: [String] = []
    /// The account to choose at the provider (nil: the first listed).
    public var account: String?
    /// The scopes to leave ticked (nil: all requested).
    public var scopes: [String]?
    /// The grant duration to pick on the hosted page, in seconds (nil: the preselected one).
    public var duration: Int?
    /// Virtual seconds that pass while the user reads the consent page.
    public var linger: Double?
    /// Press Finish when the page still offers other providers.
    public var finish = false
    /// Connect every provider the page offers, in turn (`serve --auto-consent`).
    public var everyProvider = false
    /// `approval: latest`: the user decides the newest human approval instead of a Connect session.
    public var approval = false
    /// The reason the user gives when denying an approval.
    public var reason: String?
    /// `sign_in: new|latest`: the user signs in at the app's identity provider (the sign-in
    /// `authenticate()` opened) instead of a Connect session; `account` names who.
    public var signIn: SessionChoice?

    public init() {}
}

/// What an SDK call must produce.
public enum StepExpectation: Sendable {
    /// Success; the result must match the pattern if one is given.
    case result(Pattern?)
    /// The SDK raises an exception of `className` and/or `kind` (with these ancestors, message and attributes).
    case error(ErrorExpectation)
    /// Conditions have nothing to expect.
    case none
    /// Any one of these (for steps whose outcome depends on timing, such as concurrent calls).
    indirect case anyOf([StepExpectation])
    /// Where the contract changed between SDK generations: the first override whose range holds
    /// the driver's SDK version, else the default.
    indirect case bySDK(overrides: [(range: SDKVersionRange, expectation: StepExpectation)], otherwise: StepExpectation)

    /// The expectation for one SDK version (nil or unparseable: the default).
    public func resolved(sdkVersion: String?) -> StepExpectation {
        guard case .bySDK(let overrides, let otherwise) = self else { return self }
        guard let sdkVersion else { return otherwise }
        return overrides.first { $0.range.contains(sdkVersion) == true }?.expectation ?? otherwise
    }
}

public struct ErrorExpectation: Sendable {
    /// The class name, compared exactly (nil: any class of `kind`).
    public var className: String?
    /// The language-neutral kind the driver reports (`grant_not_found`; nil: not checked).
    public var kind: String?
    public var ancestors: [String]
    public var message: Pattern?
    public var attributes: Pattern?

    /// How reports name what was expected: the class, or the kind.
    public var name: String { className ?? "an error of kind \(kind ?? "?")" }
}

/// A check on what the vault or a provider saw, after the last step.
public struct ThenCheck: Sendable {
    public enum Subject: Sendable, Hashable {
        /// The gateway's journal of one provider, of one caller (`sdk`, `vault`, `browser`) or all (nil).
        case providerJournal(String, caller: String?)
        case audit
        case tokenRequests
        /// The vault's grants at the end, oldest first.
        case grants
    }

    public var subject: Subject
    public var pattern: Pattern
    public var location: SourceLocation
    /// Set on a check from `then.sdk` (`then: {sdk: {">=0.12": {...}}}`): it applies to these SDK
    /// versions, and there it replaces the default checks of the same subject.
    public var sdkRange: SDKVersionRange? = nil

    /// The checks that hold for one SDK version: for each subject, the first override whose range
    /// holds the version, else the default ones.
    public static func effective(_ checks: [ThenCheck], sdkVersion: String?) -> [ThenCheck] {
        var chosen: [Subject: String] = [:]   // subject → the range text of the override in force
        for check in checks {
            guard let range = check.sdkRange, chosen[check.subject] == nil, let sdkVersion, range.contains(sdkVersion) == true else { continue }
            chosen[check.subject] = range.text
        }
        return checks.filter { check in
            guard let range = chosen[check.subject] else { return check.sdkRange == nil }
            return check.sdkRange?.text == range
        }
    }

    public var name: String {
        switch subject {
        case .providerJournal(let p, let caller): "provider_journal.\(p)" + (caller == "sdk" ? "" : " by \(caller ?? "anyone")")
        case .audit: "audit"
        case .tokenRequests: "token_requests"
        case .grants: "grants"
        }
    }
}
