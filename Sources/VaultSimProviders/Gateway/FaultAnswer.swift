import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore

/// How a fault answers over HTTP: its status, headers and body, or a connection dropped mid-answer.
public enum FaultAnswer {
    /// Waits the fault's delay, then answers it.
    public static func respond(_ fault: ProviderFault) async throws -> Response {
        if fault.delayMilliseconds > 0 { try await Task.sleep(for: .milliseconds(fault.delayMilliseconds)) }
        if fault.drop { return dropped() }
        return ProviderRoutes.response(ProviderResponse(status: fault.status, headers: fault.headers, body: Data(fault.body.utf8)))
    }

    /// A response whose head promises a body that never comes: the body writer fails, so the
    /// server closes the connection and the client sees it dropped before the answer ended.
    public static func dropped() -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .contentLength: "64"],
                 body: ResponseBody { _ in throw DroppedConnection() })
    }

    struct DroppedConnection: Error {}
}
