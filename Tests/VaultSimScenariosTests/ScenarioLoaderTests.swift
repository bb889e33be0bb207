import Foundation
import Testing
@testable import VaultSimScenarios

/// Malformed scenario files are refused with file:line:column and what is wrong.
struct ScenarioLoaderTests {
    static let valid = """
        vaultsim: 1
        given:
          grants:
            alice: {provider: google, scopes: [x]}
        steps:
          - request:
              method: get
              url: https://www.googleapis.com/calendar/v3/calendars/primary/events
              grant: alice
            expect:
              result: {status: 200}
        """

    func error(_ text: String) -> ScenarioLoadError? {
        do {
            _ = try ScenarioLoader.parse(text, file: "bad.yaml", defaultID: "bad")
            return nil
        } catch {
            return error
        }
    }

    @Test func validScenarioLoads() throws {
        let scenario = try ScenarioLoader.parse(Self.valid, file: "ok.yaml", defaultID: "google/ok")
        #expect(scenario.id == "google/ok")
        #expect(scenario.steps.count == 1)
        #expect(scenario.given.grants.map(\.name) == ["alice"])
        guard case .request(let params) = scenario.steps[0].action else { Issue.record("not a request"); return }
        #expect(params["method"] == "GET")
        #expect(params["grant_id"] == "${grants.alice}")
    }

    @Test func yamlSyntaxErrorHasLineAndColumn() {
        let e = error("vaultsim: 1\nsteps:\n  - request: {method: GET\n")
        #expect(e?.location.file == "bad.yaml")
        #expect(e?.location.line == 4)
        #expect(e?.message.contains("invalid YAML") == true)
    }

    @Test func unknownKeyIsNamedWithItsLine() {
        let text = Self.valid.replacingOccurrences(of: "    expect:", with: "    expcet:")
        let e = error(text)
        #expect(e?.location.line == 10)
        #expect(e?.message.contains("unknown key 'expcet'") == true)
    }

    @Test func missingFormatVersionIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "vaultsim: 1\n", with: "title: x\n"))
        #expect(e?.message == "the scenario needs 'vaultsim'")
    }

    @Test func unsupportedFormatVersionIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "vaultsim: 1", with: "vaultsim: 7"))
        #expect(e?.location.line == 1)
        #expect(e?.message.contains("unsupported format version 7") == true)
    }

    @Test func unknownGrantNameIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "grant: alice", with: "grant: bob"))
        #expect(e?.location.line == 9)
        #expect(e?.message.contains("no grant or secret named 'bob'") == true)
    }

    @Test func urlOfAnUnsimulatedHostIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "www.googleapis.com", with: "api.example.org"))
        #expect(e?.location.line == 8)
        #expect(e?.message.contains("no fake provider serves") == true)
    }

    @Test func urlsOfEveryFakedHostLoad() {
        for url in ["https://slack.com/api/chat.postMessage", "https://api.github.com/user/repos", "https://gmail.googleapis.com/gmail/v1/users/me/messages"] {
            #expect(error(Self.valid.replacingOccurrences(of: "https://www.googleapis.com/calendar/v3/calendars/primary/events", with: url)) == nil)
        }
    }

    @Test func providerJournalCallerFiltersAreReadAndBadOnesRefused() throws {
        let good = Self.valid + "\nthen:\n  provider_journal:\n    google by vault: {$len: 2}\n    google: {$len: 1}\n"
        let scenario = try ScenarioLoader.parse(good, file: "t.yaml", defaultID: "t")
        #expect(scenario.then.map(\.subject) == [.providerJournal("google", caller: "vault"), .providerJournal("google", caller: "sdk")])
        let e = error(Self.valid + "\nthen:\n  provider_journal:\n    google from vault: {$len: 2}\n")
        #expect(e?.message.contains("'PROVIDER by CALLER'") == true)
    }

    @Test func lifecycleGivensAreRead() throws {
        let text = Self.valid
            .replacingOccurrences(of: "alice: {provider: google, scopes: [x]}", with: "alice: {provider: google, scopes: [x], ttl: 2h, status: expired}")
            .replacingOccurrences(of: "given:\n", with: """
                given:
                  clock: {start: "2026-03-02T08:59:00-05:00", frozen: true}
                  vault: {refresh_while_refreshing: conflict, scope_mismatch: refuse}
                  providers:
                    google: {required_scopes: [a, b]}

                """)
        let scenario = try ScenarioLoader.parse(text, file: "t.yaml", defaultID: "t")
        #expect(scenario.given.clock == ClockSetup(start: Date(timeIntervalSince1970: 1_772_459_940), frozen: true))
        #expect(scenario.given.behaviour.refreshWhileRefreshing == .conflict)
        #expect(scenario.given.behaviour.scopeMismatch == .refuse)
        #expect(scenario.given.grants[0].seed.ttl == 7200)
        #expect(scenario.given.grants[0].seed.status == .expired)
        #expect(scenario.given.requiredScopes.map(\.scopes) == [["a", "b"]])
    }

    @Test func badLifecycleInputsAreRefusedWhereTheyAre() {
        let clock = error(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  clock: next tuesday\n"))
        #expect(clock?.location.line == 3)
        #expect(clock?.message.contains("RFC 3339") == true)
        let mode = error(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  vault: {refresh_while_refreshing: sometimes}\n"))
        #expect(mode?.message.contains("wait") == true)
        let nested = error(Self.valid.replacingOccurrences(of: "steps:\n", with: """
            steps:
              - concurrently:
                  - advance_clock: 1s
                  - concurrently: [{advance_clock: 1s}, {advance_clock: 1s}]

            """))
        #expect(nested?.message.contains("cannot be nested") == true)
        let many = error(Self.valid.replacingOccurrences(of: "steps:\n", with: "steps:\n  - concurrently: {times: 5000, step: {advance_clock: 1s}}\n"))
        #expect(many?.message.contains("times must be 2–200") == true)
        let single = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "any_of: [{result: {status: 200}}]"))
        #expect(single?.message.contains("at least two") == true)
        let fault = error(Self.valid.replacingOccurrences(of: "steps:\n", with: "steps:\n  - provider_fault: {provider: google, host: slack.com, status: 500}\n"))
        #expect(fault?.message.contains("google does not own 'slack.com'") == true)
    }

    /// `pass_through: true` slows the usual answer: it needs a delay and takes no answer of its own.
    @Test func aPassThroughFaultNeedsADelayAndNoAnswer() throws {
        func fault(_ text: String) -> String { Self.valid.replacingOccurrences(of: "steps:\n", with: "steps:\n  - provider_fault: {provider: google, \(text)}\n") }
        #expect(error(fault("pass_through: true, delay_ms: 100, status: 503"))?.message.contains("'status' has no use") == true)
        #expect(error(fault("pass_through: true, delay_ms: 100, drop: true"))?.message.contains("'drop' has no use") == true)
        #expect(error(fault("pass_through: true"))?.message.contains("pass_through needs delay_ms") == true)
        #expect(error(fault("pass_through: yes please, delay_ms: 5"))?.message.contains("pass_through must be true") == true)
        let scenario = try ScenarioLoader.parse(fault("pass_through: true, delay_ms: 250, times: 1"), file: "t.yaml", defaultID: "t")
        guard case .providerFault(let loaded)? = scenario.steps.first?.action else {
            Issue.record("the first step is not a provider fault: \(String(describing: scenario.steps.first?.action))")
            return
        }
        #expect(loaded.passThrough && loaded.delayMilliseconds == 250 && loaded.summary.hasSuffix("→ the usual answer after 250 ms"))
    }

    /// `close` closes the client or leaves its `async with` block; nothing else.
    @Test func aCloseStepSaysHow() throws {
        func step(_ text: String) -> String { Self.valid.replacingOccurrences(of: "steps:\n", with: "steps:\n  - \(text)\n") }
        #expect(error(step("close: {via: destructor}"))?.message.contains("via must be close") == true)
        #expect(error(step("close: {now: true}"))?.message.contains("now") == true)
        for (text, via) in [("close: {}", "close"), ("close:", "close"), ("close: {via: context_manager}", "context_manager")] {
            let scenario = try ScenarioLoader.parse(step(text), file: "t.yaml", defaultID: "t")
            guard case .close(let params)? = scenario.steps.first?.action else {
                Issue.record("\(text) is not a close step")
                continue
            }
            #expect(params["via"]?.stringValue == via && scenario.steps.first?.action.driverOp == "close")
        }
        let entered = try ScenarioLoader.parse(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  client: {context_manager: true}\n"),
                                              file: "t.yaml", defaultID: "t")
        #expect(entered.given.client.contextManager)
        #expect(error(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  client: {context_manager: 1}\n"))?.message
            .contains("given.client.context_manager must be true or false") == true)
    }

    @Test func outOfRangeDurationsAreRefusedWhereTheyAre() {
        let e = error(Self.valid.replacingOccurrences(of: "steps:\n", with: "steps:\n  - advance_clock: 1e300\n"))
        #expect(e?.message.contains("advance_clock") == true)
        let f = error(Self.valid.replacingOccurrences(of: "scopes: [x]}", with: "scopes: [x], token_lifetime: 99999999999}"))
        #expect(f?.message.contains("token_lifetime must be between") == true)
    }

    @Test func unknownPlaceholderInARegexIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {json: {id: {$matches: \"^${grants.zed}$\"}}}"))
        #expect(e?.message.contains("unknown placeholder '${grants.zed}'") == true)
    }

    @Test func unknownPlaceholderIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {json: {id: \"${grants.carol}\"}}"))
        #expect(e?.location.line == 11)
        #expect(e?.message.contains("unknown placeholder '${grants.carol}'") == true)
    }

    @Test func unknownOperatorIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {status: {$between: [1, 2]}}"))
        #expect(e?.message.contains("unknown operator '$between'") == true)
    }

    @Test func stepWithTwoActionsIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "  - request:", with: "  - list_grants: {}\n    request:"))
        #expect(e?.message.contains("several actions") == true)
    }

    @Test func expectWithBothResultAndErrorIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {status: 200}\n      error: {class: X}"))
        #expect(e?.message.contains("exactly one of 'result', 'error' or 'any_of'") == true)
    }

    @Test func wrongTypeIsNamed() {
        let e = error(Self.valid.replacingOccurrences(of: "scopes: [x]", with: "scopes: x"))
        #expect(e?.location.line == 4)
        #expect(e?.message.contains("scopes must be a list of strings") == true)
    }

    @Test func shortSecretValueIsRefused() {
        let text = Self.valid.replacingOccurrences(of: "  grants:", with: "  secrets:\n    s: {type: bearer, secret: abc}\n  grants:")
        #expect(error(text)?.message.contains("at least 8 characters") == true)
    }

    @Test func loaderCollectsErrorsOfEveryFileAndKeepsTheGoodOnes() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-loader-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("sub"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Self.valid.write(to: dir.appendingPathComponent("sub/good.yaml"), atomically: true, encoding: .utf8)
        try "vaultsim: 1\nsteps: []\n".write(to: dir.appendingPathComponent("empty-steps.yaml"), atomically: true, encoding: .utf8)
        try "vaultsim: [\n".write(to: dir.appendingPathComponent("broken.yml"), atomically: true, encoding: .utf8)
        let (scenarios, errors) = ScenarioLoader.load(paths: [dir.path, dir.appendingPathComponent("missing.yaml").path])
        #expect(scenarios.map(\.id) == ["sub/good"])
        #expect(errors.count == 3)
        #expect(errors.contains { $0.location.file.hasSuffix("empty-steps.yaml") && $0.location.line == 2 })
        #expect(errors.contains { $0.location.file.hasSuffix("broken.yml") })
        #expect(errors.contains { $0.message == "no such file or folder" })
    }

    /// What the SDK must refuse itself is passed as written: a URL of another scheme, and
    /// context values that are not strings.
    @Test func aURLOfAnotherSchemeAndRawContextValuesPassAsWritten() throws {
        let text = """
            vaultsim: 1
            steps:
              - request: {method: get, url: "ftp://files.example.com/a.pdf", grant_id: g, context_values: {attempt: 3, ok: true, none: null}}
            """
        let scenario = try ScenarioLoader.parse(text, file: "raw.yaml", defaultID: "raw")
        guard case .request(let params) = scenario.steps[0].action else { Issue.record("not a request"); return }
        #expect(params["url"] == "ftp://files.example.com/a.pdf")
        #expect(params["context"] == ["attempt": .number(3), "ok": true, "none": .null])
        let both = error(text.replacingOccurrences(of: "grant_id: g,", with: "grant_id: g, context: {a: b},"))
        #expect(both?.message.contains("context_values must be a mapping, and not beside context") == true)
        let unknownHost = error(text.replacingOccurrences(of: "ftp://files.example.com", with: "https://files.example.com"))
        #expect(unknownHost?.message.contains("no fake provider serves 'https://files.example.com/a.pdf'") == true)
    }
}
