import ArgumentParser
import Foundation
import VaultSimScenarios

/// `vaultsim report`: work with JSON reports after a run.
struct ReportCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Work with the JSON reports of runs (merge the shards of one run).",
        subcommands: [MergeCommand.self])

    struct MergeCommand: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "merge",
            abstract: "Merge the JSON reports of the shards of one run into one report.",
            discussion: """
                Every shard must come from the same suite, SDK, driver and mode, and every shard of the run must be \
                there; the merged record is printed as a run's summary and written as JUnit, JSON or HTML. Exit codes \
                as for `vaultsim run`: 0 all passed, 1 a scenario failed, 2 bad input (a report that cannot be read, \
                shards of different runs), 3 a scenario that could not be judged.
                """)

        @Argument(help: "The JSON reports of the shards (vaultsim run --json).")
        var files: [String]

        @Option(name: .long, help: ArgumentHelp("Write the merged JUnit XML report here.", valueName: "file"))
        var junit: String?

        @Option(name: .long, help: ArgumentHelp("Write the merged JSON report here.", valueName: "file"))
        var json: String?

        @Option(name: .long, help: ArgumentHelp("Write the merged HTML report here.", valueName: "file"))
        var html: String?

        func validate() throws {
            guard !files.isEmpty else { throw ValidationError("name the JSON reports of the shards to merge") }
        }

        func run() async throws {
            do {
                let outputs = ReportOutputs(junit: junit, json: json, html: html)
                if let problem = outputs.problems().first { throw UserError.badInput(problem) }
                var records: [(name: String, record: RunRecord)] = []
                for file in files {
                    let data: Data
                    do { data = try Data(contentsOf: URL(fileURLWithPath: file)) } catch {
                        throw UserError.badInput("cannot read \(file): \(ReportOutputs.shortReason(error))")
                    }
                    do { records.append((file, try RunRecord.read(data, name: file))) } catch { throw UserError.badInput("\(error)") }
                }
                let merged: RunRecord
                do { merged = try RunRecord.merge(records) } catch { throw UserError.badInput("\(error)") }
                printLine(ConsoleReport.summary(merged, style: .forStandardOutput()))
                try outputs.write(merged)
                let code = ReportOutputs.exitCode(merged)
                if code != 0 { throw ExitCode(code) }
            } catch let error as UserError {
                printError("vaultsim: \(error.message)")
                throw ExitCode(error.code)
            }
        }
    }
}
