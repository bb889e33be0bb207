import ArgumentParser
import Foundation
#if canImport(Glibc)
import Glibc
#endif
import Logging
import VaultSimCore
import VaultSimProviders
import VaultSimScenarios
import VaultSimServer

/// `vaultsim serve`: the offline dev sandbox.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Serve a working vault and fake providers on localhost for app development.",
        discussion: """
            Starts the fake vault with a default app, its API key, a grant at Google, Slack and GitHub (each made
            through the provider's own authorization) and a managed secret for the internal API, and prints what
            to export. Connect sessions are served as hosted pages and consent pages a browser can click
            through (or approved automatically with --auto-consent). The default app lives in a SQLite file (WAL mode), so its
            key and grants survive a restart; sandboxes made through the control API (/_vaultsim/) live in memory.
            Stop with Ctrl-C (graceful shutdown).
            """)

    @Option(help: "The address to listen on (the SDK accepts plain http only for 127.0.0.1 and localhost).")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8780

    @Option(help: ArgumentHelp("The SQLite file of the default app.", valueName: "path"))
    var db = ".vaultsim/serve.sqlite"

    @Option(help: ArgumentHelp("Journal, audit and token-request rows older than this many days (virtual clock) are deleted.", valueName: "days"))
    var retentionDays = 7

    @Option(help: ArgumentHelp("At most this many rows of each journal are kept per sandbox (the newest).", valueName: "rows"))
    var retentionRows = 100_000

    @Flag(help: "Approve every new Connect session at once, as the first account of each provider (for machines without a browser).")
    var autoConsent = false

    func validate() throws {
        guard host == "127.0.0.1" || host == "localhost" else {
            throw ValidationError("--host must be 127.0.0.1 or localhost: the SDK refuses plain http to any other host")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard (1...3650).contains(retentionDays) else { throw ValidationError("--retention-days must be 1–3650") }
        guard (1_000...100_000_000).contains(retentionRows) else { throw ValidationError("--retention-rows must be 1000–100000000") }
    }

    func run() async throws {
        let layout: ProjectLayout
        let fixtures: FixtureLibrary
        let sandbox: Sandbox
        let isNew: Bool
        do {
            layout = try ProjectLayout.locate()
            fixtures = try FixtureLibrary(root: layout.fixtures)
            let dbURL = URL(fileURLWithPath: db)
            try FileManager.default.createDirectory(at: dbURL.deletingLastPathComponent(), withIntermediateDirectories: true,
                                                    attributes: [.posixPermissions: 0o700])
            isNew = !FileManager.default.fileExists(atPath: dbURL.path)
            let providersURL = dbURL.deletingPathExtension().appendingPathExtension("providers.sqlite")
            if !isNew, !FileManager.default.fileExists(atPath: providersURL.path) {
                printError("vaultsim: \(dbURL.path) was made by an older VaultSim: its OAuth grants hold no credential a provider issued and answer credential_revoked. Delete it to start afresh with new grants.")
            }
            sandbox = try Sandbox.open(name: "default", store: VaultStore.file(at: dbURL.path),
                                       providerDatabase: Sandbox.fileProviderDatabase(at: providersURL.path))
            // The databases hold the API key and tokens: the user's eyes only (WAL files included).
            for file in [dbURL.path, providersURL.path].flatMap({ [$0, $0 + "-wal", $0 + "-shm"] })
            where FileManager.default.fileExists(atPath: file) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: file)
            }
        } catch {
            printError("vaultsim: \(error)")
            throw ExitCode(2)
        }
        Self.raiseOpenFileLimit()
        let registry = SandboxRegistry()
        registry.register(sandbox)
        var logger = Logger(label: "vaultsim.serve")
        logger.logLevel = .info
        let server = VaultSimServer(registry: registry, fixtures: fixtures, logger: logger)
        let running = try await server.start(host: host, port: port, shutdownSignals: [.sigint, .sigterm], retention: JournalRetention(maxAge: TimeInterval(retentionDays) * 86400, maxRows: retentionRows))
        do {
            try server.prepare(sandbox)
            if isNew { try await seedDemo(sandbox, server: server) }
        } catch {
            printError("vaultsim: cannot set up the default app: \(error)")
            await running.stop()
            throw ExitCode(2)
        }
        try printWelcome(sandbox: sandbox, serverURL: running.baseURL, providers: server.directory.providers.values.map(\.descriptor))
        let consent = autoConsent ? Task {
            await AutoConsent(registry: registry, serverURL: running.baseURL).run { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } : nil
        defer { consent?.cancel() }
        try await running.wait()
    }

    /// A grant at every simulated OAuth provider (made through each provider's own
    /// authorization) and a managed secret for the internal API.
    private func seedDemo(_ sandbox: Sandbox, server: VaultSimServer) async throws {
        _ = try await server.seed(grant: GrantSeed(
            provider: "google", account: "alice@example.com", displayName: "Alice (work)",
            scopes: ["https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.readonly"]), in: sandbox)
        _ = try await server.seed(grant: GrantSeed(provider: "slack", account: "alice", scopes: ["chat:write", "channels:read"]), in: sandbox)
        _ = try await server.seed(grant: GrantSeed(provider: "github", account: "alice", scopes: ["repo", "read:user"]), in: sandbox)
        // A managed secret of every type the guide names, for the internal API.
        for type in CredentialType.allCases {
            _ = try server.seed(secret: SecretSeed(type: type), in: sandbox)
        }
    }

    private func printWelcome(sandbox: Sandbox, serverURL: String, providers: [ProviderDescriptor]) throws {
        let map = HostMap(serverURL: serverURL, sandboxID: sandbox.id)
        var text = """
            VaultSim is serving the default app "\(sandbox.name)".

              export ALTER_BASE_URL=\(serverURL)
              export ALTER_API_KEY=\(sandbox.apiKey)

            Grants:

            """
        let grants = try sandbox.store.activeOAuthGrants(providerID: nil, limit: 1000, offset: 0).grants
        for grant in grants {
            text += "  \(grant.id)  \(grant.providerID)  \(grant.accountIdentifier ?? "")\n"
        }
        for secret in try sandbox.store.allManagedSecrets() {
            text += "  \(secret.grantID)  internal  managed secret (\(secret.type.rawValue))\n"
        }
        text += "\nProviders (use these URLs in place of the real hosts):\n"
        for provider in providers.sorted(by: { $0.id < $1.id }) {
            for host in provider.hosts {
                let real = "https://\(host)/"
                text += "  \(real.padding(toLength: 38, withPad: " ", startingAt: 0)) -> \((try? map.fakeURL(for: real)) ?? "")\n"
            }
        }
        text += autoConsent
            ? "\nConnect: every new session is approved at once as the first account of each provider (--auto-consent).\n"
            : "\nConnect: vault.connect() and create_connect_session() give a connect_url; open it in a browser and press Allow.\n"
                + "  On a machine without a browser, run `vaultsim serve --auto-consent` to approve sessions automatically.\n"
        text += "\nControl API: \(serverURL)/_vaultsim/sandboxes   (Ctrl-C stops)\n"
        FileHandle.standardOutput.write(Data((text + "\n").utf8))
    }

    /// Lets the server hold as many connections as the system allows: with the usual soft limit
    /// of 1024 open files, a thousand idle connections would lock everyone else out (the idle
    /// timeout frees them, but only after it passes).
    static func raiseOpenFileLimit() {
        #if canImport(Glibc)
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0, limit.rlim_cur < limit.rlim_max else { return }
        limit.rlim_cur = limit.rlim_max
        _ = setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit)
        #endif
    }
}
