import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VaultSimCore
import VaultSimProviders
import VaultSimScenarios
import VaultSimServer

/// `vaultsim bench`: figures for the vault's hot path, measured as a user would meet it — a
/// server on loopback, signed `/sdk/token` calls over HTTP (each with its own nonce), several at
/// once. Prints throughput, latency percentiles and the process's resident memory over time.
/// The load generator shares the machine (and this process) with the server, as wrk would.
struct BenchCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench",
        abstract: "Measure signed /sdk/token throughput, latency and memory on loopback.",
        discussion: """
            Starts a server with one sandbox and a Google grant (made through the fake Google), then sends signed
            /sdk/token requests with --concurrency in flight for --seconds, printing a line every --report-every
            seconds (requests/s, p50, p99, RSS) and a summary. With --soak, the figures of the first report are the
            warm-up and the summary compares the last RSS with it (the issue's "flat within 20%" check).
            """)

    @Option(help: "How long to send requests, in seconds.")
    var seconds: Int = 10

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 32

    @Option(help: "Seconds between progress lines.")
    var reportEvery: Int = 5

    @Flag(help: "Compare the last RSS figure with the first (after warm-up) and fail if it grew by more than 20%.")
    var soak = false

    func validate() throws {
        guard (1...86_400).contains(seconds) else { throw ValidationError("--seconds must be 1–86400") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1–1024") }
        guard (1...3600).contains(reportEvery) else { throw ValidationError("--report-every must be 1–3600") }
    }

    func run() async throws {
        let layout = try ProjectLayout.locate()
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: try FixtureLibrary(root: layout.fixtures))
        let running = try await server.start()
        let sandbox = try server.createSandbox(name: "bench")
        let grant = try await server.seed(grant: GrantSeed(provider: "google", account: "bench@example.com",
                                                           scopes: ["https://www.googleapis.com/auth/calendar.readonly"]), in: sandbox)
        let body = Data(#"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://www.googleapis.com/calendar/v3/calendars/primary/events"}}"#.utf8)
        let url = running.baseURL + "/sdk/token"
        let apiKey = sandbox.apiKey
        let client = HTTPClient(eventLoopGroupProvider: .singleton,
                                configuration: .init(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency)))
        print("vaultsim bench: signed POST /sdk/token, \(concurrency) in flight, \(seconds) s, server \(running.baseURL)")
        let recorder = LatencyRecorder()
        let deadline = ContinuousClock.now + .seconds(seconds)
        let reporter = Task {
            var reports: [LatencyRecorder.Report] = []
            var last = ContinuousClock.now
            while ContinuousClock.now < deadline {
                try? await Task.sleep(for: .seconds(reportEvery))
                let now = ContinuousClock.now
                let report = await recorder.drain(over: now - last)
                last = now
                reports.append(report)
                print(report.line)
            }
            return reports
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: url)
                        request.method = .POST
                        request.headers.add(name: "Content-Type", value: "application/json")
                        request.headers.add(name: "x-api-key", value: apiKey)
                        let signature = RequestSigning.sign(method: "POST", path: "/sdk/token", body: body, apiKey: apiKey,
                                                            timestamp: Int(Date().timeIntervalSince1970), nonce: SecretGenerator.token(32).lowercased())
                        for (name, value) in signature { request.headers.add(name: name, value: value) }
                        request.body = .bytes(ByteBuffer(bytes: body))
                        let start = ContinuousClock.now
                        let ok: Bool
                        do {
                            let response = try await client.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            ok = response.status == .ok
                        } catch {
                            ok = false
                        }
                        await recorder.record(ContinuousClock.now - start, ok: ok)
                    }
                }
            }
        }
        let reports = await reporter.value
        try await client.shutdown()
        await running.stop()
        let total = reports.reduce(0) { $0 + $1.count }
        let failed = reports.reduce(0) { $0 + $1.failures }
        print("summary: \(total) requests, \(failed) not 200, \(String(format: "%.0f", Double(total) / Double(seconds))) req/s overall")
        if let first = reports.first, let last = reports.last, reports.count > 1 {
            let growth = Double(last.rssKiB - first.rssKiB) / Double(max(first.rssKiB, 1)) * 100
            print("RSS: \(first.rssKiB / 1024) MiB after warm-up → \(last.rssKiB / 1024) MiB at the end (\(String(format: "%+.1f", growth))%)")
            if soak, growth > 20 {
                printError("vaultsim bench: RSS grew by more than 20% after warm-up")
                throw ExitCode(1)
            }
        }
        if failed > 0 { throw ExitCode(1) }
    }
}

/// Latencies of one reporting period.
actor LatencyRecorder {
    struct Report {
        var count: Int
        var failures: Int
        var perSecond: Double
        var p50: Duration
        var p99: Duration
        var rssKiB: Int

        var line: String {
            func ms(_ d: Duration) -> String { String(format: "%.2f ms", Double(d.components.attoseconds) / 1e15 + Double(d.components.seconds) * 1000) }
            return String(format: "%8.0f req/s", perSecond) + "  p50 \(ms(p50))  p99 \(ms(p99))  RSS \(rssKiB / 1024) MiB  (\(count) requests, \(failures) not 200)"
        }
    }

    private var latencies: [Duration] = []
    private var failures = 0

    func record(_ latency: Duration, ok: Bool) {
        latencies.append(latency)
        if !ok { failures += 1 }
    }

    func drain(over period: Duration) -> Report {
        let sorted = latencies.sorted()
        func percentile(_ p: Double) -> Duration { sorted.isEmpty ? .zero : sorted[min(sorted.count - 1, Int(Double(sorted.count) * p))] }
        let seconds = Double(period.components.seconds) + Double(period.components.attoseconds) / 1e18
        let report = Report(count: sorted.count, failures: failures, perSecond: Double(sorted.count) / max(seconds, 0.001),
                            p50: percentile(0.5), p99: percentile(0.99), rssKiB: Self.residentKiB())
        latencies.removeAll(keepingCapacity: true)
        failures = 0
        return report
    }

    /// VmRSS from /proc/self/status (Linux); 0 elsewhere.
    static func residentKiB() -> Int {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
