import Foundation
import Subprocess
import Synchronization
import Testing
import VaultSimCore
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// The runner with the real alter-sdk 0.11.0 (through the bundled Python driver), and with
/// drivers that misbehave on purpose.
@Suite(.serialized)
struct EndToEndTests {
    @Test func bundledSuitePassesAgainstTheRealSDK() async throws {
        let (scenarios, errors) = ScenarioLoader.load(paths: [EndToEnd.layout.scenarios.path])
        #expect(errors.isEmpty, "\(errors)")
        #expect(scenarios.count >= 22)
        var options = ScenarioRunner.Options()
        options.jobs = 2
        let summary = try await EndToEnd.run(scenarios, driver: try await EndToEnd.pythonDriver.value, options: options)
        for result in summary.results where !result.passed && result.verdict != .skipped {
            Issue.record("\(result.scenarioID): \(result.failures.joined(separator: "\n"))")
        }
        // Only the scenarios of the App generation (requires: {sdk: ">=0.12"}) are skipped.
        let newer = scenarios.filter { $0.sdkRange?.contains("0.11.0") == false }
        #expect(!newer.isEmpty)
        #expect(summary.passedCount == scenarios.count - newer.count)
        #expect(Set(summary.results.filter { $0.verdict == .skipped }.map(\.scenarioID)) == Set(newer.map(\.id)))
        #expect(summary.results.first?.sdk?["version"] == "0.11.0")
    }

    /// `error.kind` is judged: the driver's language-neutral kind must match, and a wrong one is a
    /// finding that names both kinds.
    @Test func anErrorsKindIsJudged() async throws {
        let wrong = try EndToEnd.bundled("errors/unknown-grant.yaml") {
            $0.replacingOccurrences(of: "        class: GrantNotFoundError\n        kind: grant_not_found", with: "        kind: grant_revoked")
        }
        let result = try await EndToEnd.run([wrong], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(!result.passed)
        #expect(result.failures.contains { $0.contains("expected kind grant_revoked") && $0.contains("of kind grant_not_found") }, "\(result.failures)")
    }

    @Test func aDeclaredFaultThatNeverFiresFailsTheScenario() async throws {
        let scenario = try EndToEnd.bundled("errors/provider-5xx.yaml") {
            $0.replacingOccurrences(of: "      path_prefix: /calendar/\n", with: "      path_prefix: /calendar/\n      host: www.googleapis.com\n")
                .replacingOccurrences(of: "steps:\n", with: """
                    steps:
                      - provider_fault: {provider: google, host: gmail.googleapis.com, status: 500, times: 2}

                    """)
        }
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.count == 1, "\(result.failures)")
        #expect(result.failures.first?.contains("google host gmail.googleapis.com → 500 was to fire 2 times but fired 0 times") == true,
                "\(result.failures)")
    }

    @Test func concurrentStepsRunTogetherAndAnyOfAcceptsEitherOutcome() async throws {
        let text = """
            vaultsim: 1
            given:
              grants:
                alice: {provider: google, account: alice@example.com, scopes: [https://www.googleapis.com/auth/calendar.readonly]}
            steps:
              - advance_clock: 2h
              - concurrently:
                  times: 6
                  step:
                    request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant: alice}
                    expect:
                      any_of:
                        - result: {status: 200}
                        - error: {class: GrantNotFoundError}
            then:
              provider_journal:
                google: {$len: 6}
                google by vault: {$len: 3}
            """
        let scenario = try ScenarioLoader.parse(text, file: "concurrent.yaml", defaultID: "concurrent")
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .passed, "\(result.failures)")
        let wrong = try ScenarioLoader.parse(text.replacingOccurrences(of: "result: {status: 200}", with: "result: {status: 201}"),
                                             file: "concurrent.yaml", defaultID: "concurrent")
        let failed = try await EndToEnd.run([wrong], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(failed.failures.count == 6)
        #expect(failed.failures.first?.contains("matches none of the 2 expected outcomes") == true, "\(failed.failures)")
    }

    @Test func wrongExceptionClassFailsTheScenario() async throws {
        let scenario = try EndToEnd.bundled("errors/unknown-grant.yaml") {
            $0.replacingOccurrences(of: "class: GrantNotFoundError", with: "class: GrantRevokedError")
        }
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.contains { $0.contains("expected GrantRevokedError but the SDK raised GrantNotFoundError") })
    }

    @Test func wrongAncestorFailsTheScenario() async throws {
        let scenario = try EndToEnd.bundled("errors/revoked-grant.yaml") {
            $0.replacingOccurrences(of: "ancestors: [ReAuthRequiredError, BackendError, AlterSDKError]", with: "ancestors: [ProviderAPIError]")
        }
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.contains { $0.contains("GrantRevokedError is not a subclass of ProviderAPIError") })
    }

    @Test func wrongJournalExpectationFailsTheScenario() async throws {
        let scenario = try EndToEnd.bundled("google/calendar-list-events-query-params.yaml") {
            $0.replacingOccurrences(of: "query: {maxResults: \"3\"", with: "query: {maxResults: \"4\"")
        }
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .failed)
        // The failure names the line of the journal pattern (the list under `google:`).
        let lines = try String(contentsOfFile: scenario.location.file, encoding: .utf8).components(separatedBy: "\n")
        let journalLine = try #require(lines.firstIndex { $0.hasPrefix("  provider_journal:") }) + 3
        #expect(result.failures == [
            "then (\(scenario.location.file):\(journalLine):7): provider_journal.google[0].query.maxResults: expected \"4\", got \"3\"",
        ])
    }

    @Test func successExpectedButErrorRaisedFails() async throws {
        let scenario = try EndToEnd.bundled("managed-secrets/bearer.yaml") {
            $0.replacingOccurrences(of: "query_params: {user_id: alice}", with: "query_params: {user_id: nobody}")
        }
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.contains { $0.contains("expected success but the SDK raised ProviderAPIError") && $0.contains("404") })
    }

    @Test(arguments: [
        ("crash", "the driver exited"),
        ("babble", "not protocol JSON on stdout: hello, I am not a protocol line"),
        ("hang", "did not answer 'init' within 2.0 seconds"),
    ])
    func aDriverThatCannotStartStopsTheRunAndIsReportedOnce(mode: String, reason: String) async throws {
        // The second scenario has a fault and a `then` check that the first lacks: neither may
        // add noise, and the second scenario is never started.
        let scenarios = [try EndToEnd.bundled("managed-secrets/bearer.yaml"), try EndToEnd.bundled("errors/unknown-grant.yaml"),
                         try EndToEnd.bundled("managed-secrets/bearer.yaml")]
        var options = ScenarioRunner.Options()
        options.startTimeout = .seconds(2)
        let printed = Mutex<[String]>([])
        let summary = try await EndToEnd.run(scenarios, driver: EndToEnd.misbehavingDriver(mode), options: options) { result in
            printed.withLock { $0.append(result.scenarioID) }
        }
        #expect(summary.results.count == 1, "\(summary.results.map(\.scenarioID))")
        #expect(printed.withLock { $0 }.isEmpty, "the failure is reported once, by the caller, not per scenario")
        let failed = try #require(summary.driverStartFailure)
        #expect(failed.driverStartFailure?.contains(reason) == true, "\(failed.driverStartFailure ?? "")")
        #expect(failed.failures.allSatisfy { $0.hasPrefix("init:") || $0.hasPrefix("driver:") }, "\(failed.failures)")
        let report = ConsoleReport.driverStartFailure(failed, driver: "python3 misbehaving_driver.py")
        #expect(report.contains("--sdk alter-sdk==0.11.0") && report.contains("exit 3"), "\(report)")
        for result in summary.results {
            #expect(result.verdict == .errored, "a scenario whose driver never started cannot be judged")
            #expect(result.failures.contains { $0.contains(reason) }, "\(result.failures)")
        }
        if mode == "crash" {
            #expect(summary.results[0].failures.contains { $0.contains("exited(3)") && $0.contains("driver: giving up") })
        }
    }

    /// An SDK with neither generation's client (AlterVault for 0.8–0.11, App from 0.12): the
    /// bundled driver says which APIs it speaks, once, instead of a traceback per scenario. (A
    /// stand-in package, so the test needs no other SDK download.)
    @Test func theBundledDriverSaysWhichSDKItSpeaksWhenTheSDKHasNeitherClient() async throws {
        let stub = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-other-sdk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: stub) }
        try FileManager.default.createDirectory(at: stub.appendingPathComponent("alter_sdk"), withIntermediateDirectories: true)
        try Data("__version__ = \"9.0.0\"\nclass Client:\n    pass\n".utf8).write(to: stub.appendingPathComponent("alter_sdk/__init__.py"))
        var driver = DriverCommand(executable: "python3", arguments: ["-u", EndToEnd.layout.pythonDriver.appendingPathComponent("driver.py").path])
        driver.environment["PYTHONPATH"] = stub.path
        let summary = try await EndToEnd.run([try EndToEnd.bundled("errors/unknown-grant.yaml"), try EndToEnd.bundled("errors/unknown-grant.yaml")],
                                             driver: driver)
        let failed = try #require(summary.driverStartFailure)
        #expect(summary.results.count == 1)
        #expect(failed.driverStartFailure?.contains("alter-sdk 9.0.0 has neither AlterVault (0.8-0.11) nor App (0.12 on)") == true,
                "\(failed.driverStartFailure ?? "")")
        #expect(!failed.driverLog.contains("Traceback"), "\(failed.driverLog)")
    }

    /// One driver process per job serves scenario after scenario (a fresh client each, through
    /// `init` and `end_scenario`), each scenario keeping only its own part of the SDK's log.
    @Test func aReusableDriverServesOneScenarioAfterAnotherWithItsOwnLog() async throws {
        let scenarios = try ["errors/unknown-grant.yaml", "managed-secrets/bearer.yaml", "managed-secrets/basic-auth.yaml"].map { try EndToEnd.bundled($0) }
        let driver = try await EndToEnd.pythonDriver.value
        let reused = try await EndToEnd.run(scenarios, driver: driver, proxy: true)
        #expect(reused.results.allSatisfy { $0.passed }, "\(reused.results.map(\.failures))")
        let pids = Set(reused.results.compactMap { $0.sdk?["pid"]?.intValue })
        #expect(pids.count == 1, "one process for the three scenarios: \(pids)")
        for result in reused.results {
            #expect(result.driverLog.contains("ALTER_BASE_URL uses http://127.0.0.1"), "each log holds its own client's start: \(result.driverLog)")
            #expect(result.driverLog.components(separatedBy: "ALTER_BASE_URL uses").count == 2, "and only its own: \(result.driverLog)")
            #expect(!result.driverLog.contains("vaultsim-end-of-scenario"))
        }
        var fresh = ScenarioRunner.Options()
        fresh.reuseDrivers = false
        let separate = try await EndToEnd.run(scenarios, driver: driver, options: fresh, proxy: true)
        #expect(separate.results.allSatisfy { $0.passed })
        #expect(Set(separate.results.compactMap { $0.sdk?["pid"]?.intValue }).count == 3)
    }

    @Test func leakedAPIKeyInTheSDKLogFailsTheScenario() async throws {
        let scenario = try EndToEnd.bundled("errors/unknown-grant.yaml") { text in
            // The fake driver answers every call with a 200, so expect that and keep only the leak to fail on.
            let steps = text.range(of: "steps:")!.lowerBound
            return String(text[..<steps]) + """
                steps:
                  - request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant_id: x}
                """
        }
        let result = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("leak")).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.count == 1)
        #expect(result.failures.first?.hasPrefix("token leak: the API key") == true)
        #expect(result.failures.first?.contains("found raw in the driver's stderr (SDK logs), line 1") == true)
    }

    @Test func killingAHungDriverAlsoKillsTheChildrenItStarted() async throws {
        var options = ScenarioRunner.Options()
        options.startTimeout = .seconds(2)
        let summary = try await EndToEnd.run([try EndToEnd.bundled("errors/unknown-grant.yaml")], driver: EndToEnd.misbehavingDriver("orphan"), options: options)
        #expect(summary.results[0].failures.contains { $0.contains("did not answer 'init'") })
        // SIGKILL is immediate, but give the kernel a moment to tear the child down.
        var survivors = ""
        for _ in 0..<20 {
            survivors = try await Subprocess.run(.name("pgrep"), arguments: ["-f", "sleep 301.25"], output: .string(limit: 4096), error: .discarded)
                .standardOutput
            if survivors.isEmpty { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(survivors.isEmpty, "left running: \(survivors)")
    }

    @Test func floodingStderrIsCappedAndFailsTheScenario() async throws {
        let scenario = try ScenarioLoader.parse("""
            vaultsim: 1
            steps:
              - request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant_id: x}
            """, file: "flood.yaml", defaultID: "flood")
        let result = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("flood")).results[0]
        #expect(result.failures == ["driver: it wrote more than 16 MiB on stderr; the rest was dropped, so the leak check could not see it"])
        #expect(result.driverLog.utf8.count <= 17 << 20)
    }

    @Test func driverThatExitsNonZeroAtTheEndFailsTheScenario() async throws {
        let scenario = try ScenarioLoader.parse("""
            vaultsim: 1
            steps:
              - request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant_id: x}
            """, file: "exit1.yaml", defaultID: "exit1")
        let result = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("exit1")).results[0]
        #expect(result.failures == ["driver: the driver exited (exited(1))"])
    }

    @Test func theDocumentedExampleScenarioPasses() async throws {
        let doc = try String(contentsOf: EndToEnd.root.appendingPathComponent("docs/scenario-format.md"), encoding: .utf8)
        let start = try #require(doc.range(of: "```yaml\n"))
        let end = try #require(doc.range(of: "\n```", range: start.upperBound..<doc.endIndex))
        let scenario = try ScenarioLoader.parse(String(doc[start.upperBound..<end.lowerBound]), file: "docs/scenario-format.md", defaultID: "doc")
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value).results[0]
        #expect(result.verdict == .passed, "\(result.failures)")
    }

    @Test func driverReportsAPatchedSDKFromPYTHONPATH() async throws {
        let (driver, patched) = try await EndToEnd.patchedDriver { name, source in
            name == "__init__.py" ? source.replacingOccurrences(of: "__version__ = \"0.11.0\"", with: "__version__ = \"0.11.0+patched\"") : source
        }
        defer { try? FileManager.default.removeItem(at: patched) }
        let result = try await EndToEnd.run([try EndToEnd.bundled("errors/unknown-grant.yaml")], driver: driver).results[0]
        #expect(result.verdict == .passed, "\(result.failures)")
        #expect(result.sdk?["version"] == "0.11.0+patched")
        #expect(result.sdk?["sdk_path"]?.stringValue?.hasPrefix(patched.path) == true)
    }

    /// `vaultsim mutate` stops a mutant's run at its first kill: no scenario starts after a failure.
    @Test func aRunThatStopsAfterAFailureStartsNoMoreScenarios() async throws {
        let failing = try EndToEnd.bundled("errors/unknown-grant.yaml")   // the fake answers 200, not GrantNotFoundError
        var options = ScenarioRunner.Options()
        options.stopAfterFailures = 1
        let stopped = try await EndToEnd.run([failing, failing, failing], driver: EndToEnd.misbehavingDriver("fake"), options: options)
        #expect(stopped.results.map(\.verdict) == [.failed])
        let whole = try await EndToEnd.run([failing, failing, failing], driver: EndToEnd.misbehavingDriver("fake"))
        #expect(whole.results.map(\.verdict) == [.failed, .failed, .failed])
    }

    /// C4, checked on every scenario: an SDK whose calls to the vault stop declaring their JSON
    /// body fails, even where every answer it got was right (FastAPI would not have read it as JSON).
    @Test func anSDKThatSendsTheVaultABodyWithoutItsContentTypeFails() async throws {
        let (driver, patched) = try await EndToEnd.patchedDriver { name, source in
            name == "client.py" ? source.replacingOccurrences(of: ", \"Content-Type\": \"application/json\"}", with: "}") : source
        }
        defer { try? FileManager.default.removeItem(at: patched) }
        let result = try await EndToEnd.run([try EndToEnd.bundled("errors/unknown-grant.yaml")], driver: driver).results[0]
        #expect(result.verdict == .failed)
        let wire = result.findings.filter { $0.kind == .wire }
        #expect(wire.map(\.message) == ["wire (C4): POST /sdk/token sent a body with no Content-Type; every call to the vault with a body "
                                         + "declares Content-Type: application/json"], "\(result.failures)")
        #expect(result.findings.allSatisfy { $0.kind == .wire }, "only the wire rule is broken: \(result.failures)")
    }

    /// C4, checked on every scenario: every call names the SDK in its User-Agent.
    @Test func anSDKThatStopsNamingItselfToTheVaultFails() async throws {
        let (driver, patched) = try await EndToEnd.patchedDriver { name, source in
            name == "client.py" ? source.replacingOccurrences(of: "\"User-Agent\": _sdk_user_agent(),", with: "") : source
        }
        defer { try? FileManager.default.removeItem(at: patched) }
        let result = try await EndToEnd.run([try EndToEnd.bundled("errors/unknown-grant.yaml")], driver: driver).results[0]
        #expect(result.verdict == .failed)
        #expect(result.findings.filter { $0.kind == .wire }.map(\.message)
            == ["wire (C4): POST /sdk/token was sent with User-Agent 'python-httpx/\(try Self.httpxVersion(driver))'; every call to the vault "
                + "names the SDK as User-Agent: alter-sdk-python/0.11.0"], "\(result.failures)")
    }

    static func httpxVersion(_ driver: DriverCommand) throws -> String {
        let lib = URL(fileURLWithPath: driver.executable).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib")
        let python = try #require(try FileManager.default.contentsOfDirectory(atPath: lib.path).first { $0.hasPrefix("python") })
        let site = lib.appendingPathComponent("\(python)/site-packages")
        let info = try #require(try FileManager.default.contentsOfDirectory(atPath: site.path).first { $0.hasPrefix("httpx-") && $0.hasSuffix(".dist-info") })
        return String(info.dropFirst("httpx-".count).dropLast(".dist-info".count))
    }

    @Test func throughTheProxyTheRealSDKCallsTheRealURLsAndResultsCarryThem() async throws {
        let scenario = try EndToEnd.bundled("google/calendar-list-events-query-params.yaml")
        let result = try await EndToEnd.run([scenario], driver: try await EndToEnd.pythonDriver.value, proxy: true).results[0]
        #expect(result.verdict == .passed, "\(result.failures)")
    }

    @Test func aDriverWhoseSDKIgnoresTheProxyIsCaughtInProxyMode() async throws {
        let scenario = try EndToEnd.bundled("google/calendar-list-events-query-params.yaml")
        let result = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("fake"), proxy: true).results[0]
        #expect(result.verdict == .failed)
        #expect(result.failures.contains { $0.hasPrefix("proxy: 1 request(s) got an answer, but none reached VaultSim's fake providers") },
                "\(result.failures)")
        // Without the proxy the runner does not make that claim (the same fake fails on its answers only).
        let plain = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("fake")).results[0]
        #expect(!plain.failures.contains { $0.hasPrefix("proxy:") }, "\(plain.failures)")
    }

    @Test func anOlderSDKWithoutRevokeGrantSkipsScenariosThatNeedIt() async throws {
        let driver = try await PythonDriverBootstrap(layout: EndToEnd.layout, requirement: "alter-sdk==0.8.0").ensure(log: { print($0) })
        #expect(driver.executable.contains("/.venv/alter-sdk-0.8.0/"))
        let scenarios = [try EndToEnd.bundled("grants/revoke-then-request.yaml"), try EndToEnd.bundled("google/calendar-list-events-query-params.yaml")]
        let summary = try await EndToEnd.run(scenarios, driver: driver)
        #expect(summary.results[0].verdict == .skipped)
        #expect(summary.results[0].failures == ["the driver lacks revoke_grant (it offers: authenticate, close, connect, construct_client, create_connect_session, list_grants, request, verify_user_token)"])
        #expect(summary.results[1].verdict == .passed, "\(summary.results[1].failures)")
        #expect(summary.results[1].sdk?["version"] == "0.8.0")
    }

    @Test func cliExitsWithTwoAndFileLineOnAMalformedScenario() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("broken.yaml")
        try "vaultsim: 1\nsteps:\n  - request: {method: GET, url: https://www.googleapis.com/x, grant_id: g}\n    expect: {eror: {}}\n"
            .write(to: file, atomically: true, encoding: .utf8)
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let result = try await Subprocess.run(.path(FilePath(binary)), arguments: ["run", file.path, "--driver", "false"],
                                              workingDirectory: FilePath(EndToEnd.root.path),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(result.terminationStatus == .exited(2))
        #expect(result.standardError.contains("\(file.path):4:"), "\(result.standardError)")
        #expect(result.standardError.contains("unknown key 'eror'"))
    }
}
