import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios

/// The identity plane's keys and steps: `given.identity`, `given.client.user_token`,
/// `given.grants.*.user`, `authenticate`, `verify_user_token` and `user: {sign_in: …}`; each
/// refusal names the file:line and what is wrong.
struct IdentityLoaderTests {
    func error(_ text: String) -> ScenarioLoadError? { ScenarioLoaderTests().error(text) }

    static let valid = """
        vaultsim: 1
        given:
          identity:
            token_lifetime: 30m
            users:
              alice: {sub: user-123, email: alice@example.com, name: Alice}
              bob:
          client: {user_token: "${identity.alice.token}"}
          grants:
            calendar: {provider: google, account: alice@example.com, user: alice}
        steps:
          - concurrently:
              - authenticate: {timeout: 5}
              - user: {sign_in: new, account: bob}
          - verify_user_token: {token: "${identity.bob.token}"}
          - user: {sign_in: latest, action: open}
        """

    @Test func theKeysAndStepsLoad() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "identity/ok")
        let identity = try #require(scenario.given.identity)
        #expect(identity.tokenLifetime == 1800)
        #expect(identity.users == [IdentityUser(name: "alice", sub: "user-123", email: "alice@example.com", displayName: "Alice"),
                                   IdentityUser(name: "bob", sub: "user-bob")])
        #expect(scenario.given.client.userToken == "${identity.alice.token}")
        #expect(scenario.given.grants.first?.seed.userSub == "user-123")
        guard case .concurrently(let inner) = scenario.steps[0].action, inner.count == 2 else { Issue.record("not concurrently"); return }
        guard case .authenticate(let params) = inner[0].action else { Issue.record("not authenticate"); return }
        #expect(params == ["timeout": .number(5)])
        guard case .user(let plan) = inner[1].action else { Issue.record("not a user"); return }
        #expect(plan.signIn == .new && plan.account == "bob" && plan.action == .approve)
        guard case .verifyUserToken(let verify) = scenario.steps[1].action else { Issue.record("not verify"); return }
        #expect(verify == ["token": "${identity.bob.token}"])
        guard case .user(let look) = scenario.steps[2].action else { Issue.record("not a user"); return }
        #expect(look.signIn == .latest && look.action == .open)
        #expect(scenario.steps.flatMap(\.action.driverOps) == ["authenticate", "verify_user_token"])
    }

    @Test func aGrantOfAnUnknownPersonIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "user: alice}", with: "user: carol}"))
        #expect(e?.message.contains("given.grants.calendar.user: 'carol' is not a user of given.identity (known: alice, bob)") == true, "\(e?.message ?? "")")
    }

    @Test func aPlaceholderOfAnUnknownPersonIsRefused() {
        let step = error(Self.valid.replacingOccurrences(of: "${identity.bob.token}", with: "${identity.carol.token}"))
        #expect(step?.location.line == 15)
        #expect(step?.message.contains("identity.carol.token") == true)
        let client = error(Self.valid.replacingOccurrences(of: "${identity.alice.token}", with: "${identity.carol.token}"))
        #expect(client?.message.contains("identity.carol.token") == true)
    }

    @Test func badIdentityKeysAreRefusedWhereTheyAre() {
        let lifetime = error(Self.valid.replacingOccurrences(of: "token_lifetime: 30m", with: "token_lifetime: 400d"))
        #expect(lifetime?.location.line == 4)
        #expect(lifetime?.message.contains("token_lifetime must be between 1 second and 365 days") == true)
        let sameSub = error(Self.valid.replacingOccurrences(of: "bob:\n", with: "bob: {sub: user-123}\n"))
        #expect(sameSub?.message.contains("'user-123' is another user's too") == true, "\(sameSub?.message ?? "")")
        let unknown = error(Self.valid.replacingOccurrences(of: "email: alice@example.com,", with: "mail: alice@example.com,"))
        #expect(unknown?.location.line == 6)
        #expect(unknown?.message.contains("mail") == true)
        let badName = error(Self.valid.replacingOccurrences(of: "      bob:\n", with: "      \"b b\":\n"))
        #expect(badName?.message.contains("a user's name is letters, digits") == true, "\(badName?.message ?? "")")
    }

    @Test func aSignInTakesOnlyItsOwnKeysAndActions() {
        let abandon = error(Self.valid.replacingOccurrences(of: "{sign_in: latest, action: open}", with: "{sign_in: latest, action: abandon}"))
        #expect(abandon?.location.line == 16)
        #expect(abandon?.message.contains("a sign-in takes action approve (sign in), deny (Cancel) or open") == true)
        let scopes = error(Self.valid.replacingOccurrences(of: "{sign_in: new, account: bob}", with: "{sign_in: new, scopes: [a]}"))
        #expect(scopes?.message.contains("'scopes' is for Connect sessions, not sign-ins") == true)
        let choice = error(Self.valid.replacingOccurrences(of: "{sign_in: new, account: bob}", with: "{sign_in: oldest}"))
        #expect(choice?.message.contains("sign_in must be new or latest") == true)
        let both = error(Self.valid.replacingOccurrences(of: "{sign_in: latest, action: open}", with: "{sign_in: latest, approval: latest}"))
        #expect(both?.message.contains("'sign_in' is for Connect sessions or sign-ins, not approvals") == true)
    }

    @Test func verifyNeedsAStringTokenAndAuthenticateATimeInRange() {
        let missing = error(Self.valid.replacingOccurrences(of: #"verify_user_token: {token: "${identity.bob.token}"}"#, with: "verify_user_token: {}"))
        #expect(missing?.message.contains("verify_user_token needs token") == true, "\(missing?.message ?? "")")
        let timeout = error(Self.valid.replacingOccurrences(of: "{timeout: 5}", with: "{timeout: -1}"))
        #expect(timeout?.message.contains("timeout must be 0 to 3600 seconds") == true)
    }
}
