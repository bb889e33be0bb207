import Foundation
import Testing
@testable import VaultSimScenarios
import VaultSimCore

struct LeakScannerTests {
    static let secret = LeakScanner.Secret(label: "access token of grant g1", value: "ya29.Secret/Value+With=Marks")

    @Test func rawSecretIsFoundWithItsLine() {
        let findings = LeakScanner(secrets: [Self.secret]).scan([("stderr", "ok\nAuthorization: Bearer ya29.Secret/Value+With=Marks\n")])
        #expect(findings == [LeakScanner.Finding(secretLabel: "access token of grant g1", encoding: "raw", source: "stderr", line: 2, hint: "ya29")])
    }

    @Test func urlEncodedSecretIsFound() {
        let findings = LeakScanner(secrets: [Self.secret]).scan([("results", "url=https://x/?t=ya29.Secret%2FValue%2BWith%3DMarks")])
        #expect(findings.map(\.encoding) == ["URL-encoded"])
    }

    @Test func base64EncodedSecretIsFound() {
        let encoded = Data(Self.secret.value.utf8).base64EncodedString()
        let findings = LeakScanner(secrets: [Self.secret]).scan([("audit", #"{"body":"\#(encoded)"}"#)])
        #expect(findings.map(\.encoding) == ["base64-encoded"])
    }

    @Test func cleanTextHasNoFindings() {
        let findings = LeakScanner(secrets: [Self.secret]).scan([("stderr", "GET /calendar 200\nya29.Other")])
        #expect(findings.isEmpty)
    }

    @Test func findingDoesNotRepeatTheSecret() {
        let finding = LeakScanner(secrets: [Self.secret]).scan([("stderr", Self.secret.value)])[0]
        #expect(!finding.description.contains(Self.secret.value))
    }
}

struct JUnitReportTests {
    @Test func failuresAndLogsAreEscapedIntoTheReport() {
        let failed = ScenarioResult(
            scenarioID: "errors/x", title: "x", location: SourceLocation(file: "s/x.yaml", line: 1, column: 1), verdict: .failed,
            findings: [Finding(kind: .expectation, message: "expected <A> & \"B\"")], duration: .milliseconds(1500), sdk: nil,
            driverLog: "log \u{01} line")
        let passed = ScenarioResult(
            scenarioID: "ok", title: "ok", location: SourceLocation(file: "s/ok.yaml", line: 1, column: 1), verdict: .passed,
            duration: .seconds(1), sdk: nil, driverLog: "")
        let record = RunRecord(vaultsim: "v", suite: ["errors/x", "ok"], sdk: nil, driver: "d", mode: "proxy", startedAt: Date(),
                               seconds: 3, shard: nil, coverage: nil, scenarios: [failed, passed])
        let xml = JUnitReport.xml(record)
        #expect(xml.contains(#"<testsuite name="vaultsim.unknown-sdk" tests="2" failures="1" errors="0" skipped="0" time="3.000""#))
        #expect(xml.contains(#"<testcase classname="vaultsim.unknown-sdk.errors" name="x" file="s/x.yaml" time="1.500">"#))
        #expect(xml.contains(#"<failure message="expected &lt;A&gt; &amp; &quot;B&quot;" type="expectation">"#))
        #expect(xml.contains("<system-err>log ? line</system-err>"))
        #expect(xml.contains(#"<testcase classname="vaultsim.unknown-sdk" name="ok" file="s/ok.yaml" time="1.000">"#))
    }
}
