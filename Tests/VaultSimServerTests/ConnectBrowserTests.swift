import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Testing
import VaultSimCore
@testable import VaultSimServer
#if canImport(Glibc)
import Glibc
#endif

/// The Connect popup flow in a real browser (headless Chromium, driven by Selenium from
/// `Browser/connect_browser.py`): an app's page on another origin opens the hosted Connect page
/// in a popup, the user picks Google, chooses an account on Google's consent page and allows;
/// the result page posts the outcome to `window.opener`, which the browser delivers only when the
/// opener's origin is the session's `allowed_origin`. The consent page's screenshot is kept in
/// `.build/artefacts/`.
///
/// Needs `chromium` and `chromedriver` (Debian: chromium, chromium-driver; `.ci/run` installs
/// them) and Python 3 with venv; Selenium is installed into `.build/browser-venv` on first use.
/// Without a browser the tests are skipped, except under CI (`CI` set), where that is a failure.
@Suite("Connect in a real browser", .serialized,
       .enabled(if: BrowserTools.available || BrowserTools.inCI,
                "needs chromium and chromedriver (Debian packages chromium, chromium-driver; .ci/run installs them)"))
struct ConnectBrowserTests {
    /// A sandbox whose Google has two accounts, alice and bob.
    static func sandboxWithTwoAccounts() async throws -> (VaultSimServer, Sandbox) {
        let vault = try await TestVault.make()
        try vault.server.addAccount(provider: "google", login: "alice@example.com", displayName: "Alice Example", in: vault.sandbox)
        try vault.server.addAccount(provider: "google", login: "bob@example.com", displayName: "Bob Example", in: vault.sandbox)
        return (vault.server, vault.sandbox)
    }

    /// A Google-only session whose result page posts to `allowedOrigin`, and its hosted page's URL.
    static func popupSession(_ server: VaultSimServer, _ sandbox: Sandbox,
                             allowedOrigin: String) throws -> (ConnectService, ConnectSession, String) {
        let connect = ConnectService(credentials: server.credentials(sandbox))
        let session = try connect.create(ConnectService.SessionRequest(allowedProviders: ["google"], allowedOrigin: allowedOrigin))
        return (connect, session, ConnectPages.sessionURL(serverURL: server.address.baseURL, sandboxID: sandbox.id, token: session.token))
    }

    /// The app's page opens the popup; Google's consent page lists both accounts; the user picks
    /// bob and allows; the opener (at the allowed origin) receives exactly one message, from
    /// the vault's origin, naming bob's new grant; the session polls completed.
    @Test func popupFlowPostsTheOutcomeToTheOpenerAtTheAllowedOrigin() async throws {
        guard let tools = BrowserTools.require() else { return }
        let (server, sandbox) = try await Self.sandboxWithTwoAccounts()
        let screenshot = BrowserTools.artefacts.appendingPathComponent("connect-consent-google.png")

        try await OpenerPage.serve { port in
            let allowedOrigin = "http://127.0.0.1:\(port)"
            let (connect, session, connectURL) = try Self.popupSession(server, sandbox, allowedOrigin: allowedOrigin)

            let run = try await tools.drive(BrowserRun(
                openerURL: OpenerPage.url(origin: allowedOrigin, connectURL: connectURL), screenshot: screenshot.path,
                account: "bob@example.com", messageWait: 5, waitAll: false))

            #expect(run.consentHeading.hasSuffix("wants access to your Google Account"), "consent heading: \(run.consentHeading)")
            #expect(Set(run.accounts) == ["alice@example.com", "bob@example.com"], "the consent page offered \(run.accounts)")
            #expect(run.buttons.contains("Allow") && run.buttons.contains("Cancel"), "the consent page's buttons: \(run.buttons)")
            #expect(run.resultTitle == "You're all set")
            #expect(run.resultStatus == "completed")

            // The session, as the app's poll sees it.
            let polled = try connect.session(token: session.token)
            #expect(polled.status(at: sandbox.clock.now) == .completed)
            #expect(polled.results.count == 1)
            let result = try #require(polled.results.first)
            #expect(result.providerID == "google")
            #expect(result.accountIdentifier == "bob@example.com")

            // The opener's messages, all from the vault's origin: the chooser's two events, then
            // one outcome with the connection made.
            let events = run.received.filter { $0["data"]?["type"]?.stringValue == "alter-connect:event" }
            #expect(events.map { $0["data"]?["event"]?.stringValue ?? "" } == ["PROVIDER_SELECTED", "OAUTH_STARTED"])
            #expect(events.allSatisfy { $0["origin"]?.stringValue == server.address.baseURL && $0["data"]?["metadata"]?["provider"]?.stringValue == "google" })
            let outcomes = run.received.filter { $0["data"]?["type"]?.stringValue == "alter-connect" }
            #expect(outcomes.count == 1, "the opener received \(run.received.count) messages; browser console: \(run.console)")
            let message = try #require(outcomes.first)
            #expect(message["origin"]?.stringValue == server.address.baseURL)
            let data = try #require(message["data"])
            #expect(data["type"]?.stringValue == "alter-connect")
            #expect(data["status"]?.stringValue == "completed")
            let connections = data["connections"]?.arrayValue ?? []
            #expect(connections.count == 1)
            #expect(connections.first?["account_identifier"]?.stringValue == "bob@example.com")
            #expect(connections.first?["provider"]?.stringValue == "google")
            #expect(connections.first?["provider_name"]?.stringValue == "Google")
            #expect(connections.first?["operation"]?.stringValue == "creation")
            #expect(connections.first?["status"]?.stringValue == "active")
            #expect(connections.first?["grant_id"]?.stringValue == result.grantID)
        }

        // The consent page's screenshot, kept as the test's artefact.
        let png = try Data(contentsOf: screenshot)
        #expect(png.count > 1000)
        #expect(png.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]), "\(screenshot.path) is not a PNG")
        print("Connect browser test: the consent page's screenshot is at \(screenshot.path)")
    }

    /// The same flow from a page on another origin (`localhost` is not `127.0.0.1`): the
    /// connection is made and the session completes, but the browser delivers nothing to the
    /// opener, although the popup still has one.
    @Test func anOpenerAtAnotherOriginReceivesNothing() async throws {
        guard let tools = BrowserTools.require() else { return }
        let (server, sandbox) = try await Self.sandboxWithTwoAccounts()
        let screenshot = BrowserTools.artefacts.appendingPathComponent("connect-consent-google-other-origin.png")

        try await OpenerPage.serve { port in
            let allowedOrigin = "http://127.0.0.1:\(port)"
            let (connect, session, connectURL) = try Self.popupSession(server, sandbox, allowedOrigin: allowedOrigin)

            // Same server and port, another origin: the page is opened as localhost.
            let run = try await tools.drive(BrowserRun(
                openerURL: OpenerPage.url(origin: "http://localhost:\(port)", connectURL: connectURL), screenshot: screenshot.path,
                account: "bob@example.com", messageWait: 2, waitAll: true))

            #expect(Set(run.accounts) == ["alice@example.com", "bob@example.com"])
            #expect(run.resultTitle == "You're all set")
            #expect(run.resultStatus == "completed")
            let polled = try connect.session(token: session.token)
            #expect(polled.status(at: sandbox.clock.now) == .completed)
            #expect(polled.results.map(\.accountIdentifier) == ["bob@example.com"])

            #expect(run.popupHasOpener, "the popup lost its opener, so this test would prove nothing")
            #expect(run.received.isEmpty, "a page at http://localhost:\(port) received \(run.received.count) messages meant for \(allowedOrigin)")
        }
    }
}

// MARK: - the browser

/// Where Chromium, ChromeDriver and the Selenium venv are.
struct BrowserTools: Sendable {
    let chromium: String
    let chromedriver: String

    static let environment = ProcessInfo.processInfo.environment

    static let chromiumPath: String? = locate(override: environment["VAULTSIM_CHROMIUM"],
                                              candidates: ["/usr/bin/chromium", "/usr/bin/chromium-browser"],
                                              names: ["chromium", "chromium-browser"])
    static let chromedriverPath: String? = locate(override: environment["VAULTSIM_CHROMEDRIVER"],
                                                  candidates: ["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"],
                                                  names: ["chromedriver"])

    static var available: Bool { chromiumPath != nil && chromedriverPath != nil }

    /// Under CI a missing browser is a failure, not a skip.
    static var inCI: Bool {
        guard let value = environment["CI"]?.lowercased() else { return false }
        return !["", "0", "false", "no"].contains(value)
    }

    /// The tools, or nil after recording why the test cannot run (it only runs without them under CI).
    static func require(sourceLocation: SourceLocation = #_sourceLocation) -> BrowserTools? {
        guard let chromium = chromiumPath, let chromedriver = chromedriverPath else {
            let missing = [chromiumPath == nil ? "chromium" : nil, chromedriverPath == nil ? "chromedriver" : nil].compactMap { $0 }
            Issue.record("CI is set but \(missing.joined(separator: " and ")) cannot be found (looked in /usr/bin and on PATH; VAULTSIM_CHROMIUM and VAULTSIM_CHROMEDRIVER can name them): .ci/run installs chromium and chromium-driver",
                         sourceLocation: sourceLocation)
            return nil
        }
        return BrowserTools(chromium: chromium, chromedriver: chromedriver)
    }

    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("Browser/connect_browser.py")
    static let artefacts = packageRoot.appendingPathComponent(".build/artefacts")
    static let venv = packageRoot.appendingPathComponent(".build/browser-venv")
    /// Selenium, and the real alter-sdk for the widget test's app backend.
    static let requirements = ["selenium>=4.20,<5", "alter-sdk==0.11.0"]
    static var seleniumRequirement: String { requirements.joined(separator: " ") }

    /// The venv's Python, with Selenium and alter-sdk: made once per test process (and kept across runs; a venv
    /// without its ready marker, or made for another requirement, is made again).
    static let seleniumPython = Task<String, any Error> {
        let fm = FileManager.default
        let marker = venv.appendingPathComponent(".vaultsim-ready")
        let python = venv.appendingPathComponent("bin/python").path
        if let made = try? String(contentsOf: marker, encoding: .utf8), made == seleniumRequirement, fm.isExecutableFile(atPath: python) {
            return python
        }
        try? fm.removeItem(at: venv)
        try fm.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
        let systemPython = environment["VAULTSIM_PYTHON"] ?? "python3"
        try await step(ChildProcess.run("/usr/bin/env", [systemPython, "-m", "venv", venv.path], timeout: .seconds(120)),
                       "making the Selenium venv with \(systemPython) -m venv")
        try await step(ChildProcess.run(venv.appendingPathComponent("bin/pip").path,
                                        ["install", "--disable-pip-version-check", "--quiet"] + requirements, timeout: .seconds(300)),
                       "installing \(seleniumRequirement) into \(venv.path) (PyPI must be reachable)")
        try Data(seleniumRequirement.utf8).write(to: marker)
        return python
    }

    private static func step(_ result: ChildProcess.Result, _ what: String) throws {
        guard result.succeeded else { throw BrowserTestError("\(what) failed: \(result.summary)") }
    }

    /// Runs the flow in Chromium; throws with the script's stderr when it fails.
    func drive(_ run: BrowserRun) async throws -> BrowserOutcome {
        let python = try await Self.seleniumPython.value
        var arguments = run
        arguments.chromium = chromium
        arguments.chromedriver = chromedriver
        let json = String(decoding: try JSONEncoder().encode(arguments), as: UTF8.self)
        let result = try await ChildProcess.run(python, ["-u", Self.script.path, json], timeout: .seconds(120))
        guard result.succeeded else { throw BrowserTestError("the browser run failed: \(result.summary)") }
        let line = result.stdout.split(separator: "\n").last.map { String($0) } ?? ""
        guard let outcome = JSONValue.parse(line).flatMap(BrowserOutcome.init) else {
            throw BrowserTestError("the browser run printed no outcome: \(result.summary)")
        }
        return outcome
    }

    private static func locate(override: String?, candidates: [String], names: [String]) -> String? {
        let fm = FileManager.default
        if let override, !override.isEmpty { return fm.isExecutableFile(atPath: override) ? override : nil }
        if let found = candidates.first(where: fm.isExecutableFile(atPath:)) { return found }
        let path = (environment["PATH"] ?? "").split(separator: ":").map(String.init)
        for directory in path {
            for name in names {
                let candidate = URL(fileURLWithPath: directory).appendingPathComponent(name).path
                if fm.isExecutableFile(atPath: candidate) { return candidate }
            }
        }
        return nil
    }
}

/// What `connect_browser.py` takes (one JSON object).
struct BrowserRun: Encodable, Sendable {
    var chromium = ""
    var chromedriver = ""
    var openerURL: String
    var screenshot: String
    var account: String
    var messageWait: Double
    var waitAll: Bool
    var stepTimeout: Double = 20

    init(openerURL: String, screenshot: String, account: String, messageWait: Double, waitAll: Bool) {
        self.openerURL = openerURL
        self.screenshot = screenshot
        self.account = account
        self.messageWait = messageWait
        self.waitAll = waitAll
    }

    enum CodingKeys: String, CodingKey {
        case chromium, chromedriver, screenshot, account
        case openerURL = "opener_url"
        case messageWait = "message_wait"
        case waitAll = "wait_all"
        case stepTimeout = "step_timeout"
    }
}

/// What `connect_browser.py` saw (its JSON line).
struct BrowserOutcome: Sendable {
    var consentHeading: String
    var accounts: [String]
    var buttons: [String]
    var resultTitle: String
    var resultStatus: String
    /// The opener's messages: `{"origin": ..., "data": ...}` each.
    var received: [JSONValue]
    var popupHasOpener: Bool
    var console: [String]

    init?(_ json: JSONValue) {
        guard json.objectValue != nil else { return nil }
        let strings = { (key: String) in (json[key]?.arrayValue ?? []).compactMap(\.stringValue) }
        consentHeading = json["consent_heading"]?.stringValue ?? ""
        accounts = strings("accounts")
        buttons = strings("buttons")
        resultTitle = json["result_title"]?.stringValue ?? ""
        resultStatus = json["result_status"]?.stringValue ?? ""
        received = json["received"]?.arrayValue ?? []
        popupHasOpener = json["popup_has_opener"]?.boolValue ?? false
        console = strings("console")
    }
}

struct BrowserTestError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

// MARK: - the app's page, on another origin

/// An app's page on an origin of its own (a second server on 127.0.0.1): a button that opens
/// the Connect URL (from its `connect` query parameter) in a popup, and a `message` listener
/// that appends each message it receives to `#received` as a JSON line `{"origin", "data"}`.
enum OpenerPage {
    static let html = """
        <!DOCTYPE html>
        <html lang="en"><head><meta charset="utf-8"><title>An app on another origin</title></head>
        <body>
        <h1>Example app</h1>
        <button id="open" type="button">Connect an account</button>
        <pre id="received"></pre>
        <script>
        var connectURL = new URLSearchParams(window.location.search).get("connect");
        document.getElementById("open").addEventListener("click", function () {
          window.open(connectURL, "connect", "popup,width=600,height=700");
        });
        window.addEventListener("message", function (event) {
          document.getElementById("received").textContent += JSON.stringify({origin: event.origin, data: event.data}) + "\\n";
        });
        </script>
        </body></html>
        """

    static func url(origin: String, connectURL: String) -> String {
        "\(origin)/opener.html?connect=\(connectURL.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? connectURL)"
    }

    /// Serves the page on 127.0.0.1 (a port of its own) while `body` runs with that port.
    static func serve(_ body: (Int) async throws -> Void) async throws {
        let router = Router(context: BasicRequestContext.self)
        router.get("opener.html") { _, _ in
            Response(status: .ok, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                     body: .init(byteBuffer: ByteBuffer(string: OpenerPage.html)))
        }
        var logger = Logger(label: "vaultsim.tests.opener")
        logger.logLevel = .warning
        let address = ServerAddress()
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0), serverName: "opener"),
                              onServerRunning: { channel in address.set(host: "127.0.0.1", port: channel.localAddress?.port ?? 0) },
                              logger: logger)
        let task = Task {
            do {
                try await app.runService(gracefulShutdownSignals: [])
            } catch {
                address.failToStart(error)
                throw error
            }
            address.failToStart(BrowserTestError("the opener page's server stopped before it listened"))
        }
        let timeout = Task {
            try await Task.sleep(for: .seconds(20))
            address.failToStart(BrowserTestError("the opener page's server did not listen within 20 s"))
        }
        defer { timeout.cancel() }
        do {
            try await address.waitUntilBound()
            guard let port = address.port, port > 0 else { throw BrowserTestError("the opener page's server has no port") }
            try await body(port)
        } catch {
            task.cancel()
            _ = await task.result
            throw error
        }
        task.cancel()
        _ = await task.result
    }
}

// MARK: - child processes

/// A child process run to completion with a time limit, its output collected in files (so a
/// chatty child never blocks on a full pipe).
enum ChildProcess {
    struct Result: Sendable {
        var command: String
        var status: Int32
        var timedOut: Bool
        var stdout: String
        var stderr: String

        var succeeded: Bool { !timedOut && status == 0 }

        var summary: String {
            let how = timedOut ? "timed out and was stopped" : "exited with status \(status)"
            return "`\(command)` \(how)\n--- stderr ---\n\(stderr.suffix(8000))\n--- stdout ---\n\(stdout.suffix(4000))"
        }
    }

    static func run(_ executable: String, _ arguments: [String], timeout: Duration) async throws -> Result {
        let fm = FileManager.default
        let directory = fm.temporaryDirectory.appendingPathComponent("vaultsim-child-\(UUID().uuidString)")
        try fm.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? fm.removeItem(at: directory) }
        let outURL = directory.appendingPathComponent("stdout")
        let errURL = directory.appendingPathComponent("stderr")
        guard fm.createFile(atPath: outURL.path, contents: nil), fm.createFile(atPath: errURL.path, contents: nil) else {
            throw BrowserTestError("cannot create output files in \(directory.path)")
        }
        let out = try FileHandle(forWritingTo: outURL)
        let err = try FileHandle(forWritingTo: errURL)
        defer {
            try? out.close()
            try? err.close()
        }

        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = out
        process.standardError = err
        try process.run()

        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        var timedOut = false
        while process.isRunning {
            if clock.now >= deadline || Task.isCancelled {
                timedOut = true
                break
            }
            try? await Task.sleep(for: .milliseconds(100))
        }
        if timedOut {
            // SIGTERM first (the browser script quits Chromium on it), SIGKILL 10 s later.
            process.terminate()
            let grace = clock.now.advanced(by: .seconds(10))
            while process.isRunning && clock.now < grace {
                try? await Task.sleep(for: .milliseconds(100))
            }
            #if canImport(Glibc)
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            #endif
        }
        process.waitUntilExit()

        let stdout = (try? String(contentsOf: outURL, encoding: .utf8)) ?? ""
        let stderr = (try? String(contentsOf: errURL, encoding: .utf8)) ?? ""
        let command = ([executable] + arguments).map { $0.count > 300 ? String($0.prefix(300)) + "…" : $0 }.joined(separator: " ")
        return Result(command: command, status: process.terminationStatus, timedOut: timedOut, stdout: stdout, stderr: stderr)
    }
}
