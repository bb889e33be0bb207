import NIOCore
import NIOHTTP1

/// Sits behind the HTTP codec of every proxy connection (the plain one and each TLS tunnel) and
/// keeps it honest HTTP/1.1:
/// - a request the parser cannot read (no target, `HTTP/9.9`, a header without a colon,
///   `Content-Length` with `Transfer-Encoding`, …) gets a `400` that says what was wrong, then
///   the connection closes — not a silent close;
/// - a client that half-closes after its requests gets every answer, then the connection closes;
/// - a connection with no request in flight is closed when the `IdleStateHandler` at the head of
///   the pipeline says it sat idle for the server's idle timeout; one waiting for a slow answer
///   (a fault's delay) is not idle.
final class ProxyConnectionGuard: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// Request heads read whose answer has not been written to its end yet.
    private var requestsInFlight = 0
    /// An answer's head is written and its end is not: a 400 cannot be put in front of it.
    private var answering = false
    /// The client half-closed: no more requests will come.
    private var inputClosed = false
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if case .head = unwrapInboundIn(data) { requestsInFlight += 1 }
        context.fireChannelRead(data)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head: answering = true
        case .body: break
        case .end:
            answering = false
            requestsInFlight = max(0, requestsInFlight - 1)
            if inputClosed, requestsInFlight == 0 {
                // The last answer the client can want: close once it is out.
                let written = promise ?? context.eventLoop.makePromise()
                let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
                written.futureResult.whenComplete { _ in bound.value.close(promise: nil) }
                context.write(data, promise: written)
                return
            }
        }
        context.write(data, promise: promise)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError, !answering else {
            context.close(promise: nil)
            return
        }
        let text = "VaultSim proxy: malformed HTTP/1.1 request (\(parserError)). Send `CONNECT host:443 HTTP/1.1` "
            + "or an absolute http:// URL, as HTTP/1.1 (RFC 9112).\n"
        var headers = HTTPHeaders([("content-type", "text/plain; charset=utf-8"), ("connection", "close")])
        headers.add(name: "content-length", value: String(text.utf8.count))
        answering = true
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .badRequest, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: text)))), promise: nil)
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in bound.value.close(promise: nil) }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            if requestsInFlight == 0 { context.close(promise: nil) }
            return
        }
        if case ChannelEvent.inputClosed = event {
            inputClosed = true
            if requestsInFlight == 0 { context.close(promise: nil) }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}
