import Foundation
import VaultSimCore
import VaultSimProviders
import VaultSimScenarios
import VaultSimServer

/// One run of scenarios against one driver, as `vaultsim run` and `vaultsim matrix` make it: a
/// server (and an intercepting proxy) of its own, the runner, every result.
struct SuiteSession {
    let layout: ProjectLayout
    let driver: DriverCommand
    var jobs = 1
    var sdkTimeout: Double = 10
    var noProxy = false
    /// `--record DIR`.
    var recordDirectory: String?

    /// Prepares the bundled Python driver for `requirement` (its own venv), or the given command.
    static func driver(_ command: String?, requirement: String?, layout: ProjectLayout) async throws(UserError) -> DriverCommand {
        let prepared: DriverCommand
        do {
            if let command {
                prepared = try DriverCommand.parse(command)
            } else {
                prepared = try await PythonDriverBootstrap(layout: layout, requirement: requirement).ensure(log: { printError($0) })
            }
        } catch {
            // The SDK could not be installed (no network, a version PyPI does not have): infrastructure.
            throw UserError(message: "cannot prepare the driver: \(error)", code: 3)
        }
        if let problem = prepared.executableProblem {
            throw UserError.badInput("the driver command cannot be run: \(problem)")
        }
        return prepared
    }

    var mode: String { noProxy ? "gateway" : "proxy" }

    /// Runs the scenarios; `onStart` gets the line that says how the SDK reaches the providers.
    func run(_ scenarios: [Scenario], onStart: (String) -> Void = { _ in },
             onResult: @escaping @Sendable (ScenarioResult) -> Void) async throws -> RunSummary {
        let recordDirectory = self.recordDirectory
        let driver = self.driver
        let jobs = self.jobs
        let sdkTimeout = self.sdkTimeout
        return try await withServer(onStart: onStart) { server, serverURL, proxy in
            var options = ScenarioRunner.Options()
            options.jobs = jobs
            options.sdkTimeout = sdkTimeout
            options.recordDirectory = recordDirectory
            options.proxy = proxy
            return await ScenarioRunner(server: server, serverURL: serverURL, driver: driver, options: options).run(scenarios, onResult: onResult)
        }
    }

    /// A server (and, unless `noProxy`, an intercepting proxy) for the length of `body`.
    func withServer<T>(onStart: (String) -> Void = { _ in },
                       _ body: (VaultSimServer, String, ProxyEnvironment?) async throws -> T) async throws -> T {
        try await Self.withServer(layout: layout, noProxy: noProxy, onStart: onStart, body)
    }

    /// A server (and, unless `noProxy`, an intercepting proxy) for `body`, stopped after it.
    static func withServer<T>(layout: ProjectLayout, noProxy: Bool, onStart: (String) -> Void = { _ in },
                              _ body: (VaultSimServer, String, ProxyEnvironment?) async throws -> T) async throws -> T {
        let fixtures: FixtureLibrary
        do { fixtures = try FixtureLibrary(root: layout.fixtures) } catch { throw UserError.badInput("\(error)") }
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: fixtures)
        let running = try await server.start()
        var environment: ProxyEnvironment?
        var proxy: InterceptingProxy?
        if !noProxy {
            do {
                let authority = try LocalCertificateAuthority()
                let started = InterceptingProxy(server: server, authority: authority)
                environment = ProxyEnvironment(port: try await started.start(), caFile: authority.certificateFile.path)
                proxy = started
            } catch {
                await running.stop()
                throw UserError(message: "cannot start the intercepting proxy: \(error) (--no-proxy runs without it)", code: 3)
            }
        }
        onStart(environment.map { "real URLs through the intercepting proxy on 127.0.0.1:\($0.port) (CA \($0.caFile))" }
            ?? "real URLs rewritten to the provider gateway (--no-proxy)")
        do {
            let result = try await body(server, running.baseURL, environment)
            await proxy?.stop()
            await running.stop()
            return result
        } catch {
            await proxy?.stop()
            await running.stop()
            throw error
        }
    }
}
