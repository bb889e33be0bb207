import ArgumentParser
import Foundation
import Logging
import VaultSimCore
import VaultSimScenarios
import VaultSimServer

/// `vaultsim record --upstream URL`: a recorder between an app and a real vault backend.
struct RecordCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "record",
        abstract: "Stand between an app and a vault backend, forwarding every request and writing a redacted transcript.",
        discussion: """
            Point the app's ALTER_BASE_URL at the address it prints. Every request is forwarded to --upstream as it came \
            (path, query, headers, body: signatures stay valid) and its answer returned as it came; each exchange goes into \
            --out as a HAR 1.2 transcript, every secret found in it (API keys, HMAC signatures, tokens, client secrets, \
            codes, verifiers) replaced by a placeholder. The file is rewritten every 5 s while new exchanges arrive and at \
            shutdown (Ctrl-C). With --forward-providers, a recording HTTPS-intercepting proxy forwards the app's provider calls \
            to their real hosts and records them too. This is the only mode in which VaultSim sends anything off the machine. \
            Exit codes: 0 stopped and written, 1 the transcript could not be written, 2 bad input (a bad URL, a port in use).
            """)

    @Option(help: ArgumentHelp("The vault backend to forward to (e.g. https://api.alterauth.com).", valueName: "url"))
    var upstream: String

    @Option(help: ArgumentHelp("The transcript to write.", valueName: "file"))
    var out: String

    @Option(help: "The address to listen on.")
    var host = "127.0.0.1"

    @Option(help: "The port to listen on (0 picks a free one).")
    var port = 8790

    @Flag(help: "Also start an HTTPS-intercepting proxy that forwards the app's provider calls to their real hosts, recording them too (the app gets HTTPS_PROXY and SSL_CERT_FILE to export).")
    var forwardProviders = false

    @Option(help: "The port of the recording proxy (--forward-providers; 0 picks a free one).")
    var proxyPort = 8791

    /// For tests, where there is no internet: provider calls go to `BASE/HOST/path` instead of `https://HOST/path`.
    @Option(help: .hidden)
    var providerBase: String?

    func validate() throws {
        if case .failure(let error) = UpstreamRecorder.parseUpstream(upstream) { throw ValidationError(error.message) }
        guard host == "127.0.0.1" || host == "localhost" else {
            throw ValidationError("--host must be 127.0.0.1 or localhost: the SDK refuses plain http to any other host")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard !out.isEmpty else { throw ValidationError("--out needs a file name") }
        guard (0...65535).contains(proxyPort) else { throw ValidationError("--proxy-port must be 0–65535") }
        guard port == 0 || proxyPort == 0 || port != proxyPort else { throw ValidationError("--port and --proxy-port must differ") }
        if providerBase != nil, !forwardProviders { throw ValidationError("--provider-base goes with --forward-providers") }
    }

    func run() async throws {
        guard case .success(let upstreamURL) = UpstreamRecorder.parseUpstream(upstream) else { throw ExitCode(2) }
        if let problem = TranscriptFile.prepare(out, option: "--out") {
            printError("vaultsim: \(problem)")
            throw ExitCode(2)
        }
        var logger = Logger(label: "vaultsim.record")
        logger.logLevel = .warning
        let recorder = UpstreamRecorder(upstream: upstreamURL, logger: logger)
        let running: RunningServer
        do {
            running = try await recorder.start(host: host, port: port, shutdownSignals: [.sigint, .sigterm])
        } catch {
            printError("vaultsim: cannot listen on \(host):\(port): \(ServerStartError.explain(error, host: host, port: port)) (--port picks another port; 0 a free one)")
            await recorder.shutdown()
            throw ExitCode(2)
        }
        var proxy: InterceptingProxy?
        var proxyExports: [(name: String, value: String)] = []
        if forwardProviders {
            do {
                let authority = try LocalCertificateAuthority()
                let base: @Sendable (String) -> String
                if let prefix = providerBase { base = { prefix + "/" + $0 } } else { base = { "https://\($0)" } }
                let started = InterceptingProxy(forwarding: ProviderForwarding(baseURL: base, record: { recorder.append($0) }), authority: authority)
                let boundPort = try await started.start(host: host, port: proxyPort)
                proxy = started
                proxyExports = ProxyEnvironment(port: boundPort, caFile: authority.certificateFile.path).exports(sandboxID: "recorder")
            } catch {
                printError("vaultsim: cannot start the recording proxy on \(host):\(proxyPort): \(ServerStartError.explain(error, host: host, port: proxyPort)) "
                           + "(--proxy-port picks another port, 0 a free one)")
                await running.stop()
                await recorder.shutdown()
                throw ExitCode(2)
            }
        }
        let file = URL(fileURLWithPath: out)
        let upstreamText = upstreamURL.absoluteString
        let transcript = TranscriptFile(file: file, version: { Int64(recorder.exchanges.count) }, make: {
            let info = HAR.TranscriptInfo(client: .object(["vault_url": .string(upstreamText), "recorded_by": "vaultsim record --upstream"]))
            return try TranscriptWriter.transcript(exchanges: recorder.exchanges, secrets: [], info: info, name: file.lastPathComponent)
        })
        var banner = [
            "vaultsim record: forwarding every request to \(upstreamText)" + (forwardProviders ? ", and every provider call to its real host." : "."),
            "This is the only mode in which VaultSim sends anything off the machine: what the app sends goes there as it is.",
            "Point the app at the recorder:",
            "  export ALTER_BASE_URL=\(running.baseURL)",
        ]
        if !proxyExports.isEmpty {
            banner.append("and its provider calls through the recording proxy:")
            banner += proxyExports.map { "  export \($0.name)=\($0.value)" }
        }
        banner.append("Writing the redacted transcript to \(file.path) (every 5 s while new exchanges arrive, and at Ctrl-C).")
        printLine(banner.joined(separator: "\n"))
        let periodic = Task { await transcript.run { printError($0) } }
        try await running.wait()
        periodic.cancel()
        await proxy?.stop()
        await recorder.shutdown()
        do {
            let entries = try transcript.write()
            printLine("vaultsim: wrote \(entries) exchanges to \(file.path)")
        } catch {
            printError("vaultsim: --out: \(error)")
            throw ExitCode(1)
        }
    }
}
