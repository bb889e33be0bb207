import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore

/// Turns what the interception chain answered into a Hummingbird response: waits a fault's
/// delay, or drops the connection.
public enum ExchangeResponder {
    public static func response(_ answer: ExchangeAnswer) async throws -> Response {
        let response = answer.response
        if response.delay > .zero { try await Task.sleep(for: response.delay) }
        if response.dropped { return dropped() }
        return Response(status: .init(code: response.status), headers: response.headers,
                        body: .init(byteBuffer: ByteBuffer(bytes: response.body)))
    }

    /// A response whose head promises a body that never comes: the body writer fails, so the
    /// server closes the connection and the client sees it dropped before the answer ended.
    public static func dropped() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "64"],
                 body: ResponseBody { _ in throw DroppedConnection() })
    }

    struct DroppedConnection: Error {}
}

extension ProviderResponse {
    /// As the interception chain carries it: headers sorted by name (a provider builds them as a dictionary).
    public var exchangeResponse: Exchange.Response {
        Exchange.Response(status: status, headers: Exchange.fields(headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }), body: body)
    }
}
