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
            Starts the fake vault with a default app, its API key, a grant at Google, Slack and GitHub (each made \
            through the provider's own authorization) and a managed secret of every type for the internal API, \
            and the HTTPS-intercepting proxy, and prints what to export so the app's code runs unchanged: its \
            calls to the real provider URLs reach the fake providers through the proxy. Connect sessions are served as hosted pages and consent pages a browser can click \
            through (or approved automatically with --auto-consent). The default app lives in a SQLite file (WAL mode), so its \
            key and grants survive a restart; sandboxes made through the control API (/_vaultsim/) live in memory. \
            Stop with Ctrl-C (graceful shutdown).
            """)

    @Option(help: "The address to listen on (the SDK accepts plain http only for 127.0.0.1 and localhost).")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8780

    @Option(help: ArgumentHelp(
        "The SQLite file of the default app (default: ~/.vaultsim/serve.sqlite, one per user, so the app's key is the same whichever folder serve starts in).",
        valueName: "path"))
    var db: String?

    /// `~/.vaultsim/serve.sqlite`, beside the proxy's certificate authority.
    static var defaultDatabase: URL {
        FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".vaultsim/serve.sqlite")
    }

    @Option(help: ArgumentHelp("Journal, audit and token-request rows older than this many days (virtual clock) are deleted.", valueName: "days"))
    var retentionDays = 7

    @Option(help: ArgumentHelp("At most this many rows of each journal are kept per sandbox (the newest).", valueName: "rows"))
    var retentionRows = 100_000

    @Flag(help: "Approve every new Connect session at once, as the first account of each provider (for machines without a browser).")
    var autoConsent = false

    @Option(help: "The port of the HTTPS-intercepting proxy that HTTPS_PROXY names (0 picks a free one).")
    var proxyPort = 8781

    @Flag(help: "Do not start the intercepting proxy (the app then has to use the printed gateway URLs).")
    var noProxy = false

    @Option(help: ArgumentHelp(
        "Write the default app's exchanges from now on to this file as a redacted HAR transcript (rewritten every 5 s while new ones arrive, and at shutdown).",
        valueName: "file"))
    var record: String?

    func validate() throws {
        if let record, record.isEmpty { throw ValidationError("--record needs a file name") }
        guard host == "127.0.0.1" || host == "localhost" else {
            throw ValidationError("--host must be 127.0.0.1 or localhost: the SDK refuses plain http to any other host")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard (0...65535).contains(proxyPort) else { throw ValidationError("--proxy-port must be 0–65535") }
        guard port == 0 || proxyPort == 0 || port != proxyPort else { throw ValidationError("--port and --proxy-port must differ") }
        guard (1...3650).contains(retentionDays) else { throw ValidationError("--retention-days must be 1–3650") }
        guard (1_000...100_000_000).contains(retentionRows) else { throw ValidationError("--retention-rows must be 1000–100000000") }
    }

    func run() async throws {
        if let record, let problem = TranscriptFile.prepare(record) {
            printError("vaultsim: \(problem)")
            throw ExitCode(2)
        }
        let layout: ProjectLayout
        let fixtures: FixtureLibrary
        let sandbox: Sandbox
        let isNew: Bool
        do {
            layout = try ProjectLayout.locate()
            fixtures = try FixtureLibrary(root: layout.fixtures)
            let dbURL = db.map { URL(fileURLWithPath: $0) } ?? Self.defaultDatabase
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
        let running: RunningServer
        do {
            running = try await server.start(host: host, port: port, shutdownSignals: [.sigint, .sigterm],
                                             retention: JournalRetention(maxAge: TimeInterval(retentionDays) * 86400, maxRows: retentionRows))
        } catch {
            // A port in use is bad input like any other (--help promises exit 2 for it).
            printError("vaultsim: cannot listen on \(host):\(port): \(error) (--port picks another port; 0 picks a free one)")
            throw ExitCode(2)
        }
        do {
            try server.prepare(sandbox)
            if isNew { try await DevSandbox.seed(sandbox, server: server) }
            DevSandbox.configureIdentity(sandbox)
        } catch {
            printError("vaultsim: cannot set up the default app: \(error)")
            await running.stop()
            throw ExitCode(2)
        }
        var proxy: InterceptingProxy?
        var environment: ProxyEnvironment?
        if !noProxy {
            let authority: LocalCertificateAuthority
            do {
                authority = try LocalCertificateAuthority()
            } catch {
                printError("vaultsim: cannot set up the intercepting proxy's certificate authority: \(error)")
                await running.stop()
                throw ExitCode(2)
            }
            do {
                let started = InterceptingProxy(server: server, authority: authority)
                environment = ProxyEnvironment(port: try await started.start(host: host, port: proxyPort), caFile: authority.certificateFile.path,
                                               caPublicKeySHA256: authority.publicKeySHA256)
                proxy = started
            } catch {
                printError("vaultsim: cannot start the intercepting proxy on \(host):\(proxyPort): \(ServerStartError.explain(error, host: host, port: proxyPort)) "
                           + "(--proxy-port picks another port, 0 a free one; --no-proxy runs without it)")
                await running.stop()
                throw ExitCode(2)
            }
        }
        var recorder: TranscriptFile?
        if let record {
            do {
                recorder = try TranscriptFile.serve(file: URL(fileURLWithPath: record), sandbox: sandbox, server: server, serverURL: running.baseURL)
            } catch {
                printError("vaultsim: --record: \(error)")
                await proxy?.stop()
                await running.stop()
                throw ExitCode(2)
            }
        }
        // The Connect widget as a package a bundler imports; serve goes on without it if it cannot be written.
        let widgetFolder = (db.map { URL(fileURLWithPath: $0) } ?? Self.defaultDatabase).deletingLastPathComponent()
            .appendingPathComponent("npm/alter-ai-connect")
        var widgetWritten: String?
        do {
            try ConnectWidget.writePackage(to: widgetFolder, vaultURL: running.baseURL)
            widgetWritten = widgetFolder.path
        } catch {
            printError("vaultsim: cannot write the Connect widget's npm package to \(widgetFolder.path): \(error); the vault still serves it at \(running.baseURL)\(ConnectWidget.packagePrefix)@latest/")
        }
        let banner = try DevSandbox.banner(sandbox: sandbox, serverURL: running.baseURL, proxy: environment, autoConsent: autoConsent,
                                           widgetFolder: widgetWritten)
        FileHandle.standardOutput.write(Data((banner + "\n").utf8))
        let consent = autoConsent ? Task {
            await AutoConsent(registry: registry, serverURL: running.baseURL).run { line in
                FileHandle.standardOutput.write(Data((line + "\n").utf8))
            }
        } : nil
        defer { consent?.cancel() }
        if let recorder { FileHandle.standardOutput.write(Data("Recording the default app's exchanges to \(recorder.file.path)\n".utf8)) }
        let recording = recorder.map { recorder in Task { await recorder.run { printError($0) } } }
        try await running.wait()
        recording?.cancel()
        await proxy?.stop()
        if let recorder {
            do {
                let entries = try recorder.write()
                FileHandle.standardOutput.write(Data("vaultsim: wrote \(entries) exchanges to \(recorder.file.path)\n".utf8))
            } catch {
                printError("vaultsim: --record: \(error)")
                throw ExitCode(1)
            }
        }
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
