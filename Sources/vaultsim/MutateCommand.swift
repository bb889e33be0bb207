import ArgumentParser
import Foundation
import Subprocess
import VaultSimCore
import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim mutate`: how many plausible bugs of the SDK under test the suite notices. The
/// mutants come from `drivers/python/mutants.py` (mutmut's operators and the contract's own);
/// the suite runs against each through `PYTHONPATH`, on one server, one driver per job.
struct MutateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mutate",
        abstract: "Run the suite against mutants of the SDK under test and report what it kills.",
        discussion: """
            The SDK's files are mutated one edit at a time (mutmut 2.5's operators, installed into its own venv on \
            first use, and the contract's: an exception raised as its parent, a header or body field dropped, a unit \
            changed, a precedence inverted); the suite must pass on the unmutated SDK first. Survivors are matched \
            against the explanations file (equivalent, or a behaviour the contract leaves open). Exit codes: 0 the \
            report was made, 1 the suite fails on the unmutated SDK, 2 bad input, 3 the SDK or the tools could not \
            be installed. A mutant is killed only when the scenarios that failed against it fail again in a second run.
            """)

    @Argument(help: "Scenario files or folders (default: the bundled scenarios/).")
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("The SDK to mutate, as a pinned pip requirement (default: drivers/python/requirements.txt, alter-sdk==0.11.0).", valueName: "requirement"))
    var sdk: String?

    @Option(name: .long, help: ArgumentHelp("The SDK's files to mutate, comma-separated, inside its package.", valueName: "files"))
    var files = "client.py,models.py"

    @Option(name: .long, help: "Run only this many mutants, chosen at random by --seed (default: all of them).")
    var sample: Int?

    @Option(name: .long, help: "The seed of the sample.")
    var seed = 1

    @Option(name: .long, help: "How many scenarios to run at once against each mutant (default: the machine's core count).")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: ArgumentHelp("Write the report as Markdown here (docs/suite-power.md).", valueName: "file"))
    var md: String?

    @Option(name: .long, help: ArgumentHelp("Write the report as JSON here.", valueName: "file"))
    var json: String?

    @Option(name: .long, help: ArgumentHelp("The survivors' explanations (default: docs/suite-power-explained.yaml).", valueName: "file"))
    var explained: String?

    @Option(name: .long, help: ArgumentHelp("Run nothing: render the reports again from an earlier run's JSON, with the explanations as they are now.", valueName: "file"))
    var from: String?

    @Flag(name: .long, help: "With --from: run that run's survivors again against the suite as it is now (same SDK, files, sample and seed) and keep its other results.")
    var rerunSurvivors = false

    /// How many of a mutant's failing scenarios run again to confirm the kill.
    static let confirmations = 3

    /// The mutation library, in a venv of its own.
    static let toolRequirement = "mutmut==2.5.1"

    func validate() throws {
        if let sample { guard sample >= 1 else { throw ValidationError("--sample must be at least 1") } }
        if rerunSurvivors, from == nil { throw ValidationError("--rerun-survivors runs the survivors of an earlier run: give its JSON with --from") }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
        guard (0...999_999_999).contains(seed) else { throw ValidationError("--seed must be 0–999999999") }
        if let sdk, sdk.wholeMatch(of: /alter-sdk==[0-9A-Za-z.+\-]+/) == nil {
            throw ValidationError("--sdk takes a pinned requirement such as alter-sdk==0.11.0, got '\(sdk)'")
        }
        let names = files.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        guard !names.isEmpty, names.allSatisfy({ $0.hasSuffix(".py") && !$0.contains("..") && !$0.hasPrefix("/") }) else {
            throw ValidationError("--files takes .py files inside the SDK's package, such as client.py,models.py")
        }
    }

    func run() async throws {
        try await UserError.reported(make)
    }

    func make() async throws {
        try ReportOutputs.checkWritable([("Markdown", md), ("JSON", json)], what: "report")
        let layout: ProjectLayout
        do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }
        let explanations = try loadExplanations(layout)
        var earlier: MutationReport?
        if let from {
            let report = try Self.readReport(from)
            guard rerunSurvivors else { return try rerender(report, path: from, explanations: explanations) }
            earlier = report
        }
        // A rerun makes the earlier run's mutants: its files, sample and seed.
        let files = earlier.map { $0.files.joined(separator: ",") } ?? self.files
        let seed = earlier?.seed ?? self.seed
        var sample = self.sample
        if let earlier { sample = earlier.sample }
        let (scenarios, errors) = ScenarioLoader.load(paths: paths.isEmpty ? [layout.scenarios.path] : paths)
        if !errors.isEmpty {
            for error in errors { printError("\(error)") }
            throw UserError.badInput("\(errors.count) scenario file problem(s); nothing was run")
        }
        let driver = try await SuiteSession.driver(nil, requirement: sdk, layout: layout)
        let requirement: String
        do { requirement = try PythonDriverBootstrap(layout: layout, requirement: sdk).requirement } catch { throw UserError.badInput("\(error)") }
        let tools: String
        do {
            let bootstrap = try PythonDriverBootstrap(layout: layout, requirement: Self.toolRequirement)
            _ = try await bootstrap.ensure(log: { printError($0) })
            tools = bootstrap.venv.appendingPathComponent("bin/python").path
        } catch {
            throw UserError(message: "cannot install \(Self.toolRequirement) for the mutants: \(error)", code: 3)
        }
        let scratch = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-mutate-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: scratch) }
        let package = try await Self.output(driver.executable, ["-c", "import alter_sdk, os; print(os.path.dirname(alter_sdk.__file__))"])
        let generated = try await Self.output(tools, [layout.pythonDriver.appendingPathComponent("mutants.py").path, "--sdk-dir", package,
                                                       "--files", files, "--out", scratch.appendingPathComponent("mutants").path,
                                                       "--seed", "\(seed)"] + (sample.map { ["--sample", "\($0)"] } ?? []))
        printLine("vaultsim mutate: \(generated)")
        var list = try Self.mutants(scratch.appendingPathComponent("mutants/mutants.json"))
        if let earlier {
            guard earlier.sdk == requirement else { throw UserError.badInput("\(from ?? "") is a run of \(earlier.sdk), not of \(requirement): give --sdk \(earlier.sdk)") }
            let survivors = Dictionary(earlier.survivors.map { ($0.mutant.id, $0.mutant) }, uniquingKeysWith: { a, _ in a })
            list.mutants = list.mutants.filter { survivors[$0.id] != nil }
            let changed = list.mutants.filter { survivors[$0.id].map { [$0.original, $0.mutated] } != [$0.original, $0.mutated] }.map(\.id)
            guard list.mutants.count == survivors.count, changed.isEmpty else {
                throw UserError.badInput("the survivors of \(from ?? "") are not the mutants this SDK and mutants.py make now "
                                         + "(\(changed.isEmpty ? "\(survivors.count - list.mutants.count) not made" : "changed: " + changed.joined(separator: ", "))); run the whole sample again")
            }
        }

        let session = SuiteSession(layout: layout, driver: driver, jobs: jobs)
        let results = try await session.withServer { server, serverURL, proxy -> (Double, [MutationReport.Result]) in
            var options = ScenarioRunner.Options()
            options.jobs = jobs
            options.proxy = proxy
            // The suite against one copy of the SDK package, PYTHONPATH pointing at it.
            func suite(_ copy: URL, only: Set<String>? = nil, order: [Scenario]? = nil, firstKill: Bool = false) async throws -> RunSummary {
                var command = driver
                command.environment["PYTHONPATH"] = copy.path
                let chosen = only.map { ids in scenarios.filter { ids.contains($0.id) } } ?? order ?? scenarios
                var options = options
                if firstKill { options.stopAfterFailures = 1 }
                let summary = await ScenarioRunner(server: server, serverURL: serverURL, driver: command, options: options).run(chosen) { _ in }
                if let imported = summary.results.lazy.compactMap(\.sdk).first?["sdk_path"]?.stringValue, !imported.hasPrefix(copy.path) {
                    throw UserError(message: "the driver imported the SDK from \(imported), not from the mutant's copy in \(copy.path)", code: 3)
                }
                return summary
            }
            let base = try Self.copy(package, into: scratch.appendingPathComponent("base"), replacing: nil)
            let baseline = try await suite(base)
            guard baseline.allPassed, baseline.driverStartFailure == nil else {
                let failed = baseline.results.filter { !$0.passed && $0.verdict != .skipped }.map(\.scenarioID)
                throw UserError(message: "the suite does not pass on the unmutated \(requirement): \(failed.joined(separator: ", "))", code: 1)
            }
            printLine("vaultsim mutate: the unmutated SDK passes (\(baseline.passedCount) passed, \(baseline.skippedCount) skipped, "
                      + "\(String(format: "%.1f", baseline.duration.seconds)) s); \(list.mutants.count) mutants to run")
            var results: [MutationReport.Result] = []
            // How many mutants each scenario killed so far: the likeliest killers run first, and a
            // mutant's run stops at its first kill (only a survivor needs the whole suite).
            var kills: [String: Int] = [:]
            for (index, mutant) in list.mutants.enumerated() {
                let copy = try Self.copy(package, into: scratch.appendingPathComponent("run"), replacing: (mutant.file, mutant.path))
                let order = scenarios.enumerated().sorted { a, b in
                    let (ka, kb) = (kills[a.element.id] ?? 0, kills[b.element.id] ?? 0)
                    return ka != kb ? ka > kb : a.offset < b.offset
                }.map(\.element)
                let summary = try await suite(copy, order: order, firstKill: true)
                var killers = summary.results.filter { $0.verdict == .failed || $0.verdict == .errored }.map(\.scenarioID)
                if !killers.isEmpty, summary.driverStartFailure == nil {
                    // A kill counts when it repeats: the first failing scenarios run again against
                    // the mutant, and only those that fail again killed it (a scenario that failed
                    // once under load is not the suite noticing the edit).
                    let again = try await suite(copy, only: Set(killers.prefix(Self.confirmations)))
                    killers = again.results.filter { $0.verdict == .failed || $0.verdict == .errored }.map(\.scenarioID)
                }
                let killed = !killers.isEmpty || summary.driverStartFailure != nil
                for killer in killers { kills[killer, default: 0] += 1 }
                var result = MutationReport.Result(mutant: mutant.report, outcome: killed ? .killed : .survived,
                                                   killedBy: killers.isEmpty && killed ? ["(the SDK did not start)"] : killers,
                                                   scenariosRun: summary.results.count, seconds: summary.duration.seconds)
                if !killed { result.explanation = explanations.first { $0.matches(mutant.report) } }
                results.append(result)
                // The reports so far, after every mutant: an interrupted run keeps what it found.
                try writeReports(Self.merge(results, into: earlier), baselineSeconds: baseline.duration.seconds,
                                 planned: earlier?.results.count ?? list.mutants.count, candidates: list.candidates, requirement: requirement,
                                 scenarios: scenarios.count, earlier: earlier)
                printLine("  [\(index + 1)/\(list.mutants.count)] \(mutant.report.id) \(mutant.report.operator): "
                          + (killed ? "killed by \(result.killedBy.prefix(2).joined(separator: ", "))" : "SURVIVED  \(mutant.report.description)"))
            }
            return (baseline.duration.seconds, results)
        }
        let report = try writeReports(Self.merge(results.1, into: earlier), baselineSeconds: results.0,
                                      planned: earlier?.results.count ?? list.mutants.count, candidates: list.candidates,
                                      requirement: requirement, scenarios: scenarios.count, earlier: earlier)
        printLine("vaultsim mutate: \(report.results.count) mutants, \(report.killed) killed, \(report.survivors.count) survived "
                  + "(\(report.equivalent) equivalent, \(report.open) open, \(report.unreached) unreached, \(report.unexplained) unexplained); kill rate "
                  + String(format: "%.1f %%", report.killRate * 100))
    }

    static func readReport(_ path: String) throws -> MutationReport {
        do {
            return try JSONDecoder().decode(MutationReport.self, from: Data(contentsOf: URL(fileURLWithPath: path)))
        } catch {
            throw UserError.badInput("\(path) is not the JSON report of a vaultsim mutate run: \(error)")
        }
    }

    /// The earlier run's results with those run again put in their place.
    static func merge(_ fresh: [MutationReport.Result], into earlier: MutationReport?) -> [MutationReport.Result] {
        guard let earlier else { return fresh }
        let byID = Dictionary(fresh.map { ($0.mutant.id, $0) }, uniquingKeysWith: { a, _ in a })
        return earlier.results.map { byID[$0.mutant.id] ?? $0 }
    }

    /// `--from`: an earlier run's results, explained again and rendered; nothing runs.
    private func rerender(_ earlier: MutationReport, path: String, explanations: [MutationReport.Explanation]) throws {
        guard md != nil || json != nil else { throw UserError.badInput("--from renders reports: give --md or --json") }
        var report = earlier.explained(by: explanations)
        report.command = "\(earlier.command)` (explained again by `vaultsim mutate --from \(path)\(md.map { " --md \($0)" } ?? "")"
        try ReportOutputs.write([(md, { report.markdown() }), (json, { try report.json() })])
        printLine("vaultsim mutate: \(report.results.count) mutants from \(path), \(report.killed) killed, \(report.survivors.count) survived "
                  + "(\(report.equivalent) equivalent, \(report.open) open, \(report.unreached) unreached, \(report.unexplained) unexplained); "
                  + "kill rate " + String(format: "%.1f %%", report.killRate * 100))
    }

    /// Writes the Markdown and JSON reports of the mutants run so far.
    @discardableResult
    private func writeReports(_ results: [MutationReport.Result], baselineSeconds: Double, planned: Int, candidates: [String: Int],
                              requirement: String, scenarios: Int, earlier: MutationReport? = nil) throws -> MutationReport {
        var command = (["vaultsim mutate"] + paths + (sdk.map { ["--sdk \($0)"] } ?? []) + (files == "client.py,models.py" ? [] : ["--files \(files)"])
                       + (sample.map { ["--sample \($0)", "--seed \(seed)"] } ?? []) + (md.map { ["--md \($0)"] } ?? [])).joined(separator: " ")
        if let earlier {
            command = "\(earlier.command)`, its survivors run again by `\(command) --from \(from ?? "") --rerun-survivors"
        }
        var report = MutationReport(command: command, sdk: requirement, files: earlier?.files ?? files.split(separator: ",").map(String.init),
                                    candidates: candidates, sample: earlier?.sample ?? sample, seed: earlier?.seed ?? seed, scenarios: scenarios,
                                    baselineSeconds: baselineSeconds, results: results)
        report.planned = planned
        try ReportOutputs.write([(md, { report.markdown() }), (json, { try report.json() })])
        return report
    }

    private func loadExplanations(_ layout: ProjectLayout) throws -> [MutationReport.Explanation] {
        let path = explained ?? layout.root.appendingPathComponent("docs/suite-power-explained.yaml").path
        guard FileManager.default.fileExists(atPath: path) else {
            if explained != nil { throw UserError.badInput("no explanations file at \(path)") }
            return []
        }
        do {
            return try MutationReport.Explanation.load(yaml: String(contentsOfFile: path, encoding: .utf8))
        } catch {
            throw UserError.badInput("\(path) is not a list of {file, original, mutated, kind: equivalent|open|unreached, reason}: \(error)")
        }
    }

    /// One mutant as mutants.py wrote it, and where its file is.
    struct Generated: Decodable {
        var id: String, file: String, line: Int, `operator`: String, description: String, original: String, mutated: String, diff: String, path: String
        var report: MutationReport.Mutant {
            MutationReport.Mutant(id: id, file: file, line: line, operator: `operator`, description: description, original: original, mutated: mutated, diff: diff)
        }
    }

    struct Generation: Decodable {
        var candidates: Int
        var by_operator: [String: Int]
        var mutants: [Generated]
    }

    static func mutants(_ file: URL) throws -> (candidates: [String: Int], mutants: [Generated]) {
        do {
            let generation = try JSONDecoder().decode(Generation.self, from: Data(contentsOf: file))
            return (generation.by_operator, generation.mutants)
        } catch {
            throw UserError(message: "mutants.py wrote no readable \(file.path): \(error)", code: 3)
        }
    }

    /// A fresh copy of the SDK package as `folder/alter_sdk`, with one file replaced.
    static func copy(_ package: String, into folder: URL, replacing: (file: String, with: String)?) throws -> URL {
        let fm = FileManager.default
        try? fm.removeItem(at: folder)
        try fm.createDirectory(at: folder, withIntermediateDirectories: true)
        let target = folder.appendingPathComponent("alter_sdk")
        try fm.copyItem(atPath: package, toPath: target.path)
        if let replacing {
            let destination = target.appendingPathComponent(replacing.file)
            try fm.removeItem(at: destination)
            try fm.copyItem(atPath: replacing.with, toPath: destination.path)
            // A stale compiled copy must not stand in for the mutated source.
            try? fm.removeItem(at: target.appendingPathComponent("__pycache__"))
        }
        return folder
    }

    /// A command's stdout (trimmed); a failure is the tools' (exit 3), with what it printed.
    static func output(_ executable: String, _ arguments: [String]) async throws -> String {
        let result = try await Subprocess.run(.path(FilePath(executable)), arguments: Arguments(arguments),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        guard result.terminationStatus.isSuccess else {
            throw UserError(message: "`\(([executable] + arguments).joined(separator: " "))` \(result.terminationStatus): \(result.standardError)", code: 3)
        }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
