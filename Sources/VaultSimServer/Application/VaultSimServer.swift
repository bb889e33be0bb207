import Foundation
import Hummingbird
import Logging
import NIOCore
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

    /// How long a connection may sit without a request before it is closed: idle keep-alive
    /// connections, and half-open ones that never finish a request head, so a pile of them
    /// cannot hold every file descriptor. Longer than the idle time of the vault's own client
    /// (AsyncHTTPClient's pool keeps a connection 60 s), so that client always closes first and
    /// never sends a request on a connection the server is closing. A request being answered
    /// (a fault's delay, say) is not idle.
    public static let defaultIdleTimeout: TimeAmount = .seconds(75)
    /// How long a connection may sit with nothing to read before the server closes it.
    public var idleTimeout: TimeAmount = VaultSimServer.defaultIdleTimeout
    /// How long `start` waits for the port to be bound.
    static let startTimeout: Duration = .seconds(20)

    /// - Parameter providerTimeout: the vault's patience with a provider (`LoopbackTransport`);
    ///   a test process that seeds while every core is busy may give it more.
    public init(registry: SandboxRegistry, fixtures: FixtureLibrary, verifier: HMACVerifier = HMACVerifier(), logger: Logger? = nil,
                providerTimeout: TimeAmount = .seconds(10)) {
        self.registry = registry
        self.directory = ProviderDirectory(fixtures: fixtures)
        self.verifier = verifier
        let address = ServerAddress()
        self.address = address
        self.transport = LoopbackTransport(address: address, timeout: providerTimeout)
        var fallback = Logger(label: "vaultsim.server")
        fallback.logLevel = .warning
        self.logger = logger ?? fallback
    }

    /// The router: every route, behind `ErrorEnvelopeMiddleware` so that every refusal,
    /// unknown routes and wrong methods included, answers in the vault's envelope.
    public func router() -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: FramingPolicyMiddleware())
        router.add(middleware: ErrorEnvelopeMiddleware(routes: RouteTable { addRoutes(to: $0) }, logger: logger))
        addRoutes(to: router)
        return router
    }

    /// Every route of the server, for the router and for its `RouteTable` alike.
    func addRoutes(to router: Router<BasicRequestContext>) {
        SDKRoutes(gateway: SDKGateway(registry: registry, verifier: verifier, transport: transport, address: address,
                                                logger: logger)).add(to: router)
        ConnectPages(server: self).add(to: router)
        ConnectWidgetRoutes(server: self).add(to: router)
        ApprovalPages(server: self).add(to: router)
        IdentityPages(server: self).add(to: router)
        ProviderRoutes(registry: registry, directory: directory).add(to: router)
        ControlRoutes(server: self).add(to: router)
    }

    public func application(host: String, port: Int) -> some ApplicationProtocol {
        let address = self.address
        return Application(
            responder: BasePathResponder(inner: router().buildResponder()),
            server: .http1(configuration: .init(idleTimeout: idleTimeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: "VaultSim"),
            onServerRunning: { channel in address.set(host: host, port: channel.localAddress?.port ?? port) },
            logger: logger)
    }

    /// Starts listening and returns once the port is bound. Fails at once when the server
    /// cannot listen (the port is in use, say) with that reason, and after 20 s if it neither
    /// listens nor fails.
    /// - Parameter retention: prune every sandbox's journals periodically while the server
    ///   runs (for `vaultsim serve`); nil, the default, keeps everything.
    public func start(host: String = "127.0.0.1", port: Int = 0, shutdownSignals: [UnixSignal] = [],
                      retention: JournalRetention? = nil) async throws -> RunningServer {
        var services: [any Service] = [application(host: host, port: port)]
        if let retention { services.append(JournalRetentionService(retention: retention, registry: registry, logger: logger)) }
        return try await RunningServer.start(services: services, address: address, host: host, port: port,
                                             shutdownSignals: shutdownSignals, logger: logger)
    }

    /// Why the server could not listen, said plainly when the address is taken.
    static func startFailure(_ error: any Error, host: String, port: Int) -> any Error {
        let isInUse = (error as? IOError).map { $0.errnoCode == EADDRINUSE } ?? false
        guard isInUse || "\(error)".localizedCaseInsensitiveContains("address already in use") else { return error }
        return ServerStartError(message: "address \(host):\(port) is already in use (another vaultsim serve, or another "
            + "program, listens there); stop it or choose another port")
    }
}

public struct ServerStartError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }

    /// A listening failure said plainly (an address in use names the usual culprit).
    public static func explain(_ error: any Error, host: String, port: Int) -> String {
        "\(VaultSimServer.startFailure(error, host: host, port: port))"
    }
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

    /// Runs `services` (the first one an application that sets `address` once it listens) and
    /// returns once the port is bound. Fails at once when the server cannot listen (the port is in
    /// use, say) with that reason, and after 20 s if it neither listens nor fails.
    static func start(services: [any Service], address: ServerAddress, host: String, port: Int, shutdownSignals: [UnixSignal],
                      logger: Logger) async throws -> RunningServer {
        let group = ServiceGroup(configuration: .init(services: services, gracefulShutdownSignals: shutdownSignals, logger: logger))
        let task = Task {
            do {
                try await group.run()
            } catch {
                address.failToStart(VaultSimServer.startFailure(error, host: host, port: port))
                throw error
            }
            address.failToStart(ServerStartError(message: "VaultSim server on \(host):\(port) stopped before it listened"))
        }
        let timeout = Task {
            try await Task.sleep(for: VaultSimServer.startTimeout)
            address.failToStart(ServerStartError(message: "VaultSim server did not start listening on \(host):\(port) within 20 s"))
        }
        defer { timeout.cancel() }
        do {
            try await withTaskCancellationHandler {
                try await address.waitUntilBound()
            } onCancel: {
                address.failToStart(CancellationError())
            }
        } catch {
            await group.triggerGracefulShutdown()
            task.cancel()
            throw error
        }
        return RunningServer(address: address, group: group, task: task)
    }
}
