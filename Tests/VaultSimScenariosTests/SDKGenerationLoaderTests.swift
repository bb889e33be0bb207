import Foundation
import Testing
@testable import VaultSimScenarios

/// Scenarios across SDK generations: `requires: {sdk: ...}`, `expect.sdk` and `then.sdk`.
struct SDKGenerationLoaderTests {
    static func scenario(requires: String = "", expectExtra: String = "", thenExtra: String = "") -> String {
        """
        vaultsim: 1
        \(requires)
        given:
          grants:
            alice: {provider: google, scopes: [x]}
        steps:
          - request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant: alice}
            expect:
              error: {class: BackendError}
        \(expectExtra)
        then:
          token_requests: [{outcome: issued, caller_type: agent}]
        \(thenExtra)
        """
    }

    func error(_ text: String) -> ScenarioLoadError? {
        do {
            _ = try ScenarioLoader.parse(text, file: "bad.yaml", defaultID: "bad")
            return nil
        } catch {
            return error
        }
    }

    @Test func versionRanges() throws {
        let range = try SDKVersionRange.parse(">=0.12, <0.22").get()
        #expect(range.contains("0.12.0") == true)
        #expect(range.contains("0.21.9") == true)
        #expect(range.contains("0.22") == false)
        #expect(range.contains("0.11.0") == false)
        #expect(range.contains("0.29.0rc1") == false)
        #expect(range.contains("unknown") == nil)
        #expect(try SDKVersionRange.parse("==0.11.0").get().contains("0.11") == true)
        #expect(try SDKVersionRange.parse("!=0.11.0").get().contains("0.11.0") == false)
        for bad in ["0.12", ">=", ">=0.x", ">=0.12,", "=>0.12", ">=0..1", ">=1.2.3.4.5", ">= 0.12 beta"] {
            guard case .failure = SDKVersionRange.parse(bad) else { Issue.record("'\(bad)' parsed"); continue }
        }
    }

    @Test func requiresIsReadAndABadRangeIsRefusedWithItsLine() throws {
        let scenario = try ScenarioLoader.parse(Self.scenario(requires: #"requires: {sdk: ">=0.12"}"#), file: "ok.yaml", defaultID: "ok")
        #expect(scenario.sdkRange?.contains("0.29.0") == true)
        #expect(scenario.sdkRange?.contains("0.11.0") == false)
        let bad = error(Self.scenario(requires: #"requires: {sdk: "newer than 0.12"}"#))
        #expect(bad?.location.line == 2)
        #expect(bad?.message.contains("requires.sdk") == true)
        #expect(error(Self.scenario(requires: #"requires: {python: "3.11"}"#))?.message.contains("python") == true)
    }

    @Test func anExpectOverrideIsChosenByVersion() throws {
        let text = Self.scenario(expectExtra: #"      sdk: {">=0.12": {error: {class: RateLimitError}}}"#)
        let scenario = try ScenarioLoader.parse(text, file: "ok.yaml", defaultID: "ok")
        func className(_ version: String?) -> String? {
            guard case .error(let e) = scenario.steps[0].expect.resolved(sdkVersion: version) else { return nil }
            return e.className
        }
        #expect(className("0.29.0") == "RateLimitError")
        #expect(className("0.11.0") == "BackendError")
        #expect(className(nil) == "BackendError")
        let bad = error(Self.scenario(expectExtra: #"      sdk: {"0.12+": {error: {class: RateLimitError}}}"#))
        #expect(bad?.message.contains("expect.sdk") == true)
        let typo = error(Self.scenario(expectExtra: #"      sdk: {">=0.12": {errror: {class: X}}}"#))
        #expect(typo?.message.contains(#"expect.sdk[">=0.12"]"#) == true, "\(String(describing: typo))")
    }

    @Test func aThenOverrideReplacesTheChecksOfItsSubjectOnly() throws {
        let text = Self.scenario(thenExtra: """
              sdk:
                ">=0.12":
                  token_requests: [{outcome: issued, caller_type: service}]
            """)
        let scenario = try ScenarioLoader.parse(text, file: "ok.yaml", defaultID: "ok")
        #expect(scenario.then.count == 2)
        let new = ThenCheck.effective(scenario.then, sdkVersion: "0.29.0")
        let old = ThenCheck.effective(scenario.then, sdkVersion: "0.11.0")
        #expect(new.count == 1 && new[0].sdkRange != nil)
        #expect(old.count == 1 && old[0].sdkRange == nil)
        #expect(error(Self.scenario(thenExtra: "  sdk: {\"later\": {audit: []}}"))?.message.contains("then.sdk") == true)
    }

    @Test func approvalsAreReadAndMisuseIsRefused() throws {
        let text = """
            vaultsim: 1
            given:
              grants:
                alice:
                  provider: google
                  scopes: [x]
                  policies: [{name: review, type: require_approval, expires_in: 5m}]
            steps:
              - proxy_request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant: alice}
              - user: {approval: latest, action: deny, reason: Not today}
              - await_approval: {timeout: 2, poll_interval: 0.5}
                expect: {error: {class: ApprovalDeniedError}}
              - get_approval_status: {wait: 1}
            """
        let scenario = try ScenarioLoader.parse(text, file: "ok.yaml", defaultID: "ok")
        #expect(scenario.given.grants[0].seed.policies.first?.approvalWindow == 300)
        guard case .user(let plan) = scenario.steps[1].action else { Issue.record("not a user step"); return }
        #expect(plan.approval && plan.action == .deny && plan.reason == "Not today")
        guard case .awaitApproval(let params) = scenario.steps[2].action else { Issue.record("not await_approval"); return }
        #expect(params["approval_id"] == "${approval.latest}")
        #expect(params["timeout"] == 2)
        #expect(scenario.requiredCapabilities == ["proxy_request", "await_approval", "get_approval_status"])

        func refusal(_ step: String) -> String {
            error(text.replacingOccurrences(of: "  - user: {approval: latest, action: deny, reason: Not today}", with: step))?.message ?? "(loaded)"
        }
        #expect(refusal("  - user: {approval: first}").contains("approval must be latest"))
        #expect(refusal("  - user: {approval: latest, action: abandon}").contains("approve, deny or ignore"))
        #expect(refusal("  - user: {approval: latest, provider: google}").contains("'provider' is for Connect sessions"))
        #expect(refusal("  - user: {action: ignore}").contains("action ignore is for approvals"))
        #expect(refusal("  - await_approval: {timeout: -1}").contains("0 to 3600"))
        #expect(error(text.replacingOccurrences(of: "expires_in: 5m", with: "expires_in: 8d"))?.message.contains("1 s–7 days") == true)
    }

    @Test func anErrorExpectationTakesAClassOrAKind() throws {
        let byKind = try ScenarioLoader.parse(Self.scenario().replacingOccurrences(of: "error: {class: BackendError}", with: "error: {kind: backend}"),
                                              file: "ok.yaml", defaultID: "ok")
        guard case .error(let expected) = byKind.steps[0].expect else { Issue.record("not an error expectation"); return }
        #expect(expected.className == nil && expected.kind == "backend")
        let neither = error(Self.scenario().replacingOccurrences(of: "error: {class: BackendError}", with: "error: {message: x}"))
        #expect(neither?.message.contains("needs 'class' (the SDK's class name) or 'kind'") == true, "\(String(describing: neither))")
    }
}
