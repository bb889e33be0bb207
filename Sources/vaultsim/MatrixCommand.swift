import ArgumentParser
import Foundation
import VaultSimScenarios

/// `vaultsim matrix`: the suite once per SDK version, as one table.
struct MatrixCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "matrix",
        abstract: "Run the suite once per SDK version and render one table: scenarios × versions.",
        discussion: """
            Each --sdk requirement gets its own venv (made on first use) and its own run of the suite, one after \
            another; the table shows every scenario's verdict on every version, grouped by area, and explains each \
            difference between versions by its failing expectation. Exit codes: 0 the matrix was made (whatever \
            the verdicts), 2 bad input, 3 an SDK that could not be installed or a driver that could not start.
            """)

    @Argument(help: "Scenario files or folders (default: the bundled scenarios/).")
    var paths: [String] = []

    @Option(name: .long, help: ArgumentHelp("An SDK version for the bundled Python driver, as a pinned pip requirement (repeat it: two at least).", valueName: "requirement"))
    var sdk: [String] = []

    @Option(name: .long, help: ArgumentHelp("Write the matrix as Markdown here (docs/compatibility.md).", valueName: "file"))
    var md: String?

    @Option(name: .long, help: ArgumentHelp("Write the matrix as one HTML page here.", valueName: "file"))
    var html: String?

    @Option(name: .long, help: ArgumentHelp("Write the matrix as JSON here.", valueName: "file"))
    var json: String?

    @Option(name: .long, help: "How many scenarios to run at once in each version's run.")
    var jobs: Int = 1

    @Flag(name: .long, help: "Rewrite URLs to the provider gateway instead of using the intercepting proxy.")
    var noProxy = false

    func validate() throws {
        guard sdk.count >= 2 else { throw ValidationError("name two SDK versions or more: --sdk alter-sdk==0.10.0 --sdk alter-sdk==0.11.0") }
        guard Set(sdk).count == sdk.count else { throw ValidationError("an --sdk is named twice") }
        for requirement in sdk where requirement.wholeMatch(of: /alter-sdk==[0-9A-Za-z.+\-]+/) == nil {
            throw ValidationError("--sdk takes a pinned requirement such as alter-sdk==0.10.0, got '\(requirement)'")
        }
        guard jobs >= 1 else { throw ValidationError("--jobs must be at least 1") }
    }

    func run() async throws {
        try await UserError.reported(make)
    }

    func make() async throws {
        try ReportOutputs.checkWritable([("Markdown", md), ("HTML", html), ("JSON", json)], what: "matrix")
        let layout: ProjectLayout
        do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }
        let (scenarios, errors) = ScenarioLoader.load(paths: paths.isEmpty ? [layout.scenarios.path] : paths)
        if !errors.isEmpty {
            for error in errors { printError("\(error)") }
            throw UserError.badInput("\(errors.count) scenario file problem(s); nothing was run")
        }
        var runs: [(version: String, record: RunRecord)] = []
        for requirement in sdk {
            let command = try await SuiteSession.driver(nil, requirement: requirement, layout: layout)
            let session = SuiteSession(layout: layout, driver: command, jobs: jobs, noProxy: noProxy)
            printLine("vaultsim matrix: \(requirement): \(ConsoleReport.plural(scenarios.count, "scenario"))")
            let started = Date()
            let summary = try await session.run(scenarios) { result in
                if !result.passed { printLine("  \(requirement): \(result.verdict.rawValue) \(result.scenarioID)") }
            }
            if let failed = summary.driverStartFailure {
                printError(ConsoleReport.driverStartFailure(failed, driver: "\(command)"))
                throw ExitCode(3)
            }
            let record = RunRecord(vaultsim: VaultSimCommand.version, suite: scenarios.map(\.id), sdk: RunRecord.sdk(from: summary.results),
                                   driver: "\(command)", mode: session.mode, startedAt: started, seconds: summary.duration.seconds,
                                   shard: nil, coverage: nil, scenarios: summary.results)
            printLine("vaultsim matrix: \(requirement): \(record.count(.passed)) passed, \(record.count(.failed)) failed, "
                      + "\(record.count(.skipped)) skipped, \(record.count(.errored)) errored")
            runs.append((String(requirement.dropFirst("alter-sdk==".count)), record.relativized(to: FileManager.default.currentDirectoryPath)))
        }
        let command = (["vaultsim matrix"] + paths + sdk.map { "--sdk \($0)" } + (md.map { ["--md \($0)"] } ?? [])).joined(separator: " ")
        let matrix = CompatibilityMatrix(runs: runs, command: command)
        try ReportOutputs.write([(md, { matrix.markdown() }), (html, { matrix.html() }), (json, { try matrix.json() })])
        printLine("vaultsim matrix: \(matrix.rows.filter(\.differs).count) of \(matrix.rows.count) scenarios differ between \(sdk.joined(separator: ", "))")
    }
}
