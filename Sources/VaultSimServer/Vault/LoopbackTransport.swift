import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VaultSimCore
import VaultSimProviders

/// The vault's way out to providers: real HTTP (AsyncHTTPClient) on loopback to this server's
/// provider gateway, so a provider's faults, delays, resets and malformed bodies reach the vault
/// exactly as the app would see them. Requests name the provider's real URL; the gateway URL is
/// derived from the sandbox and the server's address, and the call is tagged `vault`.
public struct LoopbackTransport: ProviderTransport {
    let address: ServerAddress
    let client: HTTPClient
    /// The vault's patience with a provider (connect and whole-request deadline).
    public var timeout: TimeAmount

    public init(address: ServerAddress, client: HTTPClient = .shared, timeout: TimeAmount = .seconds(10)) {
        self.address = address
        self.client = client
        self.timeout = timeout
    }

    public func send(_ request: OutboundRequest, sandbox: Sandbox) async throws(TransportFailure) -> InboundResponse {
        guard address.port != nil else { throw TransportFailure(.connect, "the VaultSim server is not listening yet") }
        guard let (host, rest) = Self.split(request.url) else { throw TransportFailure(.other, "not an absolute http(s) URL: \(request.url)") }
        var outbound = HTTPClientRequest(url: ProviderRoutes.baseURL(serverURL: address.baseURL, sandboxID: sandbox.id, host: host) + rest)
        outbound.method = HTTPMethod(rawValue: request.method)
        for (name, value) in request.headers { outbound.headers.add(name: name, value: value) }
        outbound.headers.replaceOrAdd(name: ProviderRoutes.callerHeader, value: "vault")
        outbound.headers.replaceOrAdd(name: "User-Agent", value: "VaultSim-vault/1 (alter-vault-compatible)")
        if !request.body.isEmpty { outbound.body = .bytes(ByteBuffer(bytes: request.body)) }
        do {
            let response = try await client.execute(outbound, timeout: timeout)
            let body = try await response.body.collect(upTo: 8 << 20)
            return InboundResponse(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) },
                                   body: Data(buffer: body))
        } catch let error as HTTPClientError {
            switch error {
            case .deadlineExceeded, .readTimeout, .connectTimeout, .writeTimeout: throw TransportFailure(.timeout, "\(error)")
            case .remoteConnectionClosed: throw TransportFailure(.reset, "\(error)")
            default: throw TransportFailure(.other, "\(error)")
            }
        } catch {
            throw TransportFailure(.other, "\(error)")
        }
    }

    /// `https://host[:port]/path?q` → (`host`, `/path?q`).
    static func split(_ url: String) -> (host: String, rest: String)? {
        let lower = url.lowercased()
        guard let scheme = ["https://", "http://"].first(where: lower.hasPrefix) else { return nil }
        let afterScheme = url.dropFirst(scheme.count)
        let end = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let host = afterScheme[..<end].split(separator: ":").first.map { String($0).lowercased() } ?? ""
        guard !host.isEmpty else { return nil }
        var rest = String(afterScheme[end...])
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return (host, rest)
    }
}
