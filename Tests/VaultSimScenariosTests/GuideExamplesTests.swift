import Foundation
import Testing
import VaultSimCore
import VaultSimProviders
import VaultSimServer
@testable import VaultSimScenarios

/// The integration guide's examples (Tests/VaultSimScenariosTests/guide/), run unchanged with the
/// real alter-sdk 0.11.0 against the dev sandbox `vaultsim serve` makes, with nothing in their
/// environment but the exports its banner prints: the SDK calls the real provider URLs, which
/// reach the fake providers through the intercepting proxy. Only the guide's placeholders are
/// filled (the API key and grant ids a developer pastes in); the app's own store of grant ids
/// (`db`, `slack_grant_id`, …) comes from `guide/_app.py`.
@Suite(.serialized)
struct GuideExamplesTests {
    static let folder = EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/guide")

    /// A served dev sandbox: the server, its proxy and what the banner says to export.
    struct Served {
        let server: VaultSimServer
        let running: RunningServer
        let proxy: InterceptingProxy
        let sandbox: Sandbox
        let exports: [String: String]
        let grants: [String: String]
        /// `serve --auto-consent`: the Quick Path's connect() has no browser here.
        let consent: Task<Void, Never>

        func stop() async {
            consent.cancel()
            await consent.value
            await proxy.stop()
            await running.stop()
        }
    }

    static func serve() async throws -> Served {
        let registry = SandboxRegistry()
        // Seeding runs while the whole test process starts up on two cores: the vault may wait
        // longer than its usual 10 s for the fake Google's token endpoint (it once waited more).
        let server = VaultSimServer(registry: registry, fixtures: try FixtureLibrary(root: EndToEnd.layout.fixtures), providerTimeout: .seconds(60))
        let running = try await server.start()
        let sandbox = try server.createSandbox(name: "default")
        try await DevSandbox.seed(sandbox, server: server)
        let authority = try LocalCertificateAuthority()
        let proxy = InterceptingProxy(server: server, authority: authority)
        let environment = ProxyEnvironment(port: try await proxy.start(), caFile: authority.certificateFile.path,
                                               caPublicKeySHA256: authority.publicKeySHA256)
        let banner = try DevSandbox.banner(sandbox: sandbox, serverURL: running.baseURL, proxy: environment, autoConsent: false)
        var grants: [String: String] = [:]
        for grant in try sandbox.store.activeOAuthGrants(providerID: nil, limit: 100, offset: 0).grants { grants[grant.providerID] = grant.id }
        for secret in try sandbox.store.allManagedSecrets() where secret.type == .bearer {
            grants["loyalty"] = secret.grantID
            grants["contacts"] = secret.grantID
        }
        let consent = Task { await AutoConsent(registry: registry, serverURL: running.baseURL).run { _ in } }
        return Served(server: server, running: running, proxy: proxy, sandbox: sandbox, exports: DevSandbox.exports(in: banner),
                      grants: grants, consent: consent)
    }

    /// Runs one example with the real SDK: its placeholders filled as a developer would, its
    /// environment the banner's exports (plus PATH, HOME and the app's grant ids).
    static func run(_ name: String, _ served: Served, folder: URL = folder, python: String? = nil,
                    fill: [(String, String)] = []) async throws -> (status: Int32, output: String) {
        let executable: String
        if let python { executable = python } else { executable = try await EndToEnd.pythonDriver.value.executable }
        var source = try String(contentsOf: folder.appendingPathComponent(name), encoding: .utf8)
            .replacingOccurrences(of: "\"alter_key_...\"", with: "\"\(served.sandbox.apiKey)\"")
            .replacingOccurrences(of: "\"MANAGED_SECRET_GRANT_ID\"", with: "\"\(served.grants["loyalty"] ?? "")\"")
            .replacingOccurrences(of: "\"GRANT_ID\"", with: "\"\(served.grants["google"] ?? "")\"")
        for (placeholder, value) in fill { source = source.replacingOccurrences(of: placeholder, with: value) }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-guide-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: scratch, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: scratch) }
        try source.write(to: scratch.appendingPathComponent(name), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: Self.folder.appendingPathComponent("_app.py"), to: scratch.appendingPathComponent("_app.py"))

        var environment = served.exports
        environment["PATH"] = "/usr/local/bin:/usr/bin:/bin"
        environment["HOME"] = ProcessInfo.processInfo.environment["HOME"] ?? "/tmp"
        environment["VAULTSIM_GUIDE_GRANTS"] = JSONValue.object(served.grants.mapValues(JSONValue.string)).jsonText
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = [scratch.appendingPathComponent(name).path]
        process.currentDirectoryURL = scratch
        process.environment = environment
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let reader = Task.detached { pipe.fileHandleForReading.readDataToEndOfFile() }
        let watchdog = Task.detached {
            try await Task.sleep(for: .seconds(60))
            process.terminate()
        }
        let data = await reader.value
        process.waitUntilExit()
        watchdog.cancel()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test func theBannerExportsTheProxyTheCAAndKeepsTheVaultDirect() async throws {
        let served = try await Self.serve()
        await served.stop()
        #expect(served.exports["ALTER_BASE_URL"] == served.running.baseURL)
        #expect(served.exports["ALTER_API_KEY"] == served.sandbox.apiKey)
        #expect(served.exports["HTTPS_PROXY"]?.hasPrefix("http://\(served.sandbox.id):vaultsim@127.0.0.1:") == true)
        #expect(served.exports["NO_PROXY"]?.contains("127.0.0.1") == true)
        let ca = try #require(served.exports["SSL_CERT_FILE"])
        #expect(try String(contentsOfFile: ca, encoding: .utf8).hasPrefix("-----BEGIN CERTIFICATE-----"))
        let key = URL(fileURLWithPath: ca).deletingLastPathComponent().appendingPathComponent("ca-key.pem").path
        let keyMode = try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int
        #expect(keyMode == 0o600)
        let folderMode = try FileManager.default.attributesOfItem(atPath: URL(fileURLWithPath: ca).deletingLastPathComponent().path)[.posixPermissions] as? Int
        #expect(folderMode == 0o700)
    }

    @Test(arguments: [
        ("basic_usage.py", ["2026-12-01T09:30:00+01:00: Team standup"]),
        ("context_manager.py", ["events: alice@example.com"]),
        ("post_and_templating.py", ["slack: True Hello from Alter!", "contacts: acc-123 3"]),
        ("managed_secret.py", ["points: alice 1250 gold"]),
        ("ai_agent.py", ["gmail: 200"]),
        ("error_handling.py", ["User hasn't connected Google yet - redirect to Alter Connect"]),
        ("list_grants.py", [": Alice (work)"]),
        ("quick_path.py", ["Connected: ", "(google)", "Event: Team standup"]),
        ("unknown_host.py", ["502? 502: VaultSim: no fake provider owns the host 'api.unknown-provider.example'"]),
    ])
    func aGuideExampleRunsUnchanged(file: String, expected: [String]) async throws {
        let served = try await Self.serve()
        let (status, output) = try await Self.run(file, served)
        await served.stop()
        #expect(status == 0, "\(file) exited \(status):\n\(output)")
        for line in expected {
            #expect(output.contains(line), "\(file) printed:\n\(output)")
        }
        // The journal shows the SDK's calls reached the fake at the real host, with no gateway URL in sight.
        #expect(!output.contains("/sandboxes/"), "\(output)")
    }

    /// The alter-sdk 0.29.0 README's quick example (`async with App(api_key=…) as vault:
    /// await vault.request(…)`), unchanged but for its placeholders, against the same dev sandbox:
    /// today's SDK signs its own way and still reaches Slack through the proxy.
    @Test func theNewestSDKsQuickExampleRunsUnchanged() async throws {
        let python = try await EndToEnd.newestPythonDriver.value.executable
        let served = try await Self.serve()
        let (status, output) = try await Self.run("quick_example.py", served, folder: EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/sdk29"),
                                                  python: python, fill: [("<api-key>", served.sandbox.apiKey), ("<grant-id>", served.grants["slack"] ?? ""),
                                                                         ("https://api.example.com/resource", "https://slack.com/api/chat.postMessage")])
        let tokens = try served.sandbox.store.tokenRequests()
        await served.stop()
        #expect(status == 0, "quick_example.py exited \(status):\n\(output)")
        // Slack's own answer to a message without a channel, through the SDK's injected token.
        #expect(output.contains("200 {'ok': False, 'error': 'channel_not_found'"), "\(output)")
        #expect(tokens.map(\.signingScheme) == ["six-line"], "\(tokens.map(\.json))")
    }

    /// The docs' approval example with alter-sdk 0.29.0 against `serve`: a grant whose policy
    /// requires approval, a person who approves on the approval page (over HTTP, as the scenario
    /// runner's approver does), and the proxied call's result printed by the unchanged example.
    @Test func theDocsApprovalExampleRunsAgainstServe() async throws {
        let python = try await EndToEnd.newestPythonDriver.value.executable
        let served = try await Self.serve()
        var seed = GrantSeed(provider: "slack", account: "ops", scopes: ["chat:write"])
        seed.policies = [AccessPolicy(name: "refunds need a person", rule: .requireApproval(seconds: 600))]
        let gated = try await served.server.seed(grant: seed, in: served.sandbox)
        var plan = UserPlan()
        plan.approval = true
        let approver = Task { [plan] in
            try await ApprovalUser(plan: plan, sandbox: served.sandbox, serverURL: served.running.baseURL, wait: .seconds(60)).run()
        }
        let (status, output) = try await Self.run("approval_example.py", served, folder: EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/sdk29"),
                                                  python: python, fill: [("<api-key>", served.sandbox.apiKey), ("<grant-id>", gated.id),
                                                                         ("https://api.stripe.com/v1/refunds", "https://slack.com/api/chat.postMessage")])
        let decision = try? await approver.value
        let outcomes = try served.sandbox.store.tokenRequests().map(\.outcome)
        await served.stop()
        #expect(status == 0, "approval_example.py exited \(status):\n\(output)")
        #expect(output.contains("Awaiting approval at: \(served.running.baseURL)/sandboxes/\(served.sandbox.id)/approvals/"), "\(output)")
        // Slack's own answer to a message without a channel, from the call the vault made once approved.
        #expect(output.contains(#"200 {"ok":false,"error":"channel_not_found""#), "\(output)")
        #expect(decision?["outcome"] == "approved", "\(String(describing: decision))")
        #expect(decision?["request"]?["url"] == "https://slack.com/api/chat.postMessage")
        #expect(outcomes.contains("proxied"), "\(outcomes)")
    }
}
