import Foundation
import Testing
import VaultSimCore
import VaultSimProviders
import VaultSimServer
@testable import VaultSimScenarios

/// Shared pieces of the end-to-end tests: the checkout, the real SDK's driver (its venv made
/// once per test process), and a running server.
enum EndToEnd {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    static let layout = ProjectLayout(root: root)

    /// The bundled Python driver for alter-sdk 0.11.0, bootstrapped on first use.
    static let pythonDriver = Task<DriverCommand, any Error> {
        try await PythonDriverBootstrap(layout: layout).ensure(log: { print($0) })
    }

    /// The App generation's SDK (alter-sdk 0.29.0, what `pip install alter-sdk` gives today), in
    /// its own venv beside the pinned one.
    static let newestPythonDriver = Task<DriverCommand, any Error> {
        try await PythonDriverBootstrap(layout: layout, requirement: "alter-sdk==0.29.0").ensure(log: { print($0) })
    }

    /// The pinned driver importing a copy of its SDK, in a new folder on `PYTHONPATH`, with
    /// `edit` applied to each of the package's files (name, text → new text). Remove the folder.
    static func patchedDriver(_ edit: (String, String) -> String) async throws -> (driver: DriverCommand, folder: URL) {
        var driver = try await pythonDriver.value
        let lib = URL(fileURLWithPath: driver.executable).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("lib")
        let python = try #require(try FileManager.default.contentsOfDirectory(atPath: lib.path).first { $0.hasPrefix("python") })
        let venvSDK = lib.appendingPathComponent("\(python)/site-packages/alter_sdk")
        let patched = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-patched-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: patched, withIntermediateDirectories: true)
        let package = patched.appendingPathComponent("alter_sdk")
        try FileManager.default.copyItem(at: venvSDK, to: package)
        try? FileManager.default.removeItem(at: package.appendingPathComponent("__pycache__"))
        for name in try FileManager.default.contentsOfDirectory(atPath: package.path) where name.hasSuffix(".py") {
            let file = package.appendingPathComponent(name)
            let source = try String(contentsOf: file, encoding: .utf8)
            let changed = edit(name, source)
            if changed != source { try changed.write(to: file, atomically: true, encoding: .utf8) }
        }
        driver.environment["PYTHONPATH"] = patched.path
        return (driver, patched)
    }

    static func misbehavingDriver(_ mode: String) -> DriverCommand {
        DriverCommand(executable: "python3", arguments: ["-u", root.appendingPathComponent("Tests/VaultSimScenariosTests/drivers/misbehaving_driver.py").path, mode])
    }

    /// Runs scenarios on a fresh server and stops it.
    /// - Parameter proxy: run as `vaultsim run` does by default, the driver going through the
    ///   intercepting proxy; false: as `--no-proxy`.
    static func run(_ scenarios: [Scenario], driver: DriverCommand, options: ScenarioRunner.Options = .init(),
                    proxy: Bool = false, onResult: @escaping @Sendable (ScenarioResult) -> Void = { _ in }) async throws -> RunSummary {
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: try FixtureLibrary(root: layout.fixtures))
        let running = try await server.start()
        var options = options
        var started: InterceptingProxy?
        if proxy {
            let authority = try LocalCertificateAuthority()
            let intercepting = InterceptingProxy(server: server, authority: authority)
            options.proxy = ProxyEnvironment(port: try await intercepting.start(), caFile: authority.certificateFile.path)
            started = intercepting
        }
        let runner = ScenarioRunner(server: server, serverURL: running.baseURL, driver: driver, options: options)
        let summary = await runner.run(scenarios, onResult: onResult)
        await started?.stop()
        await running.stop()
        return summary
    }

    /// A bundled scenario, its text edited.
    static func bundled(_ path: String, editing edit: (String) -> String = { $0 }) throws -> Scenario {
        let file = layout.scenarios.appendingPathComponent(path)
        let text = try String(contentsOf: file, encoding: .utf8)
        let edited = edit(text)
        precondition(edited != text || edit("x") == "x", "the edit changed nothing in \(path)")
        return try ScenarioLoader.parse(edited, file: file.path, defaultID: path)
    }
}
