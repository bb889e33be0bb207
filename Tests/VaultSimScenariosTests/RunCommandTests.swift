import Foundation
import Subprocess
import Testing
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim run` as CI meets it: its output through a pipe, and a driver that cannot start.
struct RunCommandTests {
    static var binary: String { EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path }

    /// Each scenario's line reaches a pipe as the scenario ends, not when the process exits; a
    /// run of chosen files prints no contract coverage.
    @Test func linesReachAPipeAsScenariosEndAndPartialRunsPrintNoCoverage() async throws {
        _ = try await EndToEnd.pythonDriver.value   // the venv, made once, before anything is timed
        let scenarios = ["scenarios/errors/unknown-grant.yaml", "scenarios/managed-secrets/bearer.yaml", "scenarios/managed-secrets/basic-auth.yaml"]
            .map { EndToEnd.root.appendingPathComponent($0).path }
        let result = try await Subprocess.run(
            .path(FilePath(Self.binary)), arguments: Arguments(["run", "--no-proxy"] + scenarios),
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .discarded
        ) { execution in
            var lines: [String] = []
            var aliveAtFirstResult: Bool?
            for try await line in execution.standardOutput.strings() {
                lines.append(line)
                if aliveAtFirstResult == nil, line.hasPrefix("PASSED") || line.hasPrefix("FAILED") {
                    // Two more scenarios are still to run: the process must be running still.
                    let state = (try? String(contentsOfFile: "/proc/\(execution.processIdentifier.value)/stat", encoding: .utf8))
                        .flatMap { $0.split(separator: ")").last?.split(separator: " ").first }
                    aliveAtFirstResult = state.map { $0 != "Z" && $0 != "X" } ?? false
                }
            }
            return (lines, aliveAtFirstResult)
        }
        let (lines, alive) = result.closureResult
        #expect(alive == true, "the first scenario's line arrived only once the run had ended: \(lines)")
        #expect(lines.contains("3 scenarios in") == false && lines.contains { $0.hasPrefix("3 scenarios in ") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("Contract coverage") }, "\(lines)")
        #expect(result.terminationStatus == .exited(0))
    }

    @Test func aDriverThatCannotStartIsReportedOnceWithExit3() async throws {
        let scenarios = ["scenarios/errors/unknown-grant.yaml", "scenarios/managed-secrets/bearer.yaml"]
            .map { EndToEnd.root.appendingPathComponent($0).path }
        let driver = "python3 -u " + EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/drivers/misbehaving_driver.py").path + " crash"
        let result = try await Subprocess.run(
            .path(FilePath(Self.binary)), arguments: Arguments(["run", "--no-proxy", "--driver", driver] + scenarios),
            workingDirectory: FilePath(EndToEnd.root.path), output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        let errors = result.standardError
        let output = result.standardOutput
        #expect(result.terminationStatus == .exited(3), "\(output)\n\(errors)")
        #expect(errors.components(separatedBy: "the driver could not start").count == 2, "once: \(errors)")
        #expect(errors.contains("driver: giving up"), "the driver's log is shown: \(errors)")
        #expect(errors.contains("--sdk alter-sdk==0.11.0"), "\(errors)")
        #expect(!output.contains("FAILED"), "no per-scenario failure lines: \(output)")
    }
}
