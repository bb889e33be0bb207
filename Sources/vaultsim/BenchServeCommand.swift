import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import Subprocess
import SystemPackage
import VaultSimCore
import VaultSimScenarios

/// `vaultsim bench serve`: `vaultsim serve` started as a process of its own, measured over
/// loopback the way an app meets it, so the load generator does not share the server's threads:
/// the time from starting the process to accepting connections, the idle RSS, signed
/// `/sdk/token` and the health route side by side (requests/s, p50, p99), and the RSS under load.
struct BenchServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Start `vaultsim serve` as its own process; measure its start, its memory, signed /sdk/token and the health route.",
        discussion: """
            Each start runs `vaultsim serve --port P --proxy-port 0 --db FILE` (the binary running this command) and \
            polls P until it accepts a connection: the start time is from spawning the process to that first accepted \
            connection, with the CA folder as it is (warm after the first serve on this machine); the first start makes \
            the database and seeds the default app, later starts reopen it. The last start stays up: after 1 s idle its \
            RSS is read from /proc, then signed POST /sdk/token (each request with its own nonce, for the seeded Google \
            grant) and GET /_vaultsim/health are each sent for --seconds with --concurrency in flight, and the RSS is read \
            again. The build type of this binary is printed with the figures. docs/performance.md says how to compare \
            with nginx under wrk.
            """)

    @Option(help: "How long to load each route, in seconds.")
    var seconds: Int = 10

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 50

    @Option(help: "How many times to start the server for the start-time figures.")
    var starts: Int = 5

    func validate() throws {
        guard (1...3600).contains(seconds) else { throw ValidationError("--seconds must be 1–3600") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1–1024") }
        guard (1...50).contains(starts) else { throw ValidationError("--starts must be 1–50") }
    }

    static var buildType: String {
        #if DEBUG
        "debug build"
        #else
        "release build"
        #endif
    }

    func run() async throws {
        guard let executable = Bundle.main.executableURL?.path else {
            printError("vaultsim bench serve: cannot find this program's own executable")
            throw ExitCode(2)
        }
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-bench-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let database = folder.appendingPathComponent("bench.sqlite").path
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
        do {
            try await startAndMeasure(executable: executable, database: database, client: client)
            try await client.shutdown()
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    func startAndMeasure(executable: String, database: String, client: HTTPClient) async throws {
        printLine("vaultsim bench serve: \(executable) serve, \(Self.buildType), \(ProcessInfo.processInfo.activeProcessorCount) cores; "
                  + "\(concurrency) in flight, \(seconds) s per route, the load generator in this process")
        var startTimes: [Double] = []
        for index in 1...starts {
            let port = try FreePort.pick()
            let last = index == starts
            let outcome = try await Subprocess.run(
                .path(FilePath(executable)),
                arguments: ["serve", "--port", String(port), "--proxy-port", "0", "--db", database],
                input: .none, output: .sequence, error: .discarded
            ) { execution -> StartOutcome in
                let output = execution.standardOutput
                let spawned = ContinuousClock.now
                let accepted = try await FreePort.waitUntilAccepting(port: port, timeout: .seconds(30))
                let startMS = (accepted - spawned).milliseconds
                var banner = ""
                var lines = output.strings().makeAsyncIterator()   // one pass: the sequence can be read once
                while let line = try await lines.next() {
                    banner += line + "\n"
                    if line.hasPrefix("Control API:") { break }
                }
                var figures: LoadFigures?
                if last {
                    figures = try await measure(pid: execution.processIdentifier.value, banner: banner, client: client)
                }
                try execution.send(signal: .interrupt)
                while try await lines.next() != nil {}   // let it finish writing while it stops
                return StartOutcome(milliseconds: startMS, figures: figures)
            }
            startTimes.append(outcome.closureResult.milliseconds)
            printLine(String(format: "start %d: %.1f ms from spawning the process to the first accepted connection%@", index,
                             outcome.closureResult.milliseconds, index == 1 ? " (a new database: the default app is seeded after it)" : ""))
            if let figures = outcome.closureResult.figures {
                report(figures, startTimes: startTimes)
                if figures.token.failures + figures.health.failures > 0 {
                    printError("vaultsim bench serve: some requests were not answered 200")
                    throw ExitCode(1)
                }
            }
        }
    }

    struct StartOutcome: Sendable {
        var milliseconds: Double
        var figures: LoadFigures?
    }

    struct LoadFigures: Sendable {
        var idleKiB: Int
        var loadedKiB: Int
        var token: LatencyRecorder.Report
        var health: LatencyRecorder.Report
    }

    /// Idle RSS, then each route under load, then the RSS again.
    func measure(pid: Int32, banner: String, client: HTTPClient) async throws -> LoadFigures {
        guard let baseURL = Self.export("ALTER_BASE_URL", in: banner), let apiKey = Self.export("ALTER_API_KEY", in: banner) else {
            throw ValidationError("vaultsim serve printed no ALTER_BASE_URL and ALTER_API_KEY:\n\(banner)")
        }
        try await Task.sleep(for: .seconds(1))
        let idle = LatencyRecorder.residentKiB(pid: pid)
        let grantID = try await googleGrant(baseURL: baseURL, apiKey: apiKey, client: client)
        let body = Data(#"{"grant_id":"\#(grantID)","reason":null,"request":{"method":"GET","url":"https://www.googleapis.com/calendar/v3/calendars/primary/events"}}"#.utf8)
        let signer = MixedLoad(vaultURL: baseURL, apiKey: apiKey, tokenBody: body, accessToken: "", sandboxID: "")
        let token = await load(client) { signer.signedToken(body) }
        let loaded = LatencyRecorder.residentKiB(pid: pid)
        let health = await load(client) { HTTPClientRequest(url: baseURL + "/_vaultsim/health") }
        return LoadFigures(idleKiB: idle, loadedKiB: loaded, token: token, health: health)
    }

    /// `--concurrency` requests in flight for `--seconds`; a request counts as expected when 200.
    func load(_ client: HTTPClient, _ make: @escaping @Sendable () -> HTTPClientRequest) async -> LatencyRecorder.Report {
        let recorder = LatencyRecorder()
        let start = ContinuousClock.now
        let deadline = start + .seconds(seconds)
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        let began = ContinuousClock.now
                        var ok = false
                        if let response = try? await client.execute(make(), timeout: .seconds(30)) {
                            let body = try? await response.body.collect(upTo: 1 << 20)
                            ok = response.status == .ok && body != nil
                        }
                        await recorder.record(ContinuousClock.now - began, ok: ok)
                    }
                }
            }
        }
        return await recorder.drain(over: ContinuousClock.now - start)
    }

    /// The id of the Google grant the default app was seeded with, through the signed grant list.
    func googleGrant(baseURL: String, apiKey: String, client: HTTPClient) async throws -> String {
        let body = Data(#"{"provider_id":"google","limit":10,"offset":0}"#.utf8)
        let signer = MixedLoad(vaultURL: baseURL, apiKey: apiKey, tokenBody: body, accessToken: "", sandboxID: "")
        let response = try await client.execute(signer.signed("/sdk/oauth/grants/list", body), timeout: .seconds(30))
        let json = JSONValue.parse(Data(buffer: try await response.body.collect(upTo: 1 << 20)))
        guard let id = json?["grants"]?.arrayValue?.first?["grant_id"]?.stringValue else {
            throw ValidationError("the served app lists no Google grant (HTTP \(response.status.code)): \(json?.jsonText ?? "no JSON")")
        }
        return id
    }

    func report(_ figures: LoadFigures, startTimes: [Double]) {
        let warm = startTimes.dropFirst().sorted()
        if !warm.isEmpty {
            printLine(String(format: "start, reopening the database (%d starts): min %.1f ms, median %.1f ms, max %.1f ms",
                             warm.count, warm[0], warm[warm.count / 2], warm[warm.count - 1]))
        }
        printLine("idle RSS: \(figures.idleKiB / 1024) MiB; after the token load: \(figures.loadedKiB / 1024) MiB")
        printLine("signed POST /sdk/token   " + figures.token.throughput)
        printLine("GET /_vaultsim/health    " + figures.health.throughput)
        if figures.health.perSecond > 0 {
            printLine(String(format: "token / health throughput: %.3f", figures.token.perSecond / figures.health.perSecond))
        }
    }

    static func export(_ name: String, in banner: String) -> String? {
        for line in banner.split(separator: "\n") {
            let text = line.trimmingCharacters(in: .whitespaces)
            if text.hasPrefix("export \(name)=") { return String(text.dropFirst("export \(name)=".count)) }
        }
        return nil
    }
}

extension Duration {
    var milliseconds: Double { Double(components.seconds) * 1000 + Double(components.attoseconds) / 1e15 }
}
