import Foundation

/// Where VaultSim's own files are: the bundled `scenarios/`, `Fixtures/` and `drivers/`.
/// Found from `VAULTSIM_HOME`, else by walking up from the current folder, else from the
/// executable's real folder (a symlink on PATH is followed).
public struct ProjectLayout: Sendable {
    public let root: URL

    public init(root: URL) { self.root = root }

    public var scenarios: URL { root.appendingPathComponent("scenarios") }
    public var fixtures: URL { root.appendingPathComponent("Fixtures") }
    public var pythonDriver: URL { root.appendingPathComponent("drivers/python") }
    /// Every contract item, with the scenarios covering it named in the scenarios themselves.
    public var contractCatalogue: URL { root.appendingPathComponent("docs/contract-catalogue.yaml") }

    public static func locate() throws -> ProjectLayout {
        let env = ProcessInfo.processInfo.environment
        if let home = env["VAULTSIM_HOME"] {
            let layout = ProjectLayout(root: URL(fileURLWithPath: home))
            guard layout.isComplete else { throw LayoutError(message: "VAULTSIM_HOME=\(home) has no Fixtures/ and drivers/python/") }
            return layout
        }
        // The binary's own folder, links resolved: a `vaultsim` linked onto PATH still finds its checkout.
        let executable = (Bundle.main.executableURL ?? URL(fileURLWithPath: CommandLine.arguments[0])).resolvingSymlinksInPath()
        let starts = [URL(fileURLWithPath: FileManager.default.currentDirectoryPath), executable.deletingLastPathComponent()]
        for start in starts {
            var dir = start
            for _ in 0..<8 {
                let layout = ProjectLayout(root: dir)
                if layout.isComplete { return layout }
                dir = dir.deletingLastPathComponent()
            }
        }
        throw LayoutError(message: "cannot find VaultSim's files (Fixtures/, drivers/python/); run from the VaultSim checkout or set VAULTSIM_HOME")
    }

    var isComplete: Bool {
        let fm = FileManager.default
        return fm.fileExists(atPath: fixtures.path) && fm.fileExists(atPath: pythonDriver.appendingPathComponent("driver.py").path)
    }
}

public struct LayoutError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
