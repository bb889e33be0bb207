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

/// Drivers and command lines written to hurt (issue 11): children that escape the driver's
/// session, folders given as drivers, reports that cannot be written, timeouts that trap.
struct DriverHardeningTests {
    // MARK: Processes left behind

    /// The pid in "escaped child PID", which the `escape` mode writes on stderr.
    static func escapedChild(in log: String) -> Int32? {
        log.firstMatch(of: /escaped child (\d+)/).flatMap { Int32($0.output.1) }
    }

    /// Waits (up to two seconds) for the process to be gone; kills it if it is not, so a failing
    /// test leaves nothing behind. True when it was gone.
    static func isGone(_ pid: Int32) async throws -> Bool {
        for _ in 0..<20 {
            if !DriverProcessTree.isRunning(pid: pid) { return true }
            try await Task.sleep(for: .milliseconds(100))
        }
        _ = kill(pid, SIGKILL)
        return false
    }

    @Test func aChildThatLeftTheDriversSessionIsKilledWithTheDriver() async throws {
        let driver = await DriverProcess.launch(EndToEnd.misbehavingDriver("escape"))
        _ = try await driver.call("init", params: [:], timeout: .seconds(30))
        // stderr is read apart from stdout: the line may come in just after the reply.
        var log = await driver.stderr
        for _ in 0..<100 where Self.escapedChild(in: log) == nil {
            try await Task.sleep(for: .milliseconds(20))
            log = await driver.stderr
        }
        let pid = try #require(Self.escapedChild(in: log), "\(log)")
        #expect(DriverProcessTree.isRunning(pid: pid))
        let status = await driver.shutdown()
        #expect(status == "exited(0)")
        #expect(await driver.killedLeftovers.contains(pid))
        #expect(try await Self.isGone(pid), "the child \(pid) outlived its driver")
    }

    @Test func noScenarioLeavesAnEscapedChildRunning() async throws {
        let scenario = try ScenarioLoader.parse("""
            vaultsim: 1
            steps:
              - request: {method: GET, url: "https://www.googleapis.com/calendar/v3/calendars/primary/events", grant_id: x}
            """, file: "escape.yaml", defaultID: "escape")
        let result = try await EndToEnd.run([scenario], driver: EndToEnd.misbehavingDriver("escape")).results[0]
        let pid = try #require(Self.escapedChild(in: result.driverLog), "\(result.driverLog)")
        #expect(try await Self.isGone(pid), "the child \(pid) outlived its scenario")
        #expect(result.failures.isEmpty, "\(result.failures)")
    }

    @Test func aProcStatLineIsReadFromItsLastParenthesis() throws {
        let line = "4242 (a (b) c) S 17 4242 4242 0 -1 4194368 229 0 0 0 0 0 0 0 20 0 1 0 306215 18444288 2628\n"
        let stat = try #require(DriverProcessTree.parse(ArraySlice(Array(line.utf8)), pid: 4242))
        #expect(stat.state == "S")
        #expect(stat.parent == 17)
        #expect(stat.group == 4242)
        #expect(stat.session == 4242)
        #expect(stat.startTime == 306215)
    }

    // MARK: The driver command

    @Test func aFolderIsNotARunnableDriver() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-driver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir.appendingPathComponent("bin/fake-driver"), withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let byPath = DriverCommand(executable: dir.path)
        #expect(byPath.resolvedExecutable() == nil)
        #expect(byPath.executableProblem == "'\(dir.path)' is a folder, not a program")
        let byName = DriverCommand(executable: "fake-driver", environment: ["PATH": dir.appendingPathComponent("bin").path])
        #expect(byName.resolvedExecutable() == nil)
        #expect(byName.executableProblem == "'fake-driver' is not a program on PATH")
        #expect(DriverCommand(executable: "/bin/sh").executableProblem == nil)
    }

    // MARK: The command line (needs the built `vaultsim`)

    struct CLIOutcome {
        var status: TerminationStatus
        var stdout: String
        var stderr: String
    }

    /// Runs `vaultsim run` on a scenario that needs no server, with `--driver false` unless the
    /// arguments name another.
    static func vaultsimRun(_ arguments: [String]) async throws -> CLIOutcome {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let file = dir.appendingPathComponent("clock.yaml")
        try "vaultsim: 1\nsteps:\n  - advance_clock: 1s\n".write(to: file, atomically: true, encoding: .utf8)
        let driver = arguments.contains("--driver") ? [] : ["--driver", "false"]
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let result = try await Subprocess.run(.path(FilePath(binary)), arguments: Arguments(["run", file.path] + driver + arguments),
                                              workingDirectory: FilePath(EndToEnd.root.path),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        return CLIOutcome(status: result.terminationStatus, stdout: result.standardOutput, stderr: result.standardError)
    }

    @Test func aFolderAsDriverIsBadInput() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-driver-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await Self.vaultsimRun(["--driver", dir.path])
        #expect(outcome.status == .exited(2))
        #expect(outcome.stderr.contains("the driver command cannot be run: '\(dir.path)' is a folder, not a program"), "\(outcome.stderr)")
    }

    @Test func aJUnitReportInAMissingFolderIsRefusedBeforeAnythingRuns() async throws {
        let path = "/nonexistent-\(UUID().uuidString)/report.xml"
        let outcome = try await Self.vaultsimRun(["--junit", path])
        #expect(outcome.status == .exited(2))
        #expect(outcome.stderr.contains("vaultsim: cannot write the JUnit report to \(path): the folder \((path as NSString).deletingLastPathComponent) does not exist"),
                "\(outcome.stderr)")
        #expect(!outcome.stderr.contains("Error Domain"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("scenarios, driver:"), "the suite ran: \(outcome.stdout)")
    }

    @Test func aJUnitReportPathThatIsAFolderIsRefused() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-junit-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let outcome = try await Self.vaultsimRun(["--junit", dir.path])
        #expect(outcome.status == .exited(2))
        #expect(outcome.stderr.contains("cannot write the JUnit report to \(dir.path): it is a folder"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("scenarios, driver:"))
    }

    @Test func aJUnitReportInAFolderNobodyCanWriteIsRefused() async throws {
        // /proc takes no new files, not even from root (CI runs as root, so a 0555 folder would not do).
        let path = "/proc/vaultsim-report.xml"
        let outcome = try await Self.vaultsimRun(["--junit", path])
        #expect(outcome.status == .exited(2))
        #expect(outcome.stderr.contains("cannot write the JUnit report to \(path):"), "\(outcome.stderr)")
        #expect(!outcome.stdout.contains("scenarios, driver:"))
    }

    @Test(arguments: ["-1", "0", "3601", "inf", "nan", "1e300"])
    func anSDKTimeoutOutsideAnHourIsBadInput(value: String) async throws {
        let outcome = try await Self.vaultsimRun(["--sdk-timeout=\(value)"])
        #expect(outcome.status == .exited(2))
        #expect(outcome.stderr.contains("--sdk-timeout must be a number of seconds more than 0 and at most 3600"), "\(outcome.stderr)")
    }
}
