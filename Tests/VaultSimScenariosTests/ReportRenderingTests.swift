import Foundation
import SnapshotTesting
import Subprocess
import Testing
import XMLCoder
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Every report is a pure rendering of the run record, pinned by a golden file
/// (`__Snapshots__/ReportRenderingTests/`), and valid for its readers: JUnit for a JUnit parser,
/// JSON for its schema (`docs/report.schema.json`), HTML for a browser.
struct ReportRenderingTests {
    @Test func theConsoleSummaryShowsFailuresAsExpectedVersusActual() {
        let record = ReportSamples.record
        let lines = record.scenarios.map { ConsoleReport.line(for: $0) }.joined(separator: "\n")
        assertSnapshot(of: lines + "\n" + ConsoleReport.summary(record) + "\n", as: .lines)
    }

    @Test func coloursOnlyOnATerminalAndNeverWithNoColor() {
        let record = ReportSamples.record
        #expect(!ConsoleReport.summary(record).contains("\u{1B}["))
        #expect(ConsoleReport.line(for: record.scenarios[0], style: .init(colours: true)).contains("\u{1B}[31m"))
        // A pipe is no terminal: no colours whatever the variables say.
        #expect(ConsoleReport.Style.forStandardOutput(environment: [:]).colours == (isatty(STDOUT_FILENO) == 1))
        #expect(ConsoleReport.Style.forStandardOutput(environment: ["NO_COLOR": "1"]).colours == false)
    }

    @Test func theJUnitReport() {
        assertSnapshot(of: JUnitReport.xml(ReportSamples.record), as: .lines)
    }

    @Test func theJSONReport() throws {
        assertSnapshot(of: try ReportSamples.record.json(), as: .lines)
    }

    @Test func theHTMLReport() {
        assertSnapshot(of: HTMLReport.page(ReportSamples.record), as: .lines)
    }

    @Test func theJSONReportReadsBackAsTheSameRecord() throws {
        let record = ReportSamples.record
        let read = try RunRecord.read(Data(try record.json().utf8), name: "sample.json")
        #expect(read == record)
        #expect(throws: RunRecord.ReadError.self) { try RunRecord.read(Data(#"{"format":"junit"}"#.utf8), name: "other.json") }
    }

    /// Two versions that differ in one scenario: the table shows both verdicts, and the
    /// difference is explained by the failing expectation.
    @Test func theCompatibilityMatrix() throws {
        let older = ReportSamples.record
        var newer = ReportSamples.record
        newer.scenarios[0].verdict = .passed
        newer.scenarios[0].findings = []
        let matrix = CompatibilityMatrix(runs: [("0.10.0", older), ("0.11.0", newer)],
                                         command: "vaultsim matrix --sdk alter-sdk==0.10.0 --sdk alter-sdk==0.11.0 --md docs/compatibility.md")
        #expect(matrix.rows.filter(\.differs).map(\.id) == ["audit/latency"])
        assertSnapshot(of: matrix.markdown(), as: .lines)
        #expect(matrix.html().contains("result.status: expected 201, got 200"))
        let decoded = try JSONDecoder().decode(CompatibilityMatrix.self, from: Data(try matrix.json().utf8))
        #expect(decoded == matrix)
    }

    // MARK: valid for their readers

    struct JUnitSuites: Decodable {
        let tests: Int, failures: Int, errors: Int, skipped: Int
        let testsuite: [Suite]
        struct Suite: Decodable {
            let name: String, tests: Int, failures: Int, errors: Int, skipped: Int
            let properties: Properties
            let testcase: [Case]
        }
        struct Properties: Decodable {
            let property: [Property]
        }
        struct Property: Decodable {
            let name: String, value: String
        }
        struct Case: Decodable {
            let classname: String, name: String, file: String, time: Double
            let failure: Problem?, error: Problem?, skipped: Skipped?
        }
        struct Problem: Decodable {
            let message: String, type: String
            let value: String
            enum CodingKeys: String, CodingKey { case message, type, value = "" }
        }
        struct Skipped: Decodable {
            let message: String
        }
    }

    @Test func theJUnitReportParsesWithEveryCaseUniqueAndCounted() throws {
        let xml = JUnitReport.xml(ReportSamples.record)
        let suites = try XMLDecoder().decode(JUnitSuites.self, from: Data(xml.utf8))
        let suite = try #require(suites.testsuite.first)
        #expect((suites.tests, suites.failures, suites.errors, suites.skipped) == (4, 1, 1, 1))
        #expect(suite.testcase.count == 4)
        #expect(Set(suite.testcase.map { $0.classname + "." + $0.name }).count == 4, "classname + name is unique per scenario")
        #expect(suite.testcase.allSatisfy { !$0.classname.contains("/") && $0.classname.hasPrefix("vaultsim.alter-sdk_0_11_0") })
        #expect(suite.testcase.allSatisfy { $0.file.hasPrefix("scenarios/") && $0.file.hasSuffix(".yaml") })
        let failed = try #require(suite.testcase.first { $0.failure != nil })
        #expect(failed.failure?.message == "result.status: expected 201, got 200 (+1 more)")
        #expect(failed.failure?.value.contains("expected: $gt 0.0") == true)
        #expect(suite.testcase.contains { $0.error?.type == "setup" })
        #expect(suite.testcase.contains { $0.skipped?.message.contains("create_connect_session") == true })
        #expect(suite.properties.property.contains { $0.name == "sdk.version" && $0.value == "0.11.0" })
    }

    @Test func theJSONReportMatchesItsSchema() async throws {
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-report-\(UUID().uuidString).json")
        defer { try? FileManager.default.removeItem(at: file) }
        try ReportSamples.record.json().write(to: file, atomically: true, encoding: .utf8)
        let problems = try await SchemaCheck.problems(file)
        #expect(problems.isEmpty, "\(problems)")
        // The schema is not a rubber stamp: a wrong verdict is refused.
        let bad = try ReportSamples.record.json().replacingOccurrences(of: "\"verdict\" : \"passed\"", with: "\"verdict\" : \"fine\"")
        try bad.write(to: file, atomically: true, encoding: .utf8)
        #expect(try await !SchemaCheck.problems(file).isEmpty)
    }

    @Test func theHTMLReportOpensInChromiumWithoutConsoleErrors() async throws {
        guard let chromium = HeadlessChromium.path else {
            if ProcessInfo.processInfo.environment["CI"] != nil { Issue.record("CI is set but chromium is missing (.ci/run installs it)") }
            return
        }
        let artefacts = EndToEnd.root.appendingPathComponent(".build/artefacts")
        try FileManager.default.createDirectory(at: artefacts, withIntermediateDirectories: true)
        let page = artefacts.appendingPathComponent("vaultsim-report-sample.html")
        try HTMLReport.page(ReportSamples.record).write(to: page, atomically: true, encoding: .utf8)
        // The filter script runs: opened with #verdict=failed it shows the one failed scenario.
        let dom = try await HeadlessChromium.run(chromium, ["--dump-dom", page.absoluteString + "#verdict=failed"])
        #expect(dom.output.contains("<span id=\"shown\">1 shown</span>"), "\(dom.output.suffix(2000))")
        #expect(!dom.log.contains("Uncaught") && !dom.log.contains(":ERROR:CONSOLE"), "console errors: \(dom.log)")
        let screenshot = artefacts.appendingPathComponent("vaultsim-report-sample.png")
        try? FileManager.default.removeItem(at: screenshot)
        let shot = try await HeadlessChromium.run(chromium, ["--screenshot=\(screenshot.path)", "--window-size=1280,1400", page.absoluteString])
        #expect(FileManager.default.fileExists(atPath: screenshot.path), "no screenshot: \(shot.log.suffix(1500))")
    }
}

/// `docs/report.schema.json`, checked with Python's jsonschema (`.ci/run` installs it).
enum SchemaCheck {
    /// What the schema (a file under docs/) finds wrong in each file: `path: message` lines,
    /// prefixed by the file's name when there are several; empty when all are valid.
    static func problems(_ report: URL, schema name: String = "report.schema.json", more: [URL] = []) async throws -> String {
        let schema = EndToEnd.root.appendingPathComponent("docs/\(name)").path
        let script = """
            import json, sys
            import jsonschema
            schema = json.load(open(sys.argv[1]))
            jsonschema.Draft202012Validator.check_schema(schema)
            files = sys.argv[2:]
            for file in files:
                errors = sorted(jsonschema.Draft202012Validator(schema).iter_errors(json.load(open(file))), key=str)
                for error in errors[:10]:
                    print((file + ": " if len(files) > 1 else "") + "/".join(map(str, error.absolute_path)) + ": " + error.message)
            """
        let result = try await Subprocess.run(.name("python3"), arguments: Arguments(["-c", script, schema, report.path] + more.map(\.path)),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        guard result.terminationStatus == .exited(0) else { return "the schema check could not run: \(result.standardError)" }
        return result.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// Headless Chromium from Debian's package, run as a command.
enum HeadlessChromium {
    static let path: String? = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    static func run(_ chromium: String, _ arguments: [String]) async throws -> (output: String, log: String) {
        let profile = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-chromium-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: profile) }
        let result = try await Subprocess.run(
            .path(FilePath(chromium)),
            arguments: Arguments(["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                                  "--user-data-dir=\(profile.path)", "--enable-logging=stderr", "--v=0"] + arguments),
            output: .string(limit: 16 << 20), error: .string(limit: 16 << 20))
        return (result.standardOutput, result.standardError)
    }
}
