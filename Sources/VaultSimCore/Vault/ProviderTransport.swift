import Foundation

/// An HTTP request the vault sends to a provider, addressed by the provider's real URL.
public struct OutboundRequest: Sendable {
    public var method: String
    public var url: String
    public var headers: [(String, String)]
    public var body: Data

    public init(method: String, url: String, headers: [(String, String)] = [], body: Data = Data()) {
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
    }

    /// A form POST (`application/x-www-form-urlencoded`), fields in the given order.
    public static func form(_ url: String, _ fields: [(String, String)], headers: [(String, String)] = []) -> OutboundRequest {
        OutboundRequest(method: "POST", url: url, headers: [("Content-Type", "application/x-www-form-urlencoded")] + headers,
                        body: Data(QueryString.encode(fields).utf8))
    }
}

/// A provider's answer as the vault received it.
public struct InboundResponse: Sendable {
    public var status: Int
    public var headers: [(String, String)]
    public var body: Data

    public init(status: Int, headers: [(String, String)], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// How the vault reaches providers. The server's implementation sends real HTTP on loopback
/// through the provider gateway, so faults, timeouts and malformed bodies reach the vault as
/// they would from the real provider; the vault never touches a provider's records.
public protocol ProviderTransport: Sendable {
    /// Sends `request` for `sandbox`; throws `TransportFailure` when no HTTP answer arrived.
    func send(_ request: OutboundRequest, sandbox: Sandbox) async throws(TransportFailure) -> InboundResponse
}

/// No HTTP answer: the connection failed, was reset, or timed out.
public struct TransportFailure: Error, Sendable, CustomStringConvertible {
    public enum Kind: String, Sendable { case connect, timeout, reset, other }
    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { "\(kind.rawValue): \(message)" }
}
