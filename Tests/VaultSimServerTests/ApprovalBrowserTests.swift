import Foundation
import HTTPTypes
import Testing
import VaultSimCore
@testable import VaultSimServer

/// A human approval decided in a real browser (headless Chromium, driven by Selenium from
/// `Browser/approval_browser.py`): a signed `proxy_request` on a grant whose policy requires
/// approval is held (202); the approver opens `approval_url`, sees the exact request, presses
/// Approve; the vault makes the call and the approval holds the provider's answer. Screenshots
/// of the page before and after the decision go to `.build/artefacts/`.
@Suite("Approvals in a real browser", .serialized,
       .enabled(if: BrowserTools.available || BrowserTools.inCI,
                "needs chromium and chromedriver (Debian packages chromium, chromium-driver; .ci/run installs them)"))
struct ApprovalBrowserTests {
    @Test func anApproverApprovesTheExactRequestAndTheVaultMakesIt() async throws {
        guard let tools = BrowserTools.require() else { return }
        let vault = try await TestVault.make()
        let grant = try await vault.seed(GrantSeed(provider: "google", account: "alice@example.com",
                                                   scopes: ["https://www.googleapis.com/auth/calendar.readonly"]))
        try vault.sandbox.store.add(policy: AccessPolicy(name: "review", rule: .requireApproval(seconds: 600)), grantID: grant.id)

        let body = #"{"method":"GET","url":"https://www.googleapis.com/calendar/v3/calendars/primary/events","grant_id":"\#(grant.id)","query_params":{"maxResults":"2"},"reason":"Weekly review"}"#
        let (status, pending, _) = try await vault.send(.post, "/sdk/proxy",
                                                        headers: SDKRoutesTests.signed("/sdk/proxy", body: body, apiKey: vault.sandbox.apiKey),
                                                        body: body)
        #expect(status == 202, "\(pending)")
        let approvalID = try #require(pending["approval_id"]?.stringValue)
        let url = try #require(pending["approval_url"]?.stringValue)
        #expect(url.hasPrefix(vault.server.address.baseURL))

        let screenshot = BrowserTools.artefacts.appendingPathComponent("approval-page.png")
        let seen = try await tools.run(script: BrowserTools.script.deletingLastPathComponent().appendingPathComponent("approval_browser.py"),
                                       ["approval_url": .string(url), "screenshot": .string(screenshot.path), "decision": "approve"])
        #expect(seen["method"]?.stringValue == "GET")
        #expect(seen["url"]?.stringValue == "https://www.googleapis.com/calendar/v3/calendars/primary/events?maxResults=2")
        #expect(seen["status_before"]?.stringValue == "pending")
        #expect(seen["buttons"]?.arrayValue?.compactMap(\.stringValue) == ["Approve", "Deny"])
        #expect(seen["status_after"]?.stringValue == "executed", "\(seen)")
        #expect(seen["result"]?.stringValue?.contains("HTTP 200") == true, "\(seen)")
        #expect(FileManager.default.fileExists(atPath: screenshot.path))

        let approval = try #require(vault.sandbox.approvals.approval(id: approvalID))
        #expect(approval.status(at: vault.sandbox.clock.now) == .executed)
        #expect(approval.result?.status == 200)
        let calls = try vault.sandbox.store.providerRequests(providerID: "google", caller: "vault").map(\.json)
        #expect(calls.contains { $0["path"]?.stringValue == "/calendar/v3/calendars/primary/events" && $0["status"]?.intValue == 200 }, "\(calls)")
    }
}

extension BrowserTools {
    /// Runs a Selenium script of `Browser/` with `arguments` (plus the browser's paths) as its one
    /// JSON argument; returns the JSON line it printed last.
    func run(script: URL, _ arguments: JSONObject) async throws -> JSONValue {
        let python = try await Self.seleniumPython.value
        var all = arguments
        all["chromium"] = .string(chromium)
        all["chromedriver"] = .string(chromedriver)
        let result = try await ChildProcess.run(python, ["-u", script.path, JSONValue.object(all).jsonText], timeout: .seconds(120))
        guard result.succeeded else { throw BrowserTestError("the browser run failed: \(result.summary)") }
        let line = result.stdout.split(separator: "\n").last.map { String($0) } ?? ""
        guard let outcome = JSONValue.parse(line) else { throw BrowserTestError("the browser run printed no outcome: \(result.summary)") }
        return outcome
    }
}
