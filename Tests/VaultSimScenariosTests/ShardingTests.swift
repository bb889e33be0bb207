import Foundation
import Subprocess
import Testing
import XMLCoder
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Splitting a suite on CI engines: deterministic, every scenario in exactly one shard, balanced
/// by recorded durations when given; shard picked by `--shard`, Bazel's variables or a
/// Kubernetes Indexed Job's index.
struct ShardingTests {
    static let ids = (0..<25).map { String(format: "area%d/scenario-%02d", $0 % 4, $0) }

    @Test func everyScenarioIsInExactlyOneShardTheSameEveryTime() {
        for total in 1...6 {
            let shards = (1...total).map { Sharding.select(Self.ids.shuffled(), id: { $0 }, shard: .init(index: $0, total: total)) }
            #expect(shards.flatMap { $0 }.sorted() == Self.ids.sorted(), "\(total) shards")
            #expect(Set(shards.flatMap { $0 }).count == Self.ids.count)
            // By count: no shard has more than one scenario more than another.
            #expect((shards.map(\.count).max() ?? 0) - (shards.map(\.count).min() ?? 0) <= 1)
            // Stable: the input's order does not matter.
            #expect(shards == (1...total).map { Sharding.select(Self.ids, id: { $0 }, shard: .init(index: $0, total: total)) })
        }
    }

    @Test func recordedDurationsBalanceTheShards() {
        // One long scenario and many short ones: by count, the long one's shard would take far longer.
        var durations = Dictionary(uniqueKeysWithValues: Self.ids.map { ($0, 1.0) })
        durations[Self.ids[0]] = 12
        let shards = (1...3).map { Sharding.select(Self.ids, id: { $0 }, shard: .init(index: $0, total: 3), durations: durations) }
        #expect(shards.flatMap { $0 }.sorted() == Self.ids.sorted())
        let loads = shards.map { $0.reduce(0) { $0 + (durations[$1] ?? 0) } }
        #expect((loads.max() ?? 0) - (loads.min() ?? 0) <= 1.0, "\(loads)")
        #expect(shards.first { $0.contains(Self.ids[0]) }?.count == 1, "the long scenario's shard holds nothing else")
        // A scenario missing from the durations counts at the median: still in exactly one shard.
        durations[Self.ids[5]] = nil
        #expect((1...3).flatMap { Sharding.select(Self.ids, id: { $0 }, shard: .init(index: $0, total: 3), durations: durations) }.count == 25)
    }

    @Test func theShardComesFromTheOptionBazelOrKubernetes() throws {
        #expect(try Sharding.resolve(option: "2/3", shards: nil, environment: ["TEST_TOTAL_SHARDS": "5", "TEST_SHARD_INDEX": "0"])?.0
                == .init(index: 2, total: 3))
        let bazel = try Sharding.resolve(option: nil, shards: nil, environment: ["TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": "2"])
        #expect(bazel?.0 == .init(index: 3, total: 3) && bazel?.1 == .bazel)
        let kubernetes = try Sharding.resolve(option: nil, shards: 4, environment: ["JOB_COMPLETION_INDEX": "0"])
        #expect(kubernetes?.0 == .init(index: 1, total: 4) && kubernetes?.1 == .kubernetes)
        #expect(try Sharding.resolve(option: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "1", "VAULTSIM_TOTAL_SHARDS": "2"])?.0
                == .init(index: 2, total: 2))
        #expect(try Sharding.resolve(option: nil, shards: nil, environment: [:]) == nil)
        for bad in ["0/3", "4/3", "1/0", "x", "1/", "/3", "1/3/5", "-1/2"] {
            #expect(throws: Sharding.Problem.self, "\(bad)") { try Sharding.resolve(option: bad, shards: nil, environment: [:]) }
        }
        #expect(throws: Sharding.Problem.self) { try Sharding.resolve(option: nil, shards: nil, environment: ["TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": "3"]) }
        #expect(throws: Sharding.Problem.self) { try Sharding.resolve(option: nil, shards: nil, environment: ["JOB_COMPLETION_INDEX": "0"]) }
        #expect(throws: Sharding.Problem.self) { try Sharding.resolve(option: nil, shards: 3, environment: [:]) }
    }

    @Test func theOrderIsShuffledBySeedTheSameEveryTime() {
        let first = RunOrder.shuffled(Self.ids, seed: 7)
        #expect(first.sorted() == Self.ids.sorted(), "a permutation")
        #expect(first != Self.ids, "shuffled")
        #expect(RunOrder.shuffled(Self.ids, seed: 7) == first, "the same seed, the same order")
        #expect(RunOrder.shuffled(Self.ids, seed: 8) != first)
        #expect(RunOrder.shuffled([String](), seed: 1).isEmpty && RunOrder.shuffled(["a"], seed: 1) == ["a"])
    }

    // MARK: real runs

    static var binary: String { EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path }
    static var folder: String { EndToEnd.root.appendingPathComponent("scenarios/managed-secrets").path }

    func vaultsim(_ arguments: [String], environment: [String: String] = [:]) async throws -> (status: TerminationStatus, output: String, errors: String) {
        var updates: [Environment.Key: String?] = [:]
        for (key, value) in environment { updates[Environment.Key(rawValue: key)!] = value }
        // Under `swift test` itself no Bazel variables are set; clear them so a Bazel-run test does not shard this run twice.
        for key in ["TEST_TOTAL_SHARDS", "TEST_SHARD_INDEX", "XML_OUTPUT_FILE", "TEST_UNDECLARED_OUTPUTS_DIR", "TEST_SHARD_STATUS_FILE",
                    "JOB_COMPLETION_INDEX", "VAULTSIM_TOTAL_SHARDS"] where environment[key] == nil {
            updates[Environment.Key(rawValue: key)!] = .some(nil)
        }
        let result = try await Subprocess.run(.path(FilePath(Self.binary)), arguments: Arguments(arguments), environment: .inherit.updating(updates),
                                              workingDirectory: FilePath(EndToEnd.root.path),
                                              output: .string(limit: 4 << 20), error: .string(limit: 4 << 20))
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    static func verdicts(_ file: URL) throws -> [String: String] {
        let record = try RunRecord.read(try Data(contentsOf: file), name: file.path)
        return Dictionary(uniqueKeysWithValues: record.scenarios.map { ($0.scenarioID, $0.verdict.rawValue) })
    }

    @Test func threeShardsThroughBazelAndThroughTheOptionMergeToTheUnshardedVerdicts() async throws {
        _ = try await EndToEnd.pythonDriver.value
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-shards-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        func file(_ name: String) -> URL { dir.appendingPathComponent(name) }

        let whole = try await vaultsim(["run", "--no-proxy", Self.folder, "--json", file("whole.json").path,
                                        "--junit", file("whole.xml").path, "--html", file("whole.html").path])
        #expect(whole.status == .exited(0), "\(whole.output)\n\(whole.errors)")
        let expected = try Self.verdicts(file("whole.json"))
        #expect(expected.count == 7)
        // What `vaultsim run` wrote is valid for each reader: the schema, a JUnit parser, a browser.
        #expect(try await SchemaCheck.problems(file("whole.json")).isEmpty)
        let junit = try XMLDecoder().decode(ReportRenderingTests.JUnitSuites.self, from: Data(contentsOf: file("whole.xml")))
        #expect(junit.tests == 7 && junit.testsuite.first?.testcase.count == 7)
        #expect(junit.testsuite.first?.properties.property.contains { $0.name == "sdk.version" && $0.value == "0.11.0" } == true)
        if let chromium = HeadlessChromium.path {
            let dom = try await HeadlessChromium.run(chromium, ["--dump-dom", file("whole.html").absoluteString])
            #expect(dom.output.contains("<span id=\"shown\">7 shown</span>"), "\(dom.output.suffix(1000))")
            #expect(!dom.log.contains("Uncaught") && !dom.log.contains(":ERROR:CONSOLE"), "\(dom.log)")
        }

        // Bazel's protocol: the index from TEST_SHARD_INDEX, JUnit to XML_OUTPUT_FILE, the other
        // reports to TEST_UNDECLARED_OUTPUTS_DIR, the status file touched.
        var bazelReports: [String] = []
        for index in 0..<3 {
            let outputs = file("bazel-\(index)")
            try FileManager.default.createDirectory(at: outputs, withIntermediateDirectories: true)
            let run = try await vaultsim(["run", "--no-proxy", Self.folder], environment: [
                "TEST_TOTAL_SHARDS": "3", "TEST_SHARD_INDEX": String(index), "TEST_SHARD_STATUS_FILE": file("status-\(index)").path,
                "XML_OUTPUT_FILE": file("junit-\(index).xml").path, "TEST_UNDECLARED_OUTPUTS_DIR": outputs.path,
            ])
            #expect(run.status == .exited(0), "\(run.output)\n\(run.errors)")
            #expect(run.output.contains("shard \(index + 1)/3 (from Bazel"), "\(run.output)")
            #expect(FileManager.default.fileExists(atPath: file("status-\(index)").path))
            #expect(FileManager.default.fileExists(atPath: file("junit-\(index).xml").path))
            #expect(FileManager.default.fileExists(atPath: outputs.appendingPathComponent("vaultsim-report.html").path))
            bazelReports.append(outputs.appendingPathComponent("vaultsim-report.json").path)
        }
        let bazelMerge = try await vaultsim(["report", "merge"] + bazelReports + ["--json", file("bazel.json").path, "--junit", file("bazel.xml").path])
        #expect(bazelMerge.status == .exited(0), "\(bazelMerge.output)\n\(bazelMerge.errors)")
        #expect(try Self.verdicts(file("bazel.json")) == expected)

        var optionReports: [String] = []
        for index in 1...3 {
            let report = file("shard-\(index).json").path
            let run = try await vaultsim(["run", "--no-proxy", Self.folder, "--shard", "\(index)/3", "--json", report])
            #expect(run.status == .exited(0), "\(run.output)\n\(run.errors)")
            optionReports.append(report)
        }
        let optionMerge = try await vaultsim(["report", "merge"] + optionReports + ["--json", file("option.json").path])
        #expect(optionMerge.status == .exited(0), "\(optionMerge.errors)")
        #expect(try Self.verdicts(file("option.json")) == expected)
        #expect(try await SchemaCheck.problems(file("option.json")).isEmpty)

        // Shards that do not make one run are refused, saying why.
        let missing = try await vaultsim(["report", "merge"] + optionReports.prefix(2))
        #expect(missing.status == .exited(2) && missing.errors.contains("shard(s) 3 of 3 are missing"), "\(missing.errors)")
        let twice = try await vaultsim(["report", "merge", optionReports[0], bazelReports[0]])
        #expect(twice.status == .exited(2), "\(twice.errors)")
        let other = try await vaultsim(["run", "--no-proxy", EndToEnd.root.appendingPathComponent("scenarios/errors/unknown-grant.yaml").path,
                                        "--json", file("other.json").path])
        #expect(other.status == .exited(0), "\(other.errors)")
        let mixed = try await vaultsim(["report", "merge", optionReports[0], file("other.json").path])
        #expect(mixed.status == .exited(2) && mixed.errors.contains("is a shard of another suite"), "\(mixed.errors)")
    }
}
