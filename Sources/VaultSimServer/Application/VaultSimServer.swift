import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import UnixSignals
import VaultSimCore
import VaultSimProviders

/// The VaultSim HTTP server: the fake vault (`/sdk/*`), the fake providers
/// (`/sandboxes/{id}/providers/{provider}/...`) and the control API (`/_vaultsim/*`), on one port.
public struct VaultSimServer: Sendable {
    public let registry: SandboxRegistry
    public let directory: ProviderDirectory
    public let verifier: HMACVerifier
    public let address: ServerAddress
    /// How the vault reaches providers: HTTP on loopback through this server's gateway.
    public let transport: LoopbackTransport
    public let logger: Logger

    public init(registry: SandboxRegistry, fixtures: FixtureLibrary, verifier: HMACVerifier = HMACVerifier(), logger: Logger? = nil) {
        self.registry = registry
        self.directory = ProviderDirectory(fixtures: fixtures)
        self.verifier = verifier
        let address = ServerAddress()
        self.address = address
        self.transport = LoopbackTransport(address: address)
        var fallback = Logger(label: "vaultsim.server")
        fallback.logLevel = .warning
        self.logger = logger ?? fallback
    }

    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        SDKRoutes(gateway: SDKGateway(registry: registry, verifier: verifier, transport: transport, logger: logger)).add(to: router)
        ProviderRoutes(registry: registry, directory: directory).add(to: router)
        ControlRoutes(server: self).add(to: router)
        return router
    }

    public func application(host: String, port: Int) -> some ApplicationProtocol {
        let address = self.address
        return Application(
            responder: BasePathResponder(inner: router().buildResponder()),
            configuration: .init(address: .hostname(host, port: port), serverName: "VaultSim"),
            onServerRunning: { channel in address.set(host: host, port: channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Starts listening and returns once the port is bound.
    public func start(host: String = "127.0.0.1", port: Int = 0, shutdownSignals: [UnixSignal] = []) async throws -> RunningServer {
        let group = ServiceGroup(configuration: .init(services: [application(host: host, port: port)],
                                                      gracefulShutdownSignals: shutdownSignals, logger: logger))
        let task = Task { try await group.run() }
        let deadline = ContinuousClock.now + .seconds(20)
        while address.port == nil {
            guard ContinuousClock.now < deadline else {
                task.cancel()
                throw ServerStartError(message: "VaultSim server did not start listening on \(host):\(port) within 20 s")
            }
            try await Task.sleep(for: .milliseconds(10))
        }
        return RunningServer(address: address, group: group, task: task)
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A started server; `stop()` shuts it down gracefully, `wait()` waits until it stops.
public struct RunningServer: Sendable {
    public let address: ServerAddress
    let group: ServiceGroup
    let task: Task<Void, any Error>

    public var baseURL: String { address.baseURL }

    public func stop() async {
        await group.triggerGracefulShutdown()
        _ = try? await task.value
    }

    public func wait() async throws {
        try await task.value
    }
}
