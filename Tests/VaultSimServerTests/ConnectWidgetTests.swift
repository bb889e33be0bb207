import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// The Connect widget's side of the vault, in-process: the package's files, the popup's entry
/// (`/connect/widget`) and which origins it accepts, and what the hosted pages post to the opener.
struct ConnectWidgetTests {
    let vault: TestVault
    var sandbox: Sandbox { vault.sandbox }
    var connect: ConnectService { ConnectService(credentials: vault.server.credentials(sandbox)) }

    init() async throws { vault = try await TestVault.make() }

    func page(_ uri: String) async throws -> (status: Int, text: String, headers: HTTPFields) {
        try await vault.server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: uri, method: .get) { response in
                (Int(response.status.code), String(buffer: response.body), response.headers)
            }
        }
    }

    func popup(_ token: String, origin: String) -> String {
        "/connect/widget?token=\(token)&origin=\(origin.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? origin)"
    }

    @Test(arguments: [
        ("/npm/@alter-ai/connect@latest/dist/alter-connect.umd.js", 200, "(function (root, factory)"),
        ("/npm/@alter-ai/connect@0.3.1/dist/alter-connect.esm.js", 200, "export default AlterConnect;"),
        ("/npm/@alter-ai/connect/dist/alter-connect.mjs", 200, "export default AlterConnect;"),
        ("/npm/@alter-ai/connect", 200, "(function (root, factory)"),
        ("/npm/@alter-ai/connect@latest/package.json", 200, "\"name\": \"@alter-ai/connect\""),
        ("/npm/@alter-ai/connect@latest/dist/index.d.ts", 200, "export interface Grant"),
        ("/npm/@alter-ai/connect@latest/dist/x.js", 404, "the package has no file 'dist/x.js'"),
        ("/npm/@alter-ai/connect@%3Cb%3E/dist/alter-connect.umd.js", 404, "is not a version"),
        ("/npm/react@18/index.js", 404, "VaultSim serves one npm package here"),
    ])
    func thePackagesFilesAreServedOnTheVaultsPort(path: String, status: Int, contains: String) async throws {
        let answer = try await page(path)
        #expect(answer.status == status, "\(path): \(answer.text.prefix(200))")
        #expect(answer.text.contains(contains), "\(path): \(answer.text.prefix(300))")
        if status == 200 {
            #expect(answer.headers[.accessControlAllowOrigin] == "*", "a module import from the app's origin needs CORS")
        }
    }

    @Test func thePopupAcceptsAPageOfThisMachineAndTheHostedPagesPostToIt() async throws {
        let session = try connect.create(.init(allowedProviders: ["google"]))
        let origin = "http://localhost:5173"
        let opened = try await page(popup(session.token, origin: origin))
        #expect(opened.status == 303)
        #expect(opened.headers[.location] == ConnectPages.sessionPath(sandboxID: sandbox.id, token: session.token))
        #expect(try connect.session(token: session.token).popupOrigin == origin)
        // The chooser posts the provider events to that origin, and only with one known.
        let chooser = try await page(ConnectPages.sessionPath(sandboxID: sandbox.id, token: session.token))
        #expect(chooser.text.contains(#"id="connect-events" data-origin="http://localhost:5173""#))
        #expect(chooser.text.contains("PROVIDER_SELECTED") && chooser.text.contains("OAUTH_STARTED"))
        let plain = try connect.create(.init(allowedProviders: ["google"]))
        #expect(!(try await page(ConnectPages.sessionPath(sandboxID: sandbox.id, token: plain.token))).text.contains("connect-events"))
    }

    @Test(arguments: [
        ("http://127.0.0.1:3000", nil as String?, 303, ""),
        ("https://myapp.example", nil, 403, "pass allowed_origin=&quot;https://myapp.example&quot;"),
        ("https://myapp.example", "https://myapp.example", 303, ""),
        ("http://localhost:3000", "https://myapp.example", 403, "only to https://myapp.example (its allowed_origin)"),
        ("http://localhost:3000/path", nil, 400, "is not an origin"),
        ("javascript:alert(1)", nil, 400, "is not an origin"),
    ])
    func thePopupsOriginIsCheckedAgainstTheSession(origin: String, allowed: String?, status: Int, says: String) async throws {
        let session = try connect.create(.init(allowedProviders: ["google"], allowedOrigin: allowed))
        let answer = try await page(popup(session.token, origin: origin))
        #expect(answer.status == status, "\(origin): \(answer.text)")
        #expect(says.isEmpty || answer.text.contains(says), "\(answer.text)")
        #expect(try connect.session(token: session.token).popupOrigin == (status == 303 ? origin : nil))
    }

    @Test func anUnknownTokenTellsTheOpenerWhy() async throws {
        let answer = try await page(popup("cs_nope", origin: "http://localhost:3000"))
        #expect(answer.status == 404)
        #expect(answer.text.contains(#"data-origin="http://localhost:3000""#))
        #expect(answer.text.contains("session_not_found") && answer.text.contains("window.opener.postMessage"))
        // The small-screen redirect has no opener to tell.
        #expect(!(try await page(popup("cs_nope", origin: "http://localhost:3000") + "&mode=redirect")).text.contains("postMessage"))
    }

    @Test func anExpiredPopupSessionPostsItsEndAndARedirectSessionDoesNot() async throws {
        let popupSession = try connect.create(.init(allowedProviders: ["github"]))
        #expect(try await page(popup(popupSession.token, origin: "http://localhost:3000")).status == 303)
        let redirectSession = try connect.create(.init(allowedProviders: ["github"], returnURL: "https://myapp.example/back"))
        #expect(sandbox.clock.advance(by: 700))
        let expired = try await page(ConnectPages.sessionPath(sandboxID: sandbox.id, token: popupSession.token))
        #expect(expired.status == 410)
        #expect(expired.text.contains("This Connect session has expired"))
        #expect(expired.text.contains("&quot;status&quot;:&quot;expired&quot;") && expired.text.contains("window.opener.postMessage"))
        let other = try await page(ConnectPages.sessionPath(sandboxID: sandbox.id, token: redirectSession.token))
        #expect(other.status == 410 && !other.text.contains("postMessage"))
    }

    /// The widget's own rules (a blocked popup, an expired session, messages from the wrong
    /// origin or window, close, destroy, the event bus, a phone-sized screen), run by Node
    /// against a stand-in window: `Browser/widget_unit.mjs`. Needs `node`; under CI its absence
    /// is a failure.
    @Test func theWidgetsRulesHoldInNode() async throws {
        let node = ["/usr/bin/node", "/usr/local/bin/node"].first(where: FileManager.default.isExecutableFile(atPath:))
        guard let node else {
            #expect(!BrowserTools.inCI, "node is needed under CI (.ci/run installs nodejs)")
            return
        }
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("alter-connect-\(UUID().uuidString).umd.js")
        defer { try? FileManager.default.removeItem(at: file) }
        let served = try await page("/npm/@alter-ai/connect@latest/dist/alter-connect.umd.js")
        try Data(served.text.utf8).write(to: file)
        let script = BrowserTools.packageRoot.appendingPathComponent("Tests/VaultSimServerTests/Browser/widget_unit.mjs")
        let result = try await ChildProcess.run(node, [script.path, file.path, vault.server.address.baseURL], timeout: .seconds(60))
        #expect(result.succeeded, "\(result.summary)")
        #expect(result.stdout.contains("passed 14 of 14"), "\(result.stdout)")
    }

    @Test func aConnectionIsTheWidgetsDocumentedGrant() {
        let result = ConnectResultRecord(grantID: "g-1", providerID: "github", accountIdentifier: "octo", scopes: ["repo"],
                                         operation: "reauth", connectedAt: Date(timeIntervalSince1970: 1_800_000_000))
        let connection = ConnectPages.connection(result)
        #expect(connection == [
            "grant_id": "g-1", "provider": "github", "provider_name": "GitHub", "account_identifier": "octo",
            "timestamp": "2027-01-15T08:00:00Z", "operation": "reauth", "scopes": ["repo"], "status": "active", "metadata": [:],
        ])
    }
}
