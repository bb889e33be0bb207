import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios

/// The App generation's step forms and keys: `create_connect_session_for_error`,
/// `poll_connect_session` (defaulting to `${connect.latest}`), the `api_key` step,
/// `given.vault.api_key` and `then.grants`; each refusal names the file:line and what is wrong.
struct AppGenerationStepLoaderTests {
    func error(_ text: String) -> ScenarioLoadError? { ScenarioLoaderTests().error(text) }

    static let valid = """
        vaultsim: 1
        given:
          vault: {api_key: rotated}
        steps:
          - create_connect_session_for_error: {return_url: "https://app.example.com/back"}
          - poll_connect_session: {timeout: 15, poll_interval: 0.2}
          - poll_connect_session: {session_token: cs_given}
          - api_key: revoked
        then:
          grants: {$len: 0}
        """

    @Test func theStepsAndKeysLoad() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "app/ok")
        #expect(scenario.given.behaviour.apiKey == .rotated)
        try #require(scenario.steps.count == 4)
        guard case .createConnectSessionForError(let session) = scenario.steps[0].action else { Issue.record("not for_error"); return }
        #expect(session == ["return_url": "https://app.example.com/back"])
        guard case .pollConnectSession(let poll) = scenario.steps[1].action else { Issue.record("not a poll"); return }
        #expect(poll == ["session_token": "${connect.latest}", "timeout": .number(15), "poll_interval": .number(0.2)])
        guard case .pollConnectSession(let given) = scenario.steps[2].action else { Issue.record("not a poll"); return }
        #expect(given["session_token"] == "cs_given")
        guard case .apiKey(let state) = scenario.steps[3].action else { Issue.record("not api_key"); return }
        #expect(state == .revoked)
        #expect(scenario.then.map(\.name) == ["grants"])
        #expect(scenario.steps.map(\.action.driverOp) == ["create_connect_session_for_error", "poll_connect_session", "poll_connect_session", nil])
    }

    @Test func aRecoverySessionTakesNoAllowedProviders() {
        let e = error(Self.valid.replacingOccurrences(of: #"{return_url: "https://app.example.com/back"}"#, with: "{allowed_providers: [google]}"))
        #expect(e?.location.line == 5)
        #expect(e?.message.contains("allowed_providers") == true)
    }

    @Test func anUnknownKeyStateIsRefusedNamingTheStates() {
        let step = error(Self.valid.replacingOccurrences(of: "api_key: revoked", with: "api_key: stolen"))
        #expect(step?.location.line == 8)
        #expect(step?.message.contains("revoked, expired, rotated, inactive, app_deleted") == true)
        let given = error(Self.valid.replacingOccurrences(of: "{api_key: rotated}", with: "{api_key: [rotated]}"))
        #expect(given?.location.line == 3)
        #expect(given?.message.contains("given.vault.api_key must be one of") == true)
    }

    @Test func aPollWithAZeroTimeoutOrAnUnknownKeyIsRefused() {
        let zero = error(Self.valid.replacingOccurrences(of: "{timeout: 15, poll_interval: 0.2}", with: "{timeout: 0}"))
        #expect(zero?.location.line == 6)
        #expect(zero?.message.contains("timeout") == true)
        let unknown = error(Self.valid.replacingOccurrences(of: "{session_token: cs_given}", with: "{token: cs_given}"))
        #expect(unknown?.location.line == 7)
        #expect(unknown?.message.contains("token") == true)
    }

    @Test func anUnknownPlaceholderInAPollIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "cs_given", with: #""${connect.first}""#))
        #expect(e?.message.contains("connect.first") == true)
    }
}
