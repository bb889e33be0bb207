import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios

/// The Connect step forms (`connect`, `create_connect_session`, `user`, `in_order`) and the
/// app's OAuth client keys of `given.providers`: read into the right actions, and refused with
/// file:line and what is wrong.
struct ConnectStepLoaderTests {
    func error(_ text: String) -> ScenarioLoadError? { ScenarioLoaderTests().error(text) }

    /// Whether a step kept its `expect: {result: PATTERN}`.
    func expectsAResult(_ step: Step) -> Bool {
        if case .result(_?) = step.expect { return true }
        return false
    }

    static let valid = """
        vaultsim: 1
        given:
          providers:
            google: {accounts: [alice@example.com, bob@example.com], allowed_scopes: [openid, email], client_secret: rotated-secret}
        steps:
          - concurrently:
              - connect: {providers: [google], timeout: 10, poll_interval: 0.2, grant_policy: {max_ttl_seconds: 86400}}
                expect:
                  result: [{provider_id: google, account_identifier: bob@example.com}]
              - user: {provider: google, account: bob@example.com, scopes: [email], duration: 2h, linger: 30s}
                expect:
                  result: {outcome: completed}
          - concurrently:
              - connect: {timeout: 5}
                expect:
                  error: {class: ConnectFlowError}
              - in_order:
                  - user: {action: open}
                    expect: {result: {outcome: pending}}
                  - advance_clock: 11m
          - create_connect_session: {allowed_providers: [google], return_url: "https://app.example.com/done", metadata: {ip: 203.0.113.7}}
          - user: {session: latest, action: deny, finish: true}
            expect:
              result: {outcome: error}
        """

    @Test func connectBesideAUserLoadsWithItsActions() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "connect/ok")
        try #require(scenario.steps.count == 4)
        #expect(scenario.requiredCapabilities == ["connect", "create_connect_session"])

        guard case .concurrently(let together) = scenario.steps[0].action else {
            Issue.record("steps[0] is not concurrently: \(scenario.steps[0].action.name)")
            return
        }
        #expect(together.map(\.action.name) == ["connect", "user"])
        try #require(together.count == 2)
        #expect(together.map(\.id) == ["steps[0].concurrently[0]", "steps[0].concurrently[1]"])
        guard case .connect(let params) = together[0].action else { Issue.record("not a connect"); return }
        let google: JSONValue = ["google"]
        let policy: JSONValue = ["max_ttl_seconds": 86400]
        #expect(params["providers"] == google)
        #expect(params["timeout"] == JSONValue.number(10))
        #expect(params["poll_interval"] == JSONValue.number(0.2))
        #expect(params["grant_policy"] == policy)
        #expect(expectsAResult(together[0]), "connect's expect is not a result pattern")

        guard case .user(let plan) = together[1].action else { Issue.record("not a user"); return }
        #expect(plan.session == .new)
        #expect(plan.action == .approve)
        #expect(plan.providers == ["google"])
        #expect(plan.account == "bob@example.com")
        #expect(plan.scopes == ["email"])
        #expect(plan.duration == 7200)
        #expect(plan.linger == 30)
        #expect(plan.finish == false)
        // A user step has an outcome to judge: its expect is kept.
        #expect(expectsAResult(together[1]), "the user's expect is not a result pattern")

        #expect(scenario.given.allowedScopes.map(\.provider) == ["google"])
        #expect(scenario.given.allowedScopes.map(\.scopes) == [["openid", "email"]])
        #expect(scenario.given.staleClientSecrets.map(\.secret) == ["rotated-secret"])
    }

    @Test func inOrderIsABranchOfConcurrently() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "connect/ok")
        try #require(scenario.steps.count == 4)
        guard case .concurrently(let together) = scenario.steps[1].action else { Issue.record("not concurrently"); return }
        try #require(together.count == 2)
        guard case .connect(let params) = together[0].action else { Issue.record("not a connect"); return }
        let timeoutOnly: JSONValue = ["timeout": 5]
        #expect(params == timeoutOnly)
        if case .error(let expected) = together[0].expect {
            #expect(expected.className == "ConnectFlowError")
        } else {
            Issue.record("connect's expect is not an error")
        }
        guard case .inOrder(let branch) = together[1].action else { Issue.record("not in_order"); return }
        #expect(branch.map(\.action.name) == ["user", "advance_clock"])
        try #require(branch.count == 2)
        #expect(branch.map(\.id) == ["steps[1].concurrently[1].in_order[0]", "steps[1].concurrently[1].in_order[1]"])
        guard case .user(let plan) = branch[0].action else { Issue.record("not a user"); return }
        #expect(plan.action == .open)
        guard case .advanceClock(seconds: let seconds) = branch[1].action else { Issue.record("not advance_clock"); return }
        #expect(seconds == 660)
    }

    @Test func createConnectSessionAndALaterUserLoad() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "connect/ok")
        try #require(scenario.steps.count == 4)
        guard case .createConnectSession(let params) = scenario.steps[2].action else { Issue.record("not create_connect_session"); return }
        let google: JSONValue = ["google"]
        let metadata: JSONValue = ["ip": "203.0.113.7"]
        #expect(params["allowed_providers"] == google)
        #expect(params["return_url"] == JSONValue.string("https://app.example.com/done"))
        #expect(params["metadata"] == metadata)
        #expect(params.objectValue?.keys.contains("allowed_origin") == false)
        guard case .user(let plan) = scenario.steps[3].action else { Issue.record("not a user"); return }
        #expect(plan.session == .latest)
        #expect(plan.action == .deny)
        #expect(plan.finish == true)
        #expect(plan.providers.isEmpty)
        #expect(plan.account == nil)
        #expect(plan.scopes == nil)
    }

    // MARK: refusals

    @Test func inOrderOutsideConcurrentlyIsRefused() {
        let e = error("""
            vaultsim: 1
            steps:
              - advance_clock: 1s
              - in_order: [{advance_clock: 1s}, {advance_clock: 2s}]
            """)
        #expect(e?.location.file == "bad.yaml")
        #expect(e?.location.line == 4)
        #expect(e?.message.hasPrefix("steps[1].in_order:") == true, "\(String(describing: e))")
        #expect(e?.message.contains("in_order is a branch of concurrently") == true, "\(String(describing: e))")
    }

    @Test func inOrderInsideInOrderIsRefused() {
        let e = error("""
            vaultsim: 1
            steps:
              - concurrently:
                  - advance_clock: 1s
                  - in_order:
                      - advance_clock: 1s
                      - in_order: [{advance_clock: 1s}]
            """)
        #expect(e?.location.line == 7)
        #expect(e?.message.contains("steps[0].concurrently[1].in_order[1].in_order") == true, "\(String(describing: e))")
        #expect(e?.message.contains("in_order is a branch of concurrently") == true)
    }

    @Test func inOrderTakesNoExpectOfItsOwn() {
        let e = error("""
            vaultsim: 1
            steps:
              - concurrently:
                  - advance_clock: 1s
                  - in_order: [{advance_clock: 1s}]
                    expect: {result: {}}
            """)
        #expect(e?.location.line == 6)
        #expect(e?.message.contains("put an expect on each step inside in_order") == true, "\(String(describing: e))")
    }

    @Test func anUnknownUserActionIsRefusedNamingTheAllowedOnes() {
        let e = error("""
            vaultsim: 1
            steps:
              - user: {action: dance}
            """)
        #expect(e?.location.line == 3)
        #expect(e?.message == "steps[0].user.action must be one of approve, deny, abandon, open, ignore (ignore: approvals only)", "\(String(describing: e))")
    }

    @Test func aUserAtAProviderWithoutOAuthIsRefused() {
        let e = error("""
            vaultsim: 1
            steps:
              - user: {provider: internal}
            """)
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("steps[0].user.provider: 'internal' is not an OAuth provider") == true, "\(String(describing: e))")
        #expect(e?.message.contains("google") == true)
    }

    @Test func anUnknownUserKeyIsRefused() {
        let e = error("""
            vaultsim: 1
            steps:
              - user: {acount: bob@example.com}
            """)
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("unknown key 'acount' in steps[0].user") == true, "\(String(describing: e))")
    }

    @Test func aZeroConnectTimeoutIsRefused() {
        let e = error("""
            vaultsim: 1
            steps:
              - connect: {providers: [google], timeout: 0}
            """)
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("steps[0].connect.timeout must be a number of seconds more than 0") == true, "\(String(describing: e))")
    }

    @Test func aUserStepMayExpectButAConditionMayNot() throws {
        let accepted = try ScenarioLoader.parse("""
            vaultsim: 1
            steps:
              - user: {action: abandon}
                expect: {result: {outcome: abandoned}}
            """, file: "ok.yaml", defaultID: "ok")
        try #require(accepted.steps.count == 1)
        guard case .user(let plan) = accepted.steps[0].action else { Issue.record("not a user"); return }
        #expect(plan.action == .abandon)
        #expect(expectsAResult(accepted.steps[0]), "the user's expect was dropped")

        let e = error("""
            vaultsim: 1
            steps:
              - advance_clock: 1m
                expect: {result: {}}
            """)
        #expect(e?.location.line == 4)
        #expect(e?.message == "advance_clock is a condition; it has nothing to expect", "\(String(describing: e))")
    }

    @Test func anEmptyAllowedScopesListIsRefused() {
        let e = error("""
            vaultsim: 1
            given:
              providers:
                google: {allowed_scopes: []}
            steps:
              - advance_clock: 1s
            """)
        #expect(e?.location.line == 4)
        #expect(e?.message.contains("given.providers.google.allowed_scopes") == true, "\(String(describing: e))")
        #expect(e?.message.contains("the list is empty") == true)
    }

    @Test func aClientSecretThatIsNotTextIsRefused() {
        let e = error("""
            vaultsim: 1
            given:
              providers:
                google: {client_secret: 5}
            steps:
              - advance_clock: 1s
            """)
        #expect(e?.location.line == 4)
        #expect(e?.message == "given.providers.google.client_secret must be a string, found number", "\(String(describing: e))")
    }
}
