import Foundation
import Subprocess
import Testing
import VaultSimCore
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim mutate`: the mutants `drivers/python/mutants.py` makes, and a sampled run of the
/// suite against the real alter-sdk's mutants.
@Suite(.serialized)
struct MutateCommandTests {
    static let tools = Task<String, any Error> {
        let bootstrap = try PythonDriverBootstrap(layout: EndToEnd.layout, requirement: "mutmut==2.5.1")
        _ = try await bootstrap.ensure()
        return bootstrap.venv.appendingPathComponent("bin/python").path
    }

    static func generate(_ package: URL, files: String, extra: [String] = []) async throws -> JSONValue {
        let out = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-mutants-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: out) }
        let result = try await Subprocess.run(
            .path(FilePath(try await tools.value)),
            arguments: Arguments([EndToEnd.layout.pythonDriver.appendingPathComponent("mutants.py").path, "--sdk-dir", package.path,
                                  "--files", files, "--out", out.path] + extra),
            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        try #require(result.terminationStatus.isSuccess, "\(result.standardError)")
        return try #require(JSONValue.parse(try Data(contentsOf: out.appendingPathComponent("mutants.json"))))
    }

    /// Each contract operator makes its edit, and an id names the same edit in a sample.
    @Test func theContractOperatorsMakeTheirEdits() async throws {
        let package = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-fake-sdk-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: package) }
        try FileManager.default.createDirectory(at: package, withIntermediateDirectories: true)
        try """
            class AlterSDKError(Exception):
                pass


            class BackendError(AlterSDKError):
                pass


            class GrantNotFoundError(BackendError):
                pass

            """.write(to: package.appendingPathComponent("exceptions.py"), atomically: true, encoding: .utf8)
        try """
            from .exceptions import GrantNotFoundError


            def call(caller, grant_id, token, seconds, given, injected):
                headers = {"X-Alter-Caller": caller, "grant_id": grant_id}
                headers["Authorization"] = token
                merged = {**given, **injected}
                timeout_ms = seconds * 1000
                if not grant_id:
                    raise GrantNotFoundError("no grant")
                return headers, merged, timeout_ms

            """.write(to: package.appendingPathComponent("client.py"), atomically: true, encoding: .utf8)
        let all = try await Self.generate(package, files: "client.py")
        let mutants = all["mutants"]?.arrayValue ?? []
        let described = Set(mutants.map { "\($0["operator"]?.stringValue ?? "") \($0["description"]?.stringValue ?? "")" })
        for expected in ["exception_parent raise BackendError instead of GrantNotFoundError", "drop_header drop 'X-Alter-Caller' from a dict literal",
                         "drop_field drop 'grant_id' from a dict literal", "drop_store do not set ['Authorization']", "unit drop the factor 1000",
                         "precedence swap the order of {**given, **injected}"] {
            #expect(described.contains(expected), "no mutant '\(expected)' among \(described.sorted())")
        }
        #expect(mutants.contains { $0["operator"]?.stringValue == "mutmut" }, "mutmut's operators made nothing")
        #expect(all["candidates"]?.intValue == mutants.count)
        // Every mutant's file parses and differs from the original in one place.
        let unit = try #require(mutants.first { $0["operator"]?.stringValue == "unit" })
        #expect(unit["original"]?.stringValue == "timeout_ms = seconds * 1000" && unit["mutated"]?.stringValue == "timeout_ms = (seconds)")

        let sampled = try await Self.generate(package, files: "client.py", extra: ["--sample", "3", "--seed", "9"])
        let picked = sampled["mutants"]?.arrayValue ?? []
        #expect(picked.count == 3 && sampled["candidates"]?.intValue == mutants.count)
        for mutant in picked {
            let same = mutants.first { $0["id"] == mutant["id"] }
            #expect(same?["diff"] == mutant["diff"], "\(mutant["id"]?.stringValue ?? "") names another edit in a sample")
        }
        let again = try await Self.generate(package, files: "client.py", extra: ["--sample", "3", "--seed", "9"])
        #expect(again["mutants"]?.arrayValue?.map { $0["id"] } == picked.map { $0["id"] }, "the same seed picks the same mutants")
    }

    /// A sample of alter-sdk 0.11.0's mutants (of models.py) against a few scenarios: the unmutated SDK passes
    /// first, then each mutant is killed (by scenarios that ran) or survives, and both reports say so.
    @Test func aSampledRunReportsEveryMutant() async throws {
        _ = try await EndToEnd.pythonDriver.value
        _ = try await Self.tools.value
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-mutate-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenarios = ["errors/unknown-grant.yaml", "errors/revoked-grant.yaml", "google/calendar-list-events-query-params.yaml"]
            .map { EndToEnd.root.appendingPathComponent("scenarios/\($0)").path }
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let result = try await Subprocess.run(
            .path(FilePath(binary)),
            // models.py: a small file, so the mutants are listed quickly while other tests run.
            arguments: Arguments(["mutate"] + scenarios + ["--files", "models.py", "--sample", "4", "--seed", "11", "--jobs", "2",
                                                          "--json", dir.appendingPathComponent("power.json").path,
                                                          "--md", dir.appendingPathComponent("power.md").path]),
            workingDirectory: FilePath(EndToEnd.root.path), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        try #require(result.terminationStatus.isSuccess, "\(result.standardOutput)\n\(result.standardError)")
        #expect(result.standardOutput.contains("the unmutated SDK passes"))
        let report = try #require(JSONValue.parse(try Data(contentsOf: dir.appendingPathComponent("power.json"))))
        let results = report["results"]?.arrayValue ?? []
        #expect(results.count == 4)
        let stems = ["unknown-grant", "revoked-grant", "calendar-list-events-query-params"]
        for entry in results {
            let outcome = entry["outcome"]?.stringValue
            #expect(outcome == "killed" || outcome == "survived")
            // A survivor passed every scenario; a mutant the SDK cannot start with stops the run at once.
            #expect(outcome == "survived" ? entry["scenariosRun"]?.intValue == 3 : (entry["scenariosRun"]?.intValue ?? 0) >= 1)
            let killers = (entry["killedBy"]?.arrayValue ?? []).compactMap(\.stringValue)
            #expect(outcome == "survived" ? killers.isEmpty : !killers.isEmpty)
            #expect(killers.allSatisfy { killer in stems.contains { killer.hasSuffix($0) } || killer == "(the SDK did not start)" }, "\(killers)")
        }
        let markdown = try String(contentsOf: dir.appendingPathComponent("power.md"), encoding: .utf8)
        #expect(markdown.contains("| Mutants run | 4 (a sample of 4, seed 11) |"))
        #expect(markdown.contains("Generated by `vaultsim mutate"))

        // --from: the same results rendered again, each survivor now explained; nothing runs.
        var survivors = results.filter { $0["outcome"] == "survived" }.compactMap { $0["mutant"] }
        if survivors.isEmpty { survivors = [results[0]["mutant"] ?? .null] }   // a result made survivor below, so the check cannot pass idly
        let explained = survivors.map { mutant in
            "- {file: models.py, line: \(mutant["line"]?.intValue ?? 0), kind: open, reason: a test's reason, "
                + "original: \(JSONValue.string(mutant["original"]?.stringValue ?? "").jsonText), mutated: \(JSONValue.string(mutant["mutated"]?.stringValue ?? "").jsonText)}"
        }.joined(separator: "\n")
        try explained.write(to: dir.appendingPathComponent("explained.yaml"), atomically: true, encoding: .utf8)
        var data = try String(contentsOf: dir.appendingPathComponent("power.json"), encoding: .utf8)
        if results.allSatisfy({ $0["outcome"] == "killed" }) {
            data = data.replacingOccurrences(of: #""outcome" : "killed""#, with: #""outcome" : "survived""#)
        }
        try data.write(to: dir.appendingPathComponent("power.json"), atomically: true, encoding: .utf8)
        let again = try await Subprocess.run(
            .path(FilePath(binary)),
            arguments: ["mutate", "--from", dir.appendingPathComponent("power.json").path, "--explained", dir.appendingPathComponent("explained.yaml").path,
                        "--md", dir.appendingPathComponent("again.md").path],
            workingDirectory: FilePath(EndToEnd.root.path), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        try #require(again.terminationStatus.isSuccess, "\(again.standardOutput)\n\(again.standardError)")
        #expect(again.standardOutput.contains("0 unexplained"), "\(again.standardOutput)")
        let rendered = try String(contentsOf: dir.appendingPathComponent("again.md"), encoding: .utf8)
        #expect(rendered.contains("open: a test's reason"))
        #expect(rendered.contains("(explained again by `vaultsim mutate --from"))
        #expect(!rendered.contains("**unexplained**"))
    }
}
