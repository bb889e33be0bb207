import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
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
        abstract: "Benchmarks: load on the vault and providers (the default), or the bundled suite's own time.",
        subcommands: [BenchLoadCommand.self, BenchServeCommand.self, BenchSuiteCommand.self],
        defaultSubcommand: BenchLoadCommand.self)
}

/// `vaultsim bench [load]`: load on one path of the server.
struct BenchLoadCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "load",
        abstract: "Measure signed /sdk/token (or provider calls, direct or through the proxy): throughput, latency, memory.",
        discussion: """
            Starts a server like `vaultsim serve` (a sandbox in SQLite files in WAL mode, journal retention running) \
            with a Google grant made through the fake Google, then sends signed /sdk/token requests with --concurrency \
            in flight for --warmup plus --seconds, printing a line every --report-every seconds (requests/s, p50, p99, \
            RSS) and a summary. The summary compares the RSS at the end with the RSS when the warm-up ended; --soak \
            fails (exit 1) when it grew by more than 20%. Make the warm-up longer than the replay window of the nonce \
            cache (600 s) when measuring memory: until then the cache is still filling, by design.
            """)

    @Option(help: "How long to send requests after the warm-up, in seconds.")
    var seconds: Int = 10

    @Option(help: "How long to send requests before the figures that count, in seconds.")
    var warmup: Int = 0

    @Option(help: "Requests in flight at once.")
    var concurrency: Int = 32

    @Option(help: "Seconds between progress lines.")
    var reportEvery: Int = 5

    @Flag(help: "Compare the last RSS figure with the first (after warm-up) and fail if it grew by more than 20%.")
    var soak = false

    /// What each request is.
    enum Target: String, ExpressibleByArgument, CaseIterable {
        /// Signed POST /sdk/token (the vault's hot path).
        case token
        /// GET a Google Calendar page at the provider gateway's URL, plain HTTP.
        case gateway
        /// The same GET at its real URL through the intercepting proxy (CONNECT, TLS with VaultSim's CA).
        case proxy
        /// Valid and invalid requests in turn, to the vault and through the proxy (`MixedLoad`).
        case mixed
    }

    @Option(help: ArgumentHelp("token (signed /sdk/token), gateway (a provider call at the gateway URL), proxy (the same call at its real URL through the intercepting proxy; gateway and proxy side by side give the proxy's added latency) or mixed (valid and invalid requests in turn, to the vault and through the proxy: a lone '=', broken escapes, over-limit forms, bad signatures; for soaks).", valueName: "target"))
    var target = Target.token

    func validate() throws {
        guard (1...86_400).contains(seconds) else { throw ValidationError("--seconds must be 1–86400") }
        guard (0...86_400).contains(warmup) else { throw ValidationError("--warmup must be 0–86400") }
        guard (1...1024).contains(concurrency) else { throw ValidationError("--concurrency must be 1–1024") }
        guard (1...3600).contains(reportEvery) else { throw ValidationError("--report-every must be 1–3600") }
    }

    func run() async throws {
        let layout = try ProjectLayout.locate()
        let registry = SandboxRegistry()
        let server = VaultSimServer(registry: registry, fixtures: try FixtureLibrary(root: layout.fixtures))
        // As serve keeps it: files in WAL mode, and retention pruning the journals.
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let sandbox = try Sandbox.open(name: "bench", store: VaultStore.file(at: folder.appendingPathComponent("bench.sqlite").path),
                                       providerDatabase: Sandbox.fileProviderDatabase(at: folder.appendingPathComponent("bench.providers.sqlite").path))
        registry.register(sandbox)
        let running = try await server.start(retention: JournalRetention(maxAge: 3600, maxRows: 20_000, interval: .seconds(30)))
        try server.prepare(sandbox)
        let grant = try await server.seed(grant: GrantSeed(provider: "google", account: "bench@example.com",
                                                           scopes: ["https://www.googleapis.com/auth/calendar.readonly"]), in: sandbox)
        let body = Data(#"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://www.googleapis.com/calendar/v3/calendars/primary/events"}}"#.utf8)
        let apiKey = sandbox.apiKey
        let accessToken = try sandbox.store.credential(grantID: grant.id)?.accessToken ?? ""
        let calendar = "/calendar/v3/calendars/primary/events?maxResults=3"
        var configuration = HTTPClient.Configuration(connectionPool: .init(idleTimeout: .seconds(30), concurrentHTTP1ConnectionsPerHostSoftLimit: concurrency))
        var proxy: InterceptingProxy?
        let url: String
        let what: String
        switch target {
        case .token:
            url = running.baseURL + "/sdk/token"
            what = "signed POST /sdk/token"
        case .gateway:
            url = ProviderRoutes.baseURL(serverURL: running.baseURL, sandboxID: sandbox.id, host: "www.googleapis.com") + calendar
            what = "GET \(url) (the provider gateway, plain HTTP)"
        case .proxy, .mixed:
            let authority = try LocalCertificateAuthority()
            let started = InterceptingProxy(server: server, authority: authority)
            let port = try await started.start()
            proxy = started
            var tls = TLSConfiguration.makeClientConfiguration()
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority.certificateFile.path))
            configuration.tlsConfiguration = tls
            configuration.proxy = .server(host: "127.0.0.1", port: port, authorization: .basic(username: sandbox.id, password: "vaultsim"))
            url = "https://www.googleapis.com" + calendar
            what = target == .mixed
                ? "valid and invalid requests in turn (\(MixedLoad.kinds) kinds), to the vault and through the intercepting proxy on 127.0.0.1:\(port)"
                : "GET \(url) through the intercepting proxy on 127.0.0.1:\(port)"
        }
        let target = self.target
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        // The mixed load's vault calls go direct; its provider calls go through the proxy (`client`).
        var directConfiguration = configuration
        directConfiguration.proxy = nil
        let direct = HTTPClient(eventLoopGroupProvider: .singleton, configuration: directConfiguration)
        let mixed = MixedLoad(vaultURL: running.baseURL, apiKey: apiKey, tokenBody: body, accessToken: accessToken, sandboxID: sandbox.id)
        FileHandle.standardOutput.write(Data("vaultsim bench: \(what), \(concurrency) in flight, \(warmup) s warm-up then \(seconds) s, server \(running.baseURL)\n".utf8))
        let recorder = LatencyRecorder()
        let warmupEnds = ContinuousClock.now + .seconds(warmup)
        let deadline = warmupEnds + .seconds(seconds)
        let reporter = Task {
            var reports: [(report: LatencyRecorder.Report, warmup: Bool)] = []
            var last = ContinuousClock.now
            while ContinuousClock.now < deadline {
                let next = min(last + .seconds(reportEvery), ContinuousClock.now < warmupEnds ? warmupEnds : deadline)
                try? await Task.sleep(until: next)
                let now = ContinuousClock.now
                let report = await recorder.drain(over: now - last)
                let isWarmup = next <= warmupEnds && warmup > 0
                last = now
                reports.append((report, isWarmup))
                // Straight to the file descriptor, so a redirected log shows progress as it comes.
                FileHandle.standardOutput.write(Data(((isWarmup ? "warm-up " : "        ") + report.line + "\n").utf8))
            }
            return reports
        }
        await withTaskGroup(of: Void.self) { group in
            for _ in 0..<concurrency {
                group.addTask {
                    var sent = Int.random(in: 0..<MixedLoad.kinds)
                    while ContinuousClock.now < deadline {
                        var request = HTTPClientRequest(url: url)
                        var via = client
                        var expected = 200...200
                        if target == .mixed {
                            let next = mixed.request(sent)
                            sent += 1
                            (request, via, expected) = (next.request, next.throughProxy ? client : direct, next.expected)
                        } else if target == .token {
                            request = mixed.signedToken(body)
                        } else {
                            request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
                        }
                        let start = ContinuousClock.now
                        let ok: Bool
                        do {
                            let response = try await via.execute(request, timeout: .seconds(30))
                            _ = try await response.body.collect(upTo: 1 << 20)
                            ok = expected.contains(Int(response.status.code))
                        } catch {
                            ok = false
                        }
                        await recorder.record(ContinuousClock.now - start, ok: ok)
                    }
                }
            }
        }
        let reports = await reporter.value
        let leftover = await recorder.drain(over: .seconds(1))   // requests that ended after the last report
        try await client.shutdown()
        try await direct.shutdown()
        await proxy?.stop()
        await running.stop()
        let measured = reports.filter { !$0.warmup }.map(\.report)
        let total = measured.reduce(0) { $0 + $1.count }
        let failed = reports.reduce(leftover.failures) { $0 + $1.report.failures }
        printLine("summary: \(total) requests after the warm-up, \(failed) not answered as expected in all, \(String(format: "%.0f", Double(total) / Double(seconds))) req/s")
        let start = reports.last(where: \.warmup)?.report ?? measured.first
        if let start, let end = measured.last {
            let growth = Double(end.rssKiB - start.rssKiB) / Double(max(start.rssKiB, 1)) * 100
            printLine("RSS: \(start.rssKiB / 1024) MiB \(warmup > 0 ? "when the warm-up ended" : "at the first report") → \(end.rssKiB / 1024) MiB at the end (\(String(format: "%+.1f", growth))%)")
            if soak, growth > 20 {
                printError("vaultsim bench: RSS grew by more than 20% after the warm-up")
                throw ExitCode(1)
            }
        } else if soak {
            printError("vaultsim bench: --soak needs a warm-up or at least two reports")
            throw ExitCode(2)
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
            func ms(_ d: Duration) -> String { String(format: "%.2f ms", d.milliseconds) }
            return String(format: "%8.0f req/s", perSecond) + "  p50 \(ms(p50))  p99 \(ms(p99))  RSS \(rssKiB / 1024) MiB  (\(count) requests, \(failures) not as expected)"
        }

        /// The line without the RSS (for a server in another process than this one).
        var throughput: String {
            line.replacingOccurrences(of: "  RSS \(rssKiB / 1024) MiB", with: "")
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

    /// VmRSS of this process, or of `pid`, from /proc (Linux); 0 elsewhere.
    static func residentKiB(pid: Int32? = nil) -> Int {
        guard let status = try? String(contentsOfFile: "/proc/\(pid.map(String.init) ?? "self")/status", encoding: .utf8),
              let line = status.split(separator: "\n").first(where: { $0.hasPrefix("VmRSS:") }) else { return 0 }
        return Int(line.split(separator: " ").dropFirst().first ?? "0") ?? 0
    }
}
