import Foundation
import Subprocess
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// Makes the bundled Python driver runnable: a venv per pinned SDK requirement under
/// `drivers/python/.venv/<requirement>/`, created with `python3 -m venv` and filled by pip on
/// first use, then reused. A half-made venv (no ready marker) is made again.
public struct PythonDriverBootstrap: Sendable {
    public let layout: ProjectLayout
    /// The pip requirement of the SDK, from `drivers/python/requirements.txt`.
    public let requirement: String
    public let python: String

    public init(layout: ProjectLayout, requirement: String? = nil, python: String? = nil) throws {
        self.layout = layout
        let file = layout.pythonDriver.appendingPathComponent("requirements.txt")
        if let requirement {
            self.requirement = requirement
        } else {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n")
                .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty && !$0.hasPrefix("#") }
            guard let first = lines.first else { throw DriverCommandError(message: "\(file.path) names no SDK requirement") }
            self.requirement = first
        }
        self.python = python ?? ProcessInfo.processInfo.environment["VAULTSIM_PYTHON"] ?? "python3"
    }

    public var venv: URL {
        layout.pythonDriver.appendingPathComponent(".venv").appendingPathComponent(requirement.replacingOccurrences(of: "==", with: "-"))
    }

    var readyMarker: URL { venv.appendingPathComponent(".vaultsim-ready") }

    /// The command that runs the driver, making the venv first if needed.
    /// - Parameter log: progress lines (pip's output goes there too).
    public func ensure(log: @Sendable (String) -> Void = { _ in }) async throws -> DriverCommand {
        let fm = FileManager.default
        if !fm.fileExists(atPath: readyMarker.path) {
            log("vaultsim: setting up the Python driver venv with \(requirement) in \(venv.path) (first run only)")
            try? fm.removeItem(at: venv)
            try fm.createDirectory(at: venv.deletingLastPathComponent(), withIntermediateDirectories: true)
            try await step([python, "-m", "venv", venv.path], log: log)
            let pip = venv.appendingPathComponent("bin/pip").path
            try await step([pip, "install", "--disable-pip-version-check", "--quiet", requirement], log: log)
            try Data().write(to: readyMarker)
        }
        return DriverCommand(executable: venv.appendingPathComponent("bin/python").path,
                             arguments: ["-u", layout.pythonDriver.appendingPathComponent("driver.py").path])
    }

    private func step(_ words: [String], log: @Sendable (String) -> Void) async throws {
        let executable: Executable = words[0].contains("/") ? .path(FilePath(words[0])) : .name(words[0])
        let result = try await run(executable, arguments: Arguments(Array(words.dropFirst())),
                                   output: .string(limit: 4 << 20), error: .string(limit: 4 << 20))
        guard result.terminationStatus.isSuccess else {
            let output = [result.standardOutput, result.standardError].joined(separator: "\n")
            throw DriverCommandError(message: "setting up the Python driver failed: `\(words.joined(separator: " "))` \(result.terminationStatus):\n\(output)")
        }
    }
}
