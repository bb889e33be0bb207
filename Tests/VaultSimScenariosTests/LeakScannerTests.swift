import Foundation
import Testing
@testable import VaultSimScenarios

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
