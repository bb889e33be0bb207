import ArgumentParser
import Foundation
import VaultSimScenarios

/// `vaultsim bench suite`: how long the bundled suite takes, and where the time goes.
struct BenchSuiteCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "suite",
        abstract: "Run the suite and print its wall time, the per-scenario overhead and its floor.",
        discussion: """
            Runs the scenarios as `vaultsim run` does (--runs times, after --warmup runs that do not count) and prints, \
            per run and as medians: the wall time; the floor, the time the driver spent inside SDK calls and the \
            simulated user's steps divided by the jobs (what no runner could save); the per-scenario overhead, the \
            scenarios' own time outside their steps (sandbox, driver start, checks) per scenario; and the wall time \
            as a multiple of the floor. Figures depend on the build: measure a release build (swift build -c release).
            """)

    @Argument(help: "Scenario files or folders (default: the bundled scenarios/).")
    var paths: [String] = []

    @Option(name: .long, help: "How many scenarios to run at once.")
    var jobs: Int = ProcessInfo.processInfo.activeProcessorCount

    @Option(name: .long, help: "Runs that count.")
    var runs: Int = 3

    @Option(name: .long, help: "Runs first that do not count (the venv made, files cached).")
    var warmup: Int = 1

    @Flag(name: .long, help: "Rewrite URLs to the provider gateway instead of using the intercepting proxy.")
    var noProxy = false

    func validate() throws {
        guard (1...256).contains(jobs) else { throw ValidationError("--jobs must be 1–256") }
        guard (1...100).contains(runs) else { throw ValidationError("--runs must be 1–100") }
        guard (0...10).contains(warmup) else { throw ValidationError("--warmup must be 0–10") }
    }

    struct Figures {
        var wall: Double
        var floor: Double
        var overheadPerScenario: Double
        var scenarios: Int
        var failed: Int
    }

    /// The time a scenario spent in its steps: the union of their intervals, so that the steps of
    /// a `concurrently` step count once, not once each.
    static func timeInSteps(_ steps: [StepRecord]) -> Double {
        let intervals = steps.map { ($0.startedAfter, $0.startedAfter + $0.seconds) }.sorted { $0.0 < $1.0 }
        var total = 0.0
        var current: (Double, Double)?
        for interval in intervals {
            if let open = current, interval.0 <= open.1 {
                current = (open.0, max(open.1, interval.1))
            } else {
                if let open = current { total += open.1 - open.0 }
                current = interval
            }
        }
        if let open = current { total += open.1 - open.0 }
        return total
    }

    /// The figures of one run's results.
    static func figures(_ results: [ScenarioResult], wall: Double, jobs: Int) -> Figures {
        let inSteps = results.reduce(0.0) { $0 + timeInSteps($1.steps) }
        let scenarioTime = results.reduce(0.0) { $0 + $1.duration.seconds }
        return Figures(wall: wall, floor: inSteps / Double(max(jobs, 1)),
                       overheadPerScenario: results.isEmpty ? 0 : (scenarioTime - inSteps) / Double(results.count),
                       scenarios: results.count, failed: results.filter { !$0.passed && $0.verdict != .skipped }.count)
    }

    func run() async throws {
        do {
            let layout: ProjectLayout
            do { layout = try ProjectLayout.locate() } catch { throw UserError.badInput("\(error)") }
            let (scenarios, errors) = ScenarioLoader.load(paths: paths.isEmpty ? [layout.scenarios.path] : paths)
            if !errors.isEmpty {
                for error in errors { printError("\(error)") }
                throw UserError.badInput("\(errors.count) scenario file problem(s); nothing was run")
            }
            let driver = try await SuiteSession.driver(nil, requirement: nil, layout: layout)
            let session = SuiteSession(layout: layout, driver: driver, jobs: jobs, noProxy: noProxy)
            printLine("vaultsim bench suite: \(ConsoleReport.plural(scenarios.count, "scenario")), \(jobs) at once, "
                      + "\(ProcessInfo.processInfo.activeProcessorCount) cores, \(warmup) warm-up run(s) then \(runs)")
            var counted: [Figures] = []
            for index in 0..<(warmup + runs) {
                let start = ContinuousClock.now
                let summary = try await session.run(scenarios) { _ in }
                let figures = Self.figures(summary.results, wall: (ContinuousClock.now - start).seconds, jobs: jobs)
                let label = index < warmup ? "warm-up" : "run \(index - warmup + 1)"
                printLine(String(format: "%@: wall %.2f s, floor %.2f s (%.1f× the floor), overhead %.0f ms per scenario, %d failed",
                                 label, figures.wall, figures.floor, figures.wall / max(figures.floor, 0.001),
                                 figures.overheadPerScenario * 1000, figures.failed))
                if index >= warmup { counted.append(figures) }
            }
            func median(_ values: [Double]) -> Double { values.sorted()[values.count / 2] }
            let wall = median(counted.map(\.wall)), floor = median(counted.map(\.floor))
            printLine(String(format: "median: wall %.2f s, floor %.2f s, %.1f× the floor, overhead %.0f ms per scenario",
                             wall, floor, wall / max(floor, 0.001), median(counted.map(\.overheadPerScenario)) * 1000))
        } catch let error as UserError {
            printError("vaultsim: \(error.message)")
            throw ExitCode(error.code)
        }
    }
}
