import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import Synchronization
import VaultSimCore
import VaultSimProviders

/// The HTTPS-intercepting proxy that lets an app's unchanged code reach the fake providers:
/// `HTTPS_PROXY` points at it, it accepts `CONNECT host:443`, terminates TLS with a certificate
/// VaultSim's own CA issues for that host (`SSL_CERT_FILE` names the CA), and hands every
/// request, as HTTP/1.1, to the provider gateway of the sandbox the proxy credentials name —
/// which dispatches by the real host name, applies faults and journals. Plain-HTTP proxy
/// requests (absolute URIs) go the same way. Nothing is ever forwarded anywhere else: a host no
/// fake provider owns gets the gateway's 502 naming it and the hosts VaultSim fakes. One path
/// set on one more host is the vault's own: the Connect widget's package on its CDN
/// (`ConnectWidget`).
///
/// Which sandbox: the proxy URL's user name (`http://SANDBOX_ID:x@127.0.0.1:PORT`), which HTTP
/// clients send as `Proxy-Authorization: Basic` on CONNECT; without credentials, the server's
/// only sandbox (as in `vaultsim serve`), else 407.
public final class InterceptingProxy: Sendable {
    let registry: SandboxRegistry
    let authority: LocalCertificateAuthority
    let address: ServerAddress
    /// A connection with no request in flight is closed after this long without a read (the
    /// server's own idle timeout).
    let idleTimeout: TimeAmount
    /// Set for `vaultsim record --forward-providers`: requests go to the real hosts (or where the
    /// forwarding says) instead of the gateway, and each exchange is handed to it.
    let forwarding: ProviderForwarding?
    /// The listening channel and the client to the gateway, while the proxy runs.
    private let running = Mutex<(listener: any Channel, client: HTTPClient)?>(nil)

    /// Requests and responses larger than this are refused (as the gateway does).
    static let bodyLimit = 16 << 20

    /// - Parameter idleTimeout: how long a connection with no request in flight may sit without
    ///   a read; the server's own idle timeout when nil.
    public init(server: VaultSimServer, authority: LocalCertificateAuthority, idleTimeout: TimeAmount? = nil) {
        self.registry = server.registry
        self.authority = authority
        self.address = server.address
        self.idleTimeout = idleTimeout ?? server.idleTimeout
        self.forwarding = nil
    }

    /// A proxy that forwards every provider call to its real host (or where `forwarding` says)
    /// and hands each exchange to it: `vaultsim record --forward-providers`.
    public init(forwarding: ProviderForwarding, authority: LocalCertificateAuthority, idleTimeout: TimeAmount = VaultSimServer.defaultIdleTimeout) {
        self.registry = SandboxRegistry()
        self.authority = authority
        self.address = ServerAddress()
        self.idleTimeout = idleTimeout
        self.forwarding = forwarding
    }

    /// Starts listening on loopback; returns the port.
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws -> Int {
        let bootstrap = ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            // A client that sends its request and half-closes still gets its answer.
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { [idleTimeout] channel in
                channel.eventLoop.makeCompletedFuture {
                    let sync = channel.pipeline.syncOperations
                    // First, so it sees the raw bytes of the plain connection and of a tunnel alike.
                    try sync.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    // The bytes a client sends after its CONNECT without waiting for the 200 (its TLS
                    // hello) are kept by the decoder and handed on when it is removed.
                    try sync.addHandler(ByteToMessageHandler(HTTPRequestDecoder(leftOverBytesStrategy: .forwardBytes)), name: ProxyFrontHandler.decoderName)
                    // No framing headers of its own: a CONNECT's 200 has no body, and the bytes after
                    // it are the client's TLS (a chunked terminator there breaks curl). Every other
                    // answer sets content-length itself.
                    var encoding = HTTPResponseEncoder.Configuration()
                    encoding.automaticallySetFramingHeaders = false
                    try sync.addHandler(HTTPResponseEncoder(configuration: encoding), name: ProxyFrontHandler.encoderName)
                    try sync.addHandler(ProxyConnectionGuard(), name: ProxyFrontHandler.guardName)
                    // Pipelined plain-HTTP requests are answered in the order they came.
                    try sync.addHandler(HTTPServerPipelineHandler(), name: ProxyFrontHandler.pipelineName)
                    try sync.addHandler(ProxyFrontHandler(proxy: self))
                }
            }
        let channel = try await bootstrap.bind(host: host, port: port).get()
        // Redirects and compressed bodies pass through to the app as the gateway sent them.
        var configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, timeout: .init(connect: .seconds(5)))
        configuration.decompression = .disabled
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        running.withLock { $0 = (channel, client) }
        return channel.localAddress?.port ?? port
    }

    public func stop() async {
        let current = running.withLock { current in
            defer { current = nil }
            return current
        }
        try? await current?.listener.close()
        try? await current?.client.shutdown()
    }

    /// The HTTP client, while the proxy runs.
    var clientWhileRunning: HTTPClient? { running.withLock { $0?.client } }

    struct NotRunning: Error, CustomStringConvertible {
        var description: String { "the VaultSim proxy has stopped" }
    }

    // MARK: which sandbox

    enum Refusal: Error {
        case status(HTTPResponseStatus, String, headers: [(String, String)])
    }

    /// The sandbox whose gateway answers; with `forwarding`, none is needed.
    func sandboxID(proxyAuthorization value: String?) -> Result<String, Refusal> {
        if forwarding != nil { return .success("") }
        return sandbox(proxyAuthorization: value).map(\.id)
    }

    func sandbox(proxyAuthorization value: String?) -> Result<Sandbox, Refusal> {
        let hint = "Name the sandbox in the proxy URL: HTTPS_PROXY=http://SANDBOX_ID:x@127.0.0.1:PORT (vaultsim serve prints it)."
        guard let value else {
            let all = registry.all
            if all.count == 1 { return .success(all[0]) }
            return .failure(.status(.proxyAuthenticationRequired, "VaultSim proxy: \(all.count) sandboxes live here; which one? \(hint)",
                                    headers: [("Proxy-Authenticate", "Basic realm=\"VaultSim sandbox\"")]))
        }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "basic",
              let decoded = Data(base64Encoded: String(parts[1]).trimmingCharacters(in: .whitespaces)).map({ String(decoding: $0, as: UTF8.self) }) else {
            return .failure(.status(.proxyAuthenticationRequired, "VaultSim proxy: Proxy-Authorization must be Basic. \(hint)",
                                    headers: [("Proxy-Authenticate", "Basic realm=\"VaultSim sandbox\"")]))
        }
        let id = QueryString.percentDecoded(decoded.prefix { $0 != ":" })
        guard let sandbox = registry.sandbox(id: id) else {
            return .failure(.status(.proxyAuthenticationRequired, "VaultSim proxy: no sandbox '\(id)' (it may have been deleted). \(hint)",
                                    headers: [("Proxy-Authenticate", "Basic realm=\"VaultSim sandbox\"")]))
        }
        return .success(sandbox)
    }

    // MARK: forwarding

    /// What the gateway answered, to be written back to the client.
    struct Answer: Sendable {
        var status: Int
        var headers: [(String, String)]
        var body: ByteBuffer
    }

    static let hopByHop: Set<String> = ["connection", "keep-alive", "proxy-authorization", "proxy-authenticate", "proxy-connection",
                                        "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length"]

    /// Sends one request to the sandbox's gateway for `host` and returns its answer. Throws on a
    /// transport failure (a fault that drops the connection, say), which the caller mirrors by
    /// closing the client's connection.
    func forward(method: HTTPMethod, target: String, headers: HTTPHeaders, body: ByteBuffer?, host: String, sandboxID: String) async throws -> Answer {
        if let forwarding { return try await forwardOut(forwarding, method: method, target: target, headers: headers, body: body, host: host) }
        let path = target.hasPrefix("/") ? target : "/" + target
        // The Connect widget's package on the CDN is the vault's to answer; every other path
        // there goes to the gateway, which refuses it like any host VaultSim does not fake.
        let widget = host == ConnectWidget.cdnHost && ConnectWidget.servesCDNPath(path)
        var request = HTTPClientRequest(url: (widget ? address.baseURL : ProviderRoutes.baseURL(serverURL: address.baseURL, sandboxID: sandboxID, host: host))
            + path)
        request.method = method
        for (name, value) in headers where !Self.hopByHop.contains(name.lowercased()) {
            request.headers.add(name: name, value: value)
        }
        // The gateway takes the request as the client wrote it: to this host, at this path.
        request.headers.replaceOrAdd(name: ProviderRoutes.proxiedHostHeader, value: headers.first(name: "host") ?? host)
        if let body, body.readableBytes > 0 { request.body = .bytes(body) }
        guard let client = running.withLock({ $0?.client }) else { throw NotRunning() }
        let response = try await client.execute(request, timeout: .seconds(3600))
        let bytes = try await response.body.collect(upTo: Self.bodyLimit)
        let kept = response.headers.filter { !Self.hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
        return Answer(status: Int(response.status.code), headers: kept, body: bytes)
    }
}

/// The first handler of a proxy connection: reads the CONNECT (or a plain-HTTP proxy request),
/// answers it, and turns the connection into a TLS server for the named host.
final class ProxyFrontHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    static let decoderName = "vaultsim-proxy-decoder"
    static let encoderName = "vaultsim-proxy-encoder"
    static let guardName = "vaultsim-proxy-guard"
    static let pipelineName = "vaultsim-proxy-pipeline"

    private enum State {
        case idle
        case tunnel(host: String, sandboxID: String)
        case plain(host: String, sandboxID: String, head: HTTPRequestHead, target: String, body: ByteBuffer)
        case refused(InterceptingProxy.Refusal)
        case switching
    }

    let proxy: InterceptingProxy
    private var state = State.idle

    init(proxy: InterceptingProxy) {
        self.proxy = proxy
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            state = start(head)
        case .body(var chunk):
            if case .plain(let host, let sandboxID, let head, let target, var body) = state {
                guard body.readableBytes + chunk.readableBytes <= InterceptingProxy.bodyLimit else {
                    state = .refused(.status(.payloadTooLarge, "VaultSim proxy: request body over 16 MiB", headers: []))
                    return
                }
                body.writeBuffer(&chunk)
                state = .plain(host: host, sandboxID: sandboxID, head: head, target: target, body: body)
            }
        case .end:
            finish(context: context)
        }
    }

    private func start(_ head: HTTPRequestHead) -> State {
        let credentials = head.headers.first(name: "proxy-authorization")
        if head.method == .CONNECT {
            let authority = head.uri
            let host = authority.hasPrefix("[")
                ? String(authority.dropFirst().prefix { $0 != "]" })
                : String(authority.prefix { $0 != ":" })
            guard !host.isEmpty else { return .refused(.status(.badRequest, "VaultSim proxy: CONNECT needs host:port, got '\(authority)'", headers: [])) }
            switch proxy.sandboxID(proxyAuthorization: credentials) {
            case .success(let sandboxID): return .tunnel(host: host.lowercased(), sandboxID: sandboxID)
            case .failure(let refusal): return .refused(refusal)
            }
        }
        // A plain-HTTP proxy request names the whole URL: http://host/path?query.
        guard let url = URLComponents(string: head.uri), url.scheme?.lowercased() == "http", let host = url.host, !host.isEmpty else {
            return .refused(.status(.badRequest, "VaultSim proxy: expected CONNECT host:443 or an absolute http:// URL, got '\(head.uri)'", headers: []))
        }
        switch proxy.sandboxID(proxyAuthorization: credentials) {
        case .success(let sandboxID):
            let target = (url.percentEncodedPath.isEmpty ? "/" : url.percentEncodedPath) + (url.percentEncodedQuery.map { "?" + $0 } ?? "")
            return .plain(host: host.lowercased(), sandboxID: sandboxID, head: head, target: target, body: ByteBuffer())
        case .failure(let refusal): return .refused(refusal)
        }
    }

    private func finish(context: ChannelHandlerContext) {
        switch state {
        case .idle, .switching:
            return
        case .refused(.status(let status, let text, let headers)):
            state = .idle
            ProxyResponses.write(context: context, status: status, headers: headers, body: ByteBuffer(string: text + "\n"), close: true)
        case .tunnel(let host, let sandboxID):
            state = .switching
            let tls: NIOSSLContext
            do {
                tls = try proxy.authority.serverContext(for: host)
            } catch {
                ProxyResponses.write(context: context, status: .badGateway, headers: [],
                                     body: ByteBuffer(string: "VaultSim proxy: no certificate for \(host): \(error)\n"), close: true)
                return
            }
            let head = HTTPResponseHead(version: .http1_1, status: .custom(code: 200, reasonPhrase: "Connection Established"))
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            let bound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            let proxy = self.proxy
            // The pipeline becomes [idle, TLS, HTTP codec, guard, pipelining, forwarding]. The TLS
            // handler goes right behind the front decoder, and the decoder is removed last: the
            // bytes it kept (a TLS hello the client sent with its CONNECT, not waiting for the 200)
            // are handed to TLS, in order, before any later byte.
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { result in
                let (handler, context) = bound.value
                guard case .success = result else { return context.close(promise: nil) }
                do {
                    let pipeline = context.pipeline.syncOperations
                    let frontDecoder = try pipeline.handler(type: ByteToMessageHandler<HTTPRequestDecoder>.self)
                    try pipeline.addHandler(NIOSSLServerHandler(context: tls), position: .after(frontDecoder))
                    _ = pipeline.removeHandler(name: Self.encoderName)
                    _ = pipeline.removeHandler(name: Self.guardName)
                    _ = pipeline.removeHandler(name: Self.pipelineName)
                    try pipeline.addHandler(ByteToMessageHandler(HTTPRequestDecoder()), position: .last)
                    try pipeline.addHandler(HTTPResponseEncoder(), position: .last)
                    try pipeline.addHandler(ProxyConnectionGuard(), position: .last)
                    try pipeline.addHandler(HTTPServerPipelineHandler(), position: .last)
                    try pipeline.addHandler(ProxyForwardHandler(proxy: proxy, host: host, sandboxID: sandboxID), position: .last)
                    _ = pipeline.removeHandler(handler)
                    _ = pipeline.removeHandler(frontDecoder)
                } catch {
                    context.close(promise: nil)
                }
            }
        case .plain(let host, let sandboxID, let head, let target, let body):
            state = .idle
            ProxyForwardHandler.relay(context: context, proxy: proxy, method: head.method, target: target, headers: head.headers, body: body,
                                      host: host, sandboxID: sandboxID, keepAlive: head.isKeepAlive)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Reads the decrypted HTTP/1.1 requests of one tunnel and answers each from the gateway.
final class ProxyForwardHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    let proxy: InterceptingProxy
    let host: String
    let sandboxID: String
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var tooLarge = false

    init(proxy: InterceptingProxy, host: String, sandboxID: String) {
        self.proxy = proxy
        self.host = host
        self.sandboxID = sandboxID
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body = context.channel.allocator.buffer(capacity: 0)
            tooLarge = false
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > InterceptingProxy.bodyLimit { tooLarge = true } else { body.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            if tooLarge {
                ProxyResponses.write(context: context, status: .payloadTooLarge, headers: [],
                                     body: ByteBuffer(string: "VaultSim proxy: request body over 16 MiB\n"), close: true)
                return
            }
            Self.relay(context: context, proxy: proxy, method: head.method, target: head.uri, headers: head.headers, body: body,
                       host: host, sandboxID: sandboxID, keepAlive: head.isKeepAlive)
        }
    }

    /// Forwards one request to the gateway and writes its answer back; a transport failure
    /// closes the client's connection, as the provider's would have been.
    static func relay(context: ChannelHandlerContext, proxy: InterceptingProxy, method: HTTPMethod, target: String, headers: HTTPHeaders,
                      body: ByteBuffer, host: String, sandboxID: String, keepAlive: Bool) {
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.makeFutureWithTask {
            try await proxy.forward(method: method, target: target, headers: headers, body: body, host: host, sandboxID: sandboxID)
        }.whenComplete { result in
            let context = bound.value
            switch result {
            case .success(let answer):
                ProxyResponses.write(context: context, status: .init(statusCode: answer.status), headers: answer.headers, body: answer.body,
                                     close: !keepAlive)
            case .failure:
                context.close(promise: nil)
            }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

enum ProxyResponses {
    static func write(context: ChannelHandlerContext, status: HTTPResponseStatus, headers: [(String, String)], body: ByteBuffer, close: Bool) {
        var fields = HTTPHeaders(headers)
        if fields.first(name: "content-type") == nil, status.code >= 400 { fields.add(name: "content-type", value: "text/plain; charset=utf-8") }
        fields.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        if close { fields.replaceOrAdd(name: "connection", value: "close") }
        context.write(NIOAny(HTTPServerResponsePart.head(HTTPResponseHead(version: .http1_1, status: status, headers: fields))), promise: nil)
        context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(body))), promise: nil)
        let done = context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil)))
        if close {
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(promise: nil) }
        }
    }
}
