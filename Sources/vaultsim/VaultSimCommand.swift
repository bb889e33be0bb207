import ArgumentParser
import Foundation
import VaultSimCore

/// `vaultsim`: a test harness and provider simulator for OAuth credential vaults.
@main
struct VaultSimCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "vaultsim",
        abstract: "A fake Alter-style credential vault, fake OAuth providers and a conformance runner for vault SDKs.",
        discussion: """
            `vaultsim run` runs the conformance scenarios against an SDK through its driver.
            `vaultsim serve` gives an app a working vault and providers on localhost.
            Exit codes: 0 success, 1 scenarios failed, 2 bad input, 3 infrastructure (a driver that could not start).
            """,
        version: VaultSimCommand.version,
        subcommands: [RunCommand.self, ReplayCommand.self, RecordCommand.self, ServeCommand.self, BenchCommand.self, ReportCommand.self, MatrixCommand.self,
                      MutateCommand.self],
        defaultSubcommand: RunCommand.self)

    /// VaultSim's version, and the SDK it is wire-compatible with.
    static let version = "vaultsim \(VaultSimVersion.current) (wire-compatible with alter-sdk 0.8-0.11 and 0.12-0.29)"

    /// Like the default entry point, but bad command lines exit with 2 (bad input), not 64.
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch {
            let code = exitCode(for: error)
            if code == .success || error is CleanExit {
                exit(withError: error)
            }
            if code.rawValue == 64 {
                FileHandle.standardError.write(Data((fullMessage(for: error) + "\n").utf8))
                Foundation.exit(2)
            }
            exit(withError: error)
        }
    }
}

/// A user-facing failure: printed as is, with an exit code.
struct UserError: Error, CustomStringConvertible {
    var message: String
    var code: Int32
    var description: String { message }

    static func badInput(_ message: String) -> UserError { UserError(message: message, code: 2) }

    /// Runs a command's work: a `UserError` is printed as `vaultsim: <message>` and the process
    /// exits with its code.
    static func reported(_ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch let error as UserError {
            printError("vaultsim: \(error.message)")
            throw ExitCode(error.code)
        }
    }
}

extension ReportOutputs {
    /// Refuses, before any work, a report file that cannot be written: `(kind, path)` pairs.
    static func checkWritable(_ outputs: [(kind: String, path: String?)], what: String) throws(UserError) {
        for (kind, path) in outputs {
            if let path, let problem = problem(at: path) {
                throw UserError.badInput("cannot write the \(kind) \(what) to \(path): \(problem)")
            }
        }
    }

    /// Writes each rendering whose path is set.
    static func write(_ renderings: [(path: String?, render: () throws -> String)]) throws(UserError) {
        for (path, render) in renderings {
            guard let path else { continue }
            do { try render().write(toFile: path, atomically: true, encoding: .utf8) } catch {
                throw UserError.badInput("cannot write \(path): \(shortReason(error))")
            }
        }
    }
}

/// Writes a line to standard output at once, also into a pipe (where `print` would hold it in a
/// block buffer): CI logs show each scenario as it finishes, not 80 lines at the end.
func printLine(_ text: String) {
    FileHandle.standardOutput.write(Data((text + "\n").utf8))
}

func printError(_ text: String) {
    FileHandle.standardError.write(Data((text + "\n").utf8))
}
