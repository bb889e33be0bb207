import Foundation
import Testing
@testable import VaultSimScenarios

/// The loader reports every problem of a file at once, each where it is, with a guess for a
/// misspelt key; a missing file is named without a made-up line.
struct LoaderReportingTests {
    static let twoTyposAndABrokenStep = """
        vaultsim: 1
        titel: Three problems
        given:
          clinet: {caller: x}
        steps:
          - request:
              methd: GET
              url: https://www.googleapis.com/calendar/v3/calendars/primary/events
              grant_id: nope
          - advance_clock: 1s
          - request: [not, a, mapping]
        """

    @Test func everyProblemOfAFileIsReportedInOrder() throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-problems-\(UUID().uuidString).yaml")
        try Data(Self.twoTyposAndABrokenStep.utf8).write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        let (scenarios, errors) = ScenarioLoader.load(paths: [file.path])
        #expect(scenarios.isEmpty)
        let lines = errors.map { "\($0.location.line):\($0.location.column) \($0.message)" }
        #expect(lines.count == 4, "\(lines)")
        #expect(lines.first?.hasPrefix("2:1 unknown key 'titel' in the scenario (did you mean 'title'?") == true, "\(lines)")
        #expect(lines.dropFirst().first?.hasPrefix("4:3 unknown key 'clinet' in given (did you mean 'client'?") == true, "\(lines)")
        #expect(lines.dropFirst(2).first == "7:7 steps[0].request needs 'method'; found 'methd' here (did you mean 'method'?)", "\(lines)")
        #expect(lines.dropFirst(3).first?.hasPrefix("11:14 ") == true, "\(lines)")
        // `parse` still throws the first, for callers that want one.
        #expect(throws: ScenarioLoadError.self) { try ScenarioLoader.parse(Self.twoTyposAndABrokenStep, file: "x.yaml", defaultID: "x") }
    }

    @Test func atMostTwentyProblemsThenACount() {
        let keys = (0..<30).map { "  unknown\($0): 1" }.joined(separator: "\n")
        let text = "vaultsim: 1\ngiven:\n\(keys)\nsteps:\n  - advance_clock: 1s\n"
        guard case .failure(let problems) = ScenarioLoader.parseReportingAll(text, file: "many.yaml", defaultID: "many") else {
            Issue.record("thirty unknown keys must fail")
            return
        }
        #expect(problems.all.count == LoadProblems.limit + 1)
        #expect(problems.all.last?.message.contains("and 10 more problem(s)") == true, "\(problems.all.last?.message ?? "")")
    }

    @Test func aMissingFileIsNamedWithoutALine() {
        let (_, errors) = ScenarioLoader.load(paths: ["/nonexistent/vaultsim/x.yaml"])
        #expect(errors.map(\.description) == ["/nonexistent/vaultsim/x.yaml: no such file or folder"])
    }

    @Test func aGuessIsMadeOnlyForATypo() {
        #expect(LoadProblems.closest(to: "erorr", among: ["error", "result", "status"]) == "error")
        #expect(LoadProblems.closest(to: "methd", among: ["method", "url"]) == "method")
        #expect(LoadProblems.closest(to: "zzz", among: ["error", "result"]) == nil)
        #expect(LoadProblems.closest(to: "a", among: ["b"]) == nil)
    }
}

/// What the console prints of a run.
struct ConsoleReportTests {
    @Test func countsAreWrittenInGoodEnglish() {
        #expect(ConsoleReport.plural(1, "scenario") == "1 scenario")
        #expect(ConsoleReport.plural(0, "scenario") == "0 scenarios")
        let one = RunRecord(vaultsim: "v", suite: ["a"], sdk: nil, driver: "d", mode: "proxy", startedAt: Date(), seconds: 1, shard: nil,
                            coverage: nil, scenarios: [ReportSamples.scenarios[2]])
        #expect(ConsoleReport.summary(one).hasPrefix("1 scenario in 1.0 s"), "\(ConsoleReport.summary(one))")
    }
}
