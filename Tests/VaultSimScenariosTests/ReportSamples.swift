import Foundation
import VaultSimCore
@testable import VaultSimScenarios

/// A run record with one scenario of every verdict, fixed to the byte (times, machine, paths),
/// for the reports' golden files and validity checks.
enum ReportSamples {
    static func location(_ file: String, _ line: Int, _ column: Int = 5) -> SourceLocation {
        SourceLocation(file: "scenarios/\(file)", line: line, column: column)
    }

    static let sdkInfo: JSONValue = ["sdk": "alter-sdk", "version": "0.11.0", "language": "python", "language_version": "3.11.7",
                                     "sdk_path": "/venv/lib/python3.11/site-packages/alter_sdk/__init__.py", "protocol": 1]

    static var scenarios: [ScenarioResult] {
        let passedStep = StepRecord(id: "step 1", op: "request", location: location("errors/unknown-grant.yaml", 6),
                                    arguments: ["method": "GET", "url": "https://www.googleapis.com/calendar/v3/calendars/primary/events",
                                                "grant_id": "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"],
                                    answer: ["error": ["class": "GrantNotFoundError", "ancestors": ["BackendError", "AlterSDKError"],
                                                       "message": "OAuth grant not found", "attributes": ["status_code": 404]]],
                                    startedAfter: 0.412, seconds: 0.031, passed: true)
        let failedStep = StepRecord(id: "step 2", op: "request", location: location("audit/latency.yaml", 12),
                                    arguments: ["method": "GET", "url": "https://api.github.com/user", "grant_id": "g-1"],
                                    answer: ["result": ["status": 200, "body": ["login": "octocat"]]],
                                    startedAfter: 0.52, seconds: 0.044, passed: false)
        return [
            ScenarioResult(scenarioID: "audit/latency", title: "Audit records carry the call's status <and> latency",
                           location: location("audit/latency.yaml", 1, 1), tags: ["audit"], covers: ["C40", "readme.audit"],
                           verdict: .failed,
                           findings: [
                               Finding(kind: .expectation, step: "step 2", location: location("audit/latency.yaml", 12), path: "result.status",
                                       expected: "201", actual: "200",
                                       message: "step 'step 2' (scenarios/audit/latency.yaml:12:5): result.status: expected 201, got 200"),
                               Finding(kind: .then, step: "then.audit", location: location("audit/latency.yaml", 20, 3), path: "audit[0].latency_ms",
                                       expected: "$gt 0.0", actual: "0.0",
                                       message: "then (scenarios/audit/latency.yaml:20:3): audit[0].latency_ms: expected $gt 0.0, got 0.0"),
                           ],
                           steps: [failedStep], duration: .milliseconds(640), sdk: sdkInfo,
                           driverLog: "DEBUG alter_sdk: POST /sdk/token\nDEBUG alter_sdk: 200"),
            ScenarioResult(scenarioID: "connect/popup", title: "Popup flow", location: location("connect/popup.yaml", 1, 1),
                           covers: ["C44"], verdict: .skipped,
                           skipReason: "the driver lacks create_connect_session (it offers: close, list_grants, request)",
                           duration: .milliseconds(120), sdk: sdkInfo),
            ScenarioResult(scenarioID: "errors/unknown-grant", title: "Unknown grant is GrantNotFoundError",
                           location: location("errors/unknown-grant.yaml", 1, 1), covers: ["error.GrantNotFoundError"], verdict: .passed,
                           steps: [passedStep], duration: .milliseconds(530), sdk: sdkInfo,
                           transcript: "transcripts/errors/unknown-grant.har",
                           exchanges: [ExchangeLine(caller: "sdk", method: "POST", url: "http://127.0.0.1:8780/sdk/token", status: 404,
                                                    step: "step 1", answeredBy: "vault", milliseconds: 2.25),
                                        ExchangeLine(caller: "browser", method: "GET", url: "https://accounts.google.com/o/oauth2/v2/auth?state=<<x>>&a=1",
                                                     status: 200, step: nil, answeredBy: "provider", milliseconds: 0.5)]),
            ScenarioResult(scenarioID: "setup/broken-given", title: "A sandbox that cannot be made",
                           location: location("setup/broken-given.yaml", 1, 1), verdict: .errored,
                           findings: [Finding(kind: .setup, location: location("setup/broken-given.yaml", 1, 1),
                                              message: "given (scenarios/setup/broken-given.yaml:1:1): cannot set up the sandbox: no such provider 'myspace'")],
                           duration: .milliseconds(15)),
        ]
    }

    static var record: RunRecord {
        RunRecord(vaultsim: "vaultsim 0.3.0 (wire-compatible with alter-sdk 0.11.0)",
                  suite: scenarios.map(\.scenarioID), sdk: RunRecord.sdk(from: scenarios),
                  driver: "/venv/bin/python -u drivers/python/driver.py", mode: "proxy",
                  machine: RunRecord.Machine(cores: 2, os: "Linux 6.1.0", arch: "x86_64"), seed: 424_242,
                  startedAt: Date(timeIntervalSince1970: 1_796_621_100), seconds: 1.3051, shard: nil,
                  coverage: RunRecord.Coverage(covered: 2, total: 4, uncovered: [["C44", "Connect opens a popup", "(PROTOCOL.md §9)"],
                                                                                   ["readme.audit", "Audit records", "(alter-sdk 0.11.0 README)"]]),
                  scenarios: scenarios)
    }
}
