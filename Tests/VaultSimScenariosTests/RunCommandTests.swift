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
    /// run of chosen files prints no contract coverage. The second scenario's driver waits for
    /// a gate the test opens only once it has read the first scenario's line: with output held
    /// in a buffer until exit, the line could not come before the gate gave up (20 s), and the
    /// second driver would refuse to start.
    @Test func linesReachAPipeAsScenariosEndAndPartialRunsPrintNoCoverage() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-pipe-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenarios = try ["first", "second"].map { name -> String in
            let file = dir.appendingPathComponent("\(name).yaml")
            try "vaultsim: 1\nid: \(name)\nsteps:\n  - advance_clock: 1s\n".write(to: file, atomically: true, encoding: .utf8)
            return file.path
        }
        let gate = dir.appendingPathComponent("gate")
        let driver = "python3 -u " + EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/drivers/gate_driver.py").path + " " + gate.path
        let result = try await Subprocess.run(
            .path(FilePath(Self.binary)), arguments: Arguments(["run", "--no-proxy", "--jobs", "1", "--driver", driver] + scenarios),
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .discarded
        ) { execution in
            var lines: [String] = []
            var gateOpenedAt: ContinuousClock.Instant?
            for try await line in execution.standardOutput.strings() {
                lines.append(line)
                if gateOpenedAt == nil, line.hasPrefix("PASSED") || line.hasPrefix("FAILED") {
                    gateOpenedAt = ContinuousClock.now
                    FileManager.default.createFile(atPath: gate.path, contents: nil)
                }
            }
            return (lines, gateOpenedAt.map { ContinuousClock.now - $0 })
        }
        let (lines, afterGate) = result.closureResult
        #expect(result.terminationStatus == .exited(0), "\(lines)")
        // Both passed (in the order the seed chose): the scenario whose driver waited at the gate
        // could start only because the other's line had already come through the pipe.
        #expect(lines.filter { $0.hasPrefix("PASSED") }.count == 2, "\(lines)")
        #expect(afterGate.map { $0 > .zero } == true)
        #expect(lines.contains { $0.hasPrefix("2 scenarios in ") }, "\(lines)")
        #expect(!lines.contains { $0.hasPrefix("Contract coverage") }, "\(lines)")
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
