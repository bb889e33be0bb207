import AsyncHTTPClient
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore
import Synchronization
import UnixSignals
import VaultSimCore

/// `vaultsim record --upstream URL`: stands between an app and a vault backend, forwarding every
/// request to the upstream as it came (path, query, headers, body) and its answer back as it came,
/// and keeps each exchange for a transcript. Nothing is simulated; this is the one mode in which
/// VaultSim sends anything off the machine.
public final class UpstreamRecorder: Sendable {
    /// The upstream's base URL: scheme, host, port and an optional path prefix, no query.
    public let upstream: URL
    public let logger: Logger
    /// Bodies beyond this are refused (413), like the vault's own limit.
    public static let bodyLimit = 8 << 20
    public static let upstreamTimeout: TimeAmount = .seconds(120)
    private let client: HTTPClient
    private let recorded = Mutex<[Exchange]>([])
    private let address = ServerAddress()
    private let started = Date()

    public init(upstream: URL, logger: Logger) {
        self.upstream = upstream
        self.logger = logger
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(10), read: Self.upstreamTimeout))
        configuration.decompression = .disabled
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    /// Checks an `--upstream` value: an absolute http(s) URL with a host and no query or fragment.
    public static func parseUpstream(_ text: String) -> Result<URL, UpstreamError> {
        guard let components = URLComponents(string: text), let scheme = components.scheme?.lowercased(), ["http", "https"].contains(scheme),
              let host = components.host, !host.isEmpty else {
            return .failure(UpstreamError(message: "--upstream \(text) is not an absolute http or https URL (e.g. https://api.alterauth.com)"))
        }
        guard components.query == nil, components.fragment == nil else {
            return .failure(UpstreamError(message: "--upstream \(text): a base URL takes no query or fragment"))
        }
        var trimmed = text
        while trimmed.hasSuffix("/") { trimmed.removeLast() }
        guard let url = URL(string: trimmed) else { return .failure(UpstreamError(message: "--upstream \(text) is not a URL")) }
        return .success(url)
    }

    public struct UpstreamError: Error, CustomStringConvertible, Sendable {
        public var message: String
        public var description: String { message }
    }

    /// Every exchange so far, in the order they were answered.
    public var exchanges: [Exchange] { recorded.withLock { $0 } }

    /// Keeps an exchange made elsewhere (the recording proxy's provider calls).
    public func append(_ exchange: Exchange) {
        recorded.withLock { $0.append(exchange) }
    }

    public func start(host: String, port: Int, shutdownSignals: [UnixSignal] = []) async throws -> RunningServer {
        let address = self.address
        let application = Application(
            responder: ForwardingResponder(recorder: self),
            server: .http1(configuration: .init(idleTimeout: VaultSimServer.defaultIdleTimeout)),
            configuration: .init(address: .hostname(host, port: port), serverName: "VaultSim recorder"),
            onServerRunning: { channel in address.set(host: host, port: channel.localAddress?.port ?? port) },
            logger: logger)
        return try await RunningServer.start(services: [application], address: address, host: host, port: port,
                                             shutdownSignals: shutdownSignals, logger: logger)
    }

    public func shutdown() async {
        try? await client.shutdown()
    }

    /// Hop-by-hop headers, and those the HTTP stack sets again: not forwarded either way.
    static let notForwarded: Set<String> = ["host", "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
                                            "upgrade", "content-length"]

    /// Forwards one request and records the exchange.
    func forward(_ request: Exchange.Request) async -> Exchange.Response {
        let began = ContinuousClock.now
        let startedAt = Date()
        var response: Exchange.Response
        do {
            var outgoing = HTTPClientRequest(url: upstream.absoluteString + request.path + (request.query.isEmpty ? "" : "?" + request.query))
            outgoing.method = .init(rawValue: request.method)
            for field in request.headers where !Self.notForwarded.contains(field.name.canonicalName) {
                outgoing.headers.add(name: field.name.rawName, value: field.value)
            }
            if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
            let answer = try await client.execute(outgoing, timeout: Self.upstreamTimeout)
            let body = try await answer.body.collect(upTo: Self.bodyLimit)
            response = Exchange.Response(status: Int(answer.status.code),
                                         headers: Exchange.fields(answer.headers.filter { !Self.notForwarded.contains($0.name.lowercased()) }
                                            .map { ($0.name, $0.value) }),
                                         body: Data(body.readableBytesView))
        } catch {
            let message = "VaultSim record: the upstream \(upstream.absoluteString) did not answer: \(error)"
            logger.warning("\(message)")
            let body = JSONValue.object(["detail": ["error": "vaultsim_upstream_unreachable", "message": .string(message)]])
            response = Exchange.Response(status: 502, headers: [.contentType: "application/json"], body: Data(body.jsonText.utf8))
        }
        // Written as the app meant it: the upstream's address, not the recorder's.
        var request = request
        request.scheme = upstream.scheme ?? "https"
        request.host = upstream.port.map { "\(upstream.host ?? ""):\($0)" } ?? (upstream.host ?? "")
        request.path = upstream.path + request.path
        let exchange = Exchange(caller: .sdk, service: "vault", request: request, response: response,
                                answeredBy: response.status == 502 && response.body.starts(with: Data(#"{"detail":{"error":"vaultsim_upstream"#.utf8))
                                    ? "recorder (upstream unreachable)" : "upstream",
                                startedAt: startedAt, seconds: Self.seconds(ContinuousClock.now - began), virtualTime: startedAt)
        recorded.withLock { $0.append(exchange) }
        return response
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Every request, whatever its path, forwarded to the upstream.
struct ForwardingResponder: HTTPResponder {
    typealias Context = BasicRequestContext
    let recorder: UpstreamRecorder

    func respond(to request: Request, context: Context) async throws -> Response {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: UpstreamRecorder.bodyLimit)
        } catch {
            return Response(status: .contentTooLarge, headers: [.contentType: "text/plain"],
                            body: .init(byteBuffer: ByteBuffer(string: "VaultSim record: a request body over \(UpstreamRecorder.bodyLimit) bytes is not forwarded\n")))
        }
        let target = request.head.path ?? "/"
        let path = target.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? "/"
        let query = target.firstIndex(of: "?").map { String(target[target.index(after: $0)...]) } ?? ""
        let exchangeRequest = Exchange.Request(method: request.method.rawValue, scheme: "http", host: request.head.authority ?? "",
                                               path: path, query: query, headers: request.headers, body: Data(body.readableBytesView))
        let answer = await recorder.forward(exchangeRequest)
        return Response(status: .init(code: answer.status), headers: answer.headers, body: .init(byteBuffer: ByteBuffer(bytes: answer.body)))
    }
}
