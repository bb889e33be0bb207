import ArgumentParser
import Foundation
import VaultSimScenarios

/// `vaultsim run`: the conformance suite against an SDK.
struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run conformance scenarios against an SDK through its driver.",
        discussion: """
            With no paths, runs the bundled suite (scenarios/) against the reference SDK, alter-sdk 0.11.0, \
            through the bundled Python driver (its venv is made on first use in drivers/python/.venv/). \
            Each scenario gets a fresh sandbox and a fresh SDK client (a driver that says it is reusable serves one scenario after another: one process per job); as many run at once as the machine has cores (--jobs). Exit codes: 0 all passed, 1 any failed, 2 bad input (a malformed scenario, a bad option, a driver that cannot be set up), 3 infrastructure (the driver could not start a client: the run stops at the first such scenario and says why once).
            """)

    @Argument(help: "Scenario files or folders (default: the bundled scenarios/).")
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("The driver command to run (default: the bundled Python driver).", valueName: "command"))
    var driver: String?

    @Option(name: .long, help: ArgumentHelp(
        "The SDK for the bundled Python driver, as a pip requirement (default: drivers/python/requirements.txt, alter-sdk==0.11.0). Each requirement gets its own venv.",
        valueName: "requirement"))
    var sdk: String?

    @Option(name: .long, help: ArgumentHelp("Also write a JUnit XML report here (under Bazel: XML_OUTPUT_FILE unless given).", valueName: "file"))
    var junit: String?

    @Option(name: .long, help: ArgumentHelp("Also write the JSON report here (docs/report.schema.json).", valueName: "file"))
    var json: String?

    @Option(name: .long, help: ArgumentHelp("Also write a self-contained HTML report here.", valueName: "file"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Run only shard K of N (1-based): a deterministic split, the same on every machine and retry.", valueName: "K/N"))
    var shard: String?

    @Option(name: .long, help: ArgumentHelp("The number of shards, with a Kubernetes Indexed Job's JOB_COMPLETION_INDEX (or set VAULTSIM_TOTAL_SHARDS).", valueName: "N"))
    var shards: Int?

    @Option(name: .long, help: ArgumentHelp("A JSON report of an earlier run: shards are balanced by its scenarios' durations instead of by count.", valueName: "file"))
    var durations: String?

    @Option(name: .long, help: ArgumentHelp("The seed of the order scenarios start in (0–999999999; default: a new one, printed and kept in the reports). The same seed repeats the order.", valueName: "n"))
    var seed: Int?

    @Option(name: .long, help: ArgumentHelp("Run only scenarios with this tag (repeatable: any of them).", valueName: "tag"))
    var tag: [String] = []

    @Option(name: .long, help: "How many scenarios to run at once (default: the machine's core count).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "The SDK's HTTP timeout in seconds (more than 0, at most 3600), unless a scenario sets its own.")
    var sdkTimeout: Double = 10

    /// The longest SDK timeout a run accepts (the loader holds `given.client.timeout` to the same).
    static let maxSDKTimeout: Double = 3600

    @Option(name: .long, help: ArgumentHelp(
        "Record every scenario's exchanges and driver ops as a redacted HAR transcript, DIR/<scenario id>.har (see docs/replay.md).",
        valueName: "dir"))
    var record: String?

    @Flag(name: .long, help: "Print the driver's log (the SDK's stderr) of every failed scenario.")
    var verbose = false

    @Flag(name: .long, help: "Fail (exit 1) when an item of the contract catalogue has no passing scenario.")
    var requireCoverage = false

    @Flag(name: .long, help: ArgumentHelp(
        "Do not use the intercepting proxy: rewrite the scenarios' real URLs to the provider gateway instead (for an SDK that cannot use HTTPS_PROXY).",
        discussion: "By default drivers get HTTPS_PROXY, SSL_CERT_FILE and NO_PROXY, and requests keep their real URLs."))
    var noProxy = false

    func validate() throws {
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        if let seed, !RunOrder.seedRange.contains(seed) { throw ValidationError("--seed must be 0–999999999, got \(seed)") }
        if let sdk {
            guard driver == nil else { throw ValidationError("--sdk picks the SDK of the bundled driver; it does not go with --driver") }
            guard sdk.wholeMatch(of: /alter-sdk==[0-9A-Za-z.+\-]+/) != nil else {
                throw ValidationError("--sdk takes a pinned requirement such as alter-sdk==0.10.0, got '\(sdk)'")
            }
        }
        // NaN fails every comparison, so it is refused with the rest.
        guard sdkTimeout.isFinite, sdkTimeout > 0, sdkTimeout <= Self.maxSDKTimeout else {
            throw ValidationError("--sdk-timeout must be a number of seconds more than 0 and at most \(Int(Self.maxSDKTimeout)), got \(sdkTimeout)")
        }
    }

    func run() async throws {
        try await UserError.reported(runSuite)
    }

    private func runSuite() async throws {
        let environment = ProcessInfo.processInfo.environment
        var outputs = ReportOutputs(junit: junit, json: json, html: html)
        outputs.fillFromBazel(environment)
        // Found before anything runs, not after the whole suite did.
        if let problem = outputs.problems().first { throw UserError.badInput(problem) }
        let sharding: (Sharding.Spec, Sharding.Source)?
        do { sharding = try Sharding.resolve(option: shard, shards: shards, environment: environment) } catch { throw UserError.badInput("\(error)") }
        var recorded: [String: Double]?
        if let durations {
            do {
                let record = try RunRecord.read(try Data(contentsOf: URL(fileURLWithPath: durations)), name: durations)
                recorded = Dictionary(record.scenarios.map { ($0.scenarioID, $0.duration.seconds) }, uniquingKeysWith: { a, _ in a })
            } catch {
                throw UserError.badInput("--durations \(durations): \(error is RunRecord.ReadError ? "\(error)" : ReportOutputs.shortReason(error))")
            }
        }
        if let record {
            // Found before anything runs: a folder that cannot be written to.
            do {
                try FileManager.default.createDirectory(atPath: record, withIntermediateDirectories: true)
            } catch {
                throw UserError.badInput("--record \(record): cannot create the folder: \(ReportOutputs.shortReason(error))")
            }
            guard FileManager.default.isWritableFile(atPath: record) else { throw UserError.badInput("--record \(record): the folder is not writable") }
        }
        let layout: ProjectLayout
        do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }

        let (loaded, errors) = ScenarioLoader.load(paths: paths.isEmpty ? [layout.scenarios.path] : paths)
        if !errors.isEmpty {
            for error in errors { printError("\(error)") }
            throw UserError.badInput("\(errors.count) scenario file problem(s); nothing was run")
        }
        var catalogue: ContractCatalogue?
        if FileManager.default.fileExists(atPath: layout.contractCatalogue.path) {
            do { catalogue = try ContractCatalogue.load(layout.contractCatalogue) } catch { throw UserError.badInput("\(error)") }
        } else if requireCoverage {
            throw UserError.badInput("--require-coverage needs the contract catalogue at \(layout.contractCatalogue.path)")
        }
        if let unknown = catalogue?.unknownReferences(in: loaded), !unknown.isEmpty {
            for error in unknown { printError("\(error)") }
            throw UserError.badInput("\(unknown.count) scenario(s) cover items the catalogue does not have; nothing was run")
        }
        let chosen = tag.isEmpty ? loaded : loaded.filter { !Set($0.tags).isDisjoint(with: tag) }
        guard !chosen.isEmpty else {
            throw UserError.badInput("no scenario has any of the tags \(tag.joined(separator: ", "))")
        }
        let scenarios = sharding.map { Sharding.select(chosen, id: \.id, shard: $0.0, durations: recorded) } ?? chosen

        let command = try await SuiteSession.driver(driver, requirement: sdk, layout: layout)
        var session = SuiteSession(layout: layout, driver: command, jobs: jobs, sdkTimeout: sdkTimeout, noProxy: noProxy)
        session.recordDirectory = record
        let startedAt = Date()
        let seed = self.seed ?? RunOrder.randomSeed()
        printLine("vaultsim: \(ConsoleReport.plural(scenarios.count, "scenario")), driver: \(command)")
        printLine("vaultsim: order seed \(seed) (--seed \(seed) starts them in the same order)")
        if let (spec, source) = sharding {
            printLine("vaultsim: shard \(spec) (from \(source.rawValue)) of \(ConsoleReport.plural(chosen.count, "scenario"))")
        }
        let verbose = self.verbose
        let style = ConsoleReport.Style.forStandardOutput()
        let summary = try await session.run(RunOrder.shuffled(scenarios, seed: seed), onStart: { printLine("vaultsim: " + $0) }) { result in
            printLine(ConsoleReport.line(for: result, style: style))
            if verbose, !result.passed, !result.driverLog.isEmpty {
                printLine("        driver log:\n          " + result.driverLog.replacingOccurrences(of: "\n", with: "\n          "))
            }
        }
        if let failed = summary.driverStartFailure {
            printError(ConsoleReport.driverStartFailure(failed, driver: "\(command)"))
            throw ExitCode(3)
        }
        // Coverage means something for the whole suite only (or when asked for): a run of three
        // files covers three files' items.
        let coverage = catalogue.flatMap { catalogue in
            paths.isEmpty || requireCoverage ? catalogue.record(scenarios, results: summary.results) : nil
        }
        let record = RunRecord(vaultsim: VaultSimCommand.version, suite: chosen.map(\.id), sdk: RunRecord.sdk(from: summary.results),
                               driver: "\(command)", mode: session.mode, seed: seed, startedAt: startedAt,
                               seconds: summary.duration.seconds,
                               shard: sharding.map { RunRecord.Shard(index: $0.0.index, total: $0.0.total) }, coverage: coverage,
                               scenarios: summary.results).relativized(to: FileManager.default.currentDirectoryPath)
        printLine(ConsoleReport.summary(record, style: style))
        try outputs.write(record)
        // Bazel: the status file says this test runner knows the sharding protocol.
        if let status = environment["TEST_SHARD_STATUS_FILE"], !status.isEmpty, sharding?.1 == .bazel {
            FileManager.default.createFile(atPath: status, contents: nil)
        }
        let code = ReportOutputs.exitCode(record)
        if code != 0 { throw ExitCode(code) }
        if requireCoverage, let coverage, coverage.covered < coverage.total {
            printError("vaultsim: \(coverage.total - coverage.covered) contract item(s) have no passing scenario (--require-coverage)")
            throw ExitCode(1)
        }
    }
}
