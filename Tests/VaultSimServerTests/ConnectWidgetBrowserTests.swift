import Foundation
import Testing
import VaultSimCore
@testable import VaultSimServer

/// The integration guide's popup flow (Option B) in headless Chromium against `vaultsim serve`
/// (`Browser/widget_browser.py`): the guide's own code, as the guide prints it, loads VaultSim's
/// `@alter-ai/connect` from its CDN address through serve's proxy (Chromium started with the flags
/// serve's banner prints), a backend route creates the session through the real alter-sdk
/// 0.11.0, and a user connects Google, denies, or closes the popup. The opener page's
/// screenshots before and after go to `.build/artefacts/widget-opener-{before,after}.png`.
@Suite("The Connect widget in a real browser", .serialized,
       .enabled(if: BrowserTools.available || BrowserTools.inCI,
                "needs chromium and chromedriver (Debian packages chromium, chromium-driver; .ci/run installs them)"))
struct ConnectWidgetBrowserTests {
    static let binary = BrowserTools.packageRoot.appendingPathComponent(".build/debug/vaultsim")
    static let script = BrowserTools.packageRoot.appendingPathComponent("Tests/VaultSimServerTests/Browser/widget_browser.py")
    static let guide = BrowserTools.packageRoot.deletingLastPathComponent().appendingPathComponent("shared/reference/integration-guide.txt")

    @Test func theGuidesPopupFlowRunsUnchangedForSuccessDenialAndClosing() async throws {
        guard let tools = BrowserTools.require() else { return }
        #expect(FileManager.default.isExecutableFile(atPath: Self.binary.path), "build vaultsim first (swift build)")
        let python = try await BrowserTools.seleniumPython.value
        let before = BrowserTools.artefacts.appendingPathComponent("widget-opener-before.png")
        let after = BrowserTools.artefacts.appendingPathComponent("widget-opener-after.png")
        for stale in [before, after] { try? FileManager.default.removeItem(at: stale) }
        let arguments: JSONValue = [
            "chromium": .string(tools.chromium), "chromedriver": .string(tools.chromedriver), "vaultsim": .string(Self.binary.path),
            "root": .string(BrowserTools.packageRoot.path), "guide": .string(Self.guide.path), "artefacts": .string(BrowserTools.artefacts.path),
            "runs": ["success", "deny", "close"],
        ]
        let result = try await ChildProcess.run(python, ["-u", Self.script.path, arguments.jsonText], timeout: .seconds(240))
        try #require(result.succeeded, "\(result.summary)")
        let report = try #require(JSONValue.parse(result.stdout.split(separator: "\n").last.map(String.init) ?? ""), "\(result.summary)")
        let vault = report["vault"]?.stringValue ?? ""

        // Success: the documented events in order, onSuccess's connection, and its grant at work.
        let success = try #require(report["runs"]?["success"])
        #expect(Self.events(success) == ["OPEN", "PROVIDER_SELECTED", "OAUTH_STARTED", "OAUTH_COMPLETE", "EXIT"])
        #expect(success["events"]?.arrayValue?.last?["metadata"]?["reason"]?.stringValue == "success")
        #expect(Self.strings(success["offered"]) == ["provider-google", "provider-slack", "provider-github"],
                "the guide's session allows google, slack and github")
        let opened = try #require(success["opened"]?.arrayValue?.first)
        #expect(opened["features"]?.stringValue?.contains("width=500,height=700") == true, "window.open features: \(opened)")
        #expect(opened["url"]?.stringValue?.hasPrefix("\(vault)/connect/widget?token=cs_") == true)
        let logs = success["logs"]?.arrayValue ?? []
        #expect(logs.count == 1, "the guide's onSuccess logs once per connection: \(logs)")
        let logged = Self.strings(logs.first)
        #expect(logged.count == 4 && logged[0] == "log" && logged[1] == "Connected!" && logged[3] == "google", "\(logged)")
        #expect(success["loads"]?.intValue == 1, "the guide's onSuccess calls loadIntegrations() once")
        #expect(success["open"]?.boolValue == false)
        #expect(success["version"]?.stringValue == ConnectWidgetSource.version)
        // What the widget was handed: the hosted pages' messages, all from the vault's origin.
        let messages = success["messages"]?.arrayValue ?? []
        #expect(!messages.isEmpty && messages.allSatisfy { $0["origin"]?.stringValue == vault })
        let outcome = try #require(messages.last(where: { $0["data"]?["type"]?.stringValue == "alter-connect" })?["data"])
        let connection = try #require(outcome["connections"]?.arrayValue?.first)
        #expect(connection["grant_id"]?.stringValue == logged.dropFirst(2).first)
        #expect(connection["provider"]?.stringValue == "google" && connection["provider_name"]?.stringValue == "Google")
        #expect(connection["account_identifier"]?.stringValue == "alice@example.com")
        #expect(connection["metadata"]?["account_email"]?.stringValue == "alice@example.com")
        #expect(["creation", "reauth"].contains(connection["operation"]?.stringValue ?? ""))
        #expect(connection["status"]?.stringValue == "active")
        #expect(connection["scopes"]?.arrayValue?.isEmpty == false)
        #expect(connection["timestamp"]?.stringValue?.isEmpty == false)
        #expect(success["request"]?["status"]?.intValue == 200, "vault.request with the new grant_id: \(success["request"] ?? .null)")

        // Denial: onError with the session's code; no OAUTH_COMPLETE, no onSuccess.
        let deny = try #require(report["runs"]?["deny"])
        #expect(Self.events(deny) == ["OPEN", "PROVIDER_SELECTED", "OAUTH_STARTED", "EXIT"])
        #expect(deny["events"]?.arrayValue?.last?["metadata"]?["reason"]?.stringValue == "error")
        let denied = try #require(deny["logs"]?.arrayValue?.first?.arrayValue)
        try #require(denied.count == 3, "the guide's onError logs once: \(denied)")
        #expect(denied[0].stringValue == "error" && denied[1].stringValue == "Connection failed")
        #expect(denied[2]["name"]?.stringValue == "AlterError" && denied[2]["code"]?.stringValue == "connect_denied", "\(denied)")
        #expect(deny["loads"]?.intValue == 0)

        // Closing the popup: onExit, and the events OPEN then EXIT.
        let close = try #require(report["runs"]?["close"])
        #expect(Self.events(close) == ["OPEN", "EXIT"])
        #expect(close["events"]?.arrayValue?.last?["metadata"]?["reason"]?.stringValue == "user_closed")
        #expect((close["callbacks"]?.arrayValue ?? []).map { Self.strings($0).joined(separator: " ") } == ["onEvent OPEN", "onExit", "onEvent EXIT"])

        // Nothing else on the CDN: the proxy's usual refusal, naming what VaultSim serves there.
        let refusal = report["cdn_refusal"]?.stringValue ?? ""
        #expect(refusal.contains("no fake provider owns the host 'cdn.jsdelivr.net'") && refusal.contains("@alter-ai/connect"), "\(refusal)")
        #expect(report["vault_copy"]?.stringValue?.hasPrefix("/*! @alter-ai/connect \(ConnectWidgetSource.version)") == true)

        // The package folder serve wrote installs offline and imports both ways.
        let npm = try #require(report["npm"])
        if let skipped = npm["skipped"]?.stringValue {
            #expect(!BrowserTools.inCI, "under CI npm must be there: \(skipped)")
        } else {
            #expect(npm["install"]?.intValue == 0, "npm install: \(npm["install_output"] ?? .null)")
            #expect(npm["esm"]?.stringValue == "function \(ConnectWidgetSource.version)")
            #expect(npm["cjs"]?.stringValue == "function \(ConnectWidgetSource.version)")
        }

        let pngs = try [before, after].map { try Data(contentsOf: $0) }
        #expect(pngs.allSatisfy { $0.starts(with: [0x89, 0x50, 0x4E, 0x47]) })
        #expect(pngs[0] != pngs[1], "the opener page looks the same after the connection")
        print("Connect widget browser test: screenshots at \(before.path) and \(after.path)")
    }

    static func events(_ run: JSONValue) -> [String] {
        (run["events"]?.arrayValue ?? []).compactMap { $0["event"]?.stringValue }
    }

    static func strings(_ value: JSONValue?) -> [String] {
        (value?.arrayValue ?? []).map { $0.stringValue ?? "" }
    }
}
