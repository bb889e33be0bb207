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
            shutdown (Ctrl-C). This is the only mode in which VaultSim sends anything off the machine. \
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

    func validate() throws {
        if case .failure(let error) = UpstreamRecorder.parseUpstream(upstream) { throw ValidationError(error.message) }
        guard host == "127.0.0.1" || host == "localhost" else {
            throw ValidationError("--host must be 127.0.0.1 or localhost: the SDK refuses plain http to any other host")
        }
        guard (0...65535).contains(port) else { throw ValidationError("--port must be 0–65535") }
        guard !out.isEmpty else { throw ValidationError("--out needs a file name") }
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
        let file = URL(fileURLWithPath: out)
        let upstreamText = upstreamURL.absoluteString
        let transcript = TranscriptFile(file: file, version: { Int64(recorder.exchanges.count) }, make: {
            let info = HAR.TranscriptInfo(client: .object(["vault_url": .string(upstreamText), "recorded_by": "vaultsim record --upstream"]))
            return try TranscriptWriter.transcript(exchanges: recorder.exchanges, secrets: [], info: info, name: file.lastPathComponent)
        })
        printLine("""
            vaultsim record: forwarding every request to \(upstreamText).
            This is the only mode in which VaultSim sends anything off the machine: what the app sends goes to that address as it is.
            Point the app at the recorder:
              export ALTER_BASE_URL=\(running.baseURL)
            Writing the redacted transcript to \(file.path) (every 5 s while new exchanges arrive, and at Ctrl-C).
            """)
        let periodic = Task { await transcript.run { printError($0) } }
        try await running.wait()
        periodic.cancel()
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
