import ArgumentParser
import Foundation
import VaultSimScenarios

/// `vaultsim replay`: transcripts served back to an SDK, with a divergence report.
struct ReplayCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "replay",
        abstract: "Replay recorded transcripts (vaultsim run --record) against an SDK and report where it diverges.",
        discussion: """
            Each transcript's recorded vault and provider answers are served with no simulator logic, and its driver ops are \
            driven again through the driver; every request the SDK makes is compared with the recorded requests of its op, \
            every outcome with the recorded one (docs/replay.md says what is compared and what is normalised). \
            Exit codes: 0 every transcript replayed, 1 any diverged, 2 a bad transcript or option, 3 the driver could not be set up.
            """)

    @Argument(help: "Transcript files (.har) or folders of them.")
    var paths: [String]

    @Option(name: .long, help: ArgumentHelp("The driver command to run (default: the bundled Python driver).", valueName: "command"))
    var driver: String?

    @Option(name: .long, help: ArgumentHelp("The SDK for the bundled Python driver, as a pip requirement (default: alter-sdk==0.11.0).", valueName: "requirement"))
    var sdk: String?

    @Flag(name: .long, help: "Match each request with the first unused recorded request of its op, in any order (default: in recorded order).")
    var unordered = false

    @Flag(name: .long, help: "Do not use the intercepting proxy: provider URLs are rewritten to the gateway.")
    var noProxy = false

    @Flag(name: .long, help: "Send the transcripts' SDK requests, re-signed, to VaultSim's own simulation (a sandbox seeded from the transcript) and compare its answers with the recorded ones, field by field: where VaultSim differs from the vault that was recorded.")
    var againstSimulator = false

    @Option(name: .long, help: "How many transcripts to replay at once (default: the machine's core count).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if againstSimulator, driver != nil || sdk != nil || unordered {
            throw ValidationError("--against-simulator sends the recorded requests itself: it takes no --driver, --sdk or --unordered")
        }
        if let sdk {
            guard driver == nil else { throw ValidationError("--sdk picks the SDK of the bundled driver; it does not go with --driver") }
            guard sdk.wholeMatch(of: /alter-sdk==[0-9A-Za-z.+\-]+/) != nil else {
                throw ValidationError("--sdk takes a pinned requirement such as alter-sdk==0.10.0, got '\(sdk)'")
            }
        }
    }

    func run() async throws {
        try await UserError.reported(replayAll)
    }

    /// Every `.har` under the paths, sorted; a path that is neither is an error.
    static func transcriptFiles(_ paths: [String]) throws(UserError) -> [String] {
        var files: [String] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else {
                throw UserError.badInput("\(path): no such file or folder")
            }
            if !isDirectory.boolValue {
                files.append(path)
                continue
            }
            let found = (FileManager.default.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.hasSuffix(".har") }.sorted().map { (path as NSString).appendingPathComponent($0) }
            guard !found.isEmpty else { throw UserError.badInput("\(path): the folder holds no .har transcript") }
            files += found
        }
        return files
    }

    private func replayAll() async throws {
        let files = try Self.transcriptFiles(paths)
        // Every transcript is read before anything runs: a bad one is reported with its entry.
        var transcripts: [(String, HAR)] = []
        var problems: [String] = []
        for file in files {
            // Against the simulator, a transcript without driver ops (serve, record --upstream) is welcome.
            do { transcripts.append((file, try TranscriptReader.read(contentsOf: file, requireOps: !againstSimulator))) } catch { problems.append("\(error)") }
        }
        if !problems.isEmpty {
            for problem in problems { printError("vaultsim: \(problem)") }
            throw UserError.badInput("\(problems.count) bad transcript(s); nothing was replayed")
        }
        let layout: ProjectLayout
        do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }
        if againstSimulator { return try await compareAll(transcripts, layout: layout) }
        let command = try await SuiteSession.driver(driver, requirement: sdk, layout: layout)
        let session = SuiteSession(layout: layout, driver: command, noProxy: noProxy)
        printLine("vaultsim: replaying \(transcripts.count) transcript(s), driver: \(command)")
        let unordered = self.unordered
        let jobs = self.jobs
        let began = ContinuousClock.now
        let results = try await session.withServer(onStart: { printLine("vaultsim: " + $0) }) { server, serverURL, proxy in
            var options = Replayer.Options()
            options.unordered = unordered
            options.proxy = proxy
            let replayer = Replayer(server: server, serverURL: serverURL, driver: command, options: options)
            return await withTaskGroup(of: ReplayResult.self) { group in
                var next = 0
                var results: [ReplayResult] = []
                func addNext() {
                    guard next < transcripts.count else { return }
                    let (file, har) = transcripts[next]
                    next += 1
                    group.addTask { await replayer.replay(har, name: file) }
                }
                for _ in 0..<min(jobs, transcripts.count) { addNext() }
                while let result = await group.next() {
                    printLine(ReplayReport.text(result))
                    results.append(result)
                    addNext()
                }
                return results
            }
        }
        let diverged = results.filter { !$0.passed }.count
        let seconds = (ContinuousClock.now - began)
        printLine("vaultsim: \(results.count - diverged) replayed, \(diverged) diverged in \(String(format: "%.1f", Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18)) s")
        if diverged > 0 { throw ExitCode(1) }
    }

    /// `--against-simulator`: each transcript's SDK requests sent to a fresh VaultSim sandbox.
    private func compareAll(_ transcripts: [(String, HAR)], layout: ProjectLayout) async throws {
        printLine("vaultsim: comparing \(transcripts.count) transcript(s) with VaultSim's simulation")
        let began = ContinuousClock.now
        // The recorded requests go to the vault directly: no driver, no proxy.
        let results = try await SuiteSession.withServer(layout: layout, noProxy: true) { server, serverURL, _ in
            let comparison = SimulatorComparison(server: server, serverURL: serverURL)
            var results: [SimulatorComparison.Result] = []
            for (file, har) in transcripts {
                let result = await comparison.compare(har, name: file)
                printLine(ReplayReport.text(result))
                results.append(result)
            }
            return results
        }
        let differing = results.filter { !$0.passed }.count
        let seconds = ContinuousClock.now - began
        printLine("vaultsim: \(results.count - differing) answered the same, \(differing) differ in "
                  + String(format: "%.1f", Double(seconds.components.seconds) + Double(seconds.components.attoseconds) / 1e18) + " s")
        if differing > 0 { throw ExitCode(1) }
    }
}
