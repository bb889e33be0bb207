import AsyncHTTPClient
import Foundation
import HTTPTypes
import NIOCore
import NIOHTTP1
import VaultSimCore
import VaultSimProviders

/// Where a recording proxy sends provider calls, and who keeps them: `vaultsim record
/// --forward-providers`. Nothing here is simulated: the request goes out as the app sent it.
public struct ProviderForwarding: Sendable {
    /// The base URL a host's calls go to: `https://HOST` for the real thing.
    public var baseURL: @Sendable (String) -> String
    /// Gets each exchange once it is answered (or failed).
    public var record: @Sendable (Exchange) -> Void

    public init(baseURL: @escaping @Sendable (String) -> String = { "https://\($0)" }, record: @escaping @Sendable (Exchange) -> Void) {
        self.baseURL = baseURL
        self.record = record
    }
}

extension InterceptingProxy {
    /// Sends one provider call where `forwarding` says, records it, and returns its answer; a
    /// transport failure is recorded as a dropped connection and closes the client's.
    func forwardOut(_ forwarding: ProviderForwarding, method: HTTPMethod, target: String, headers: HTTPHeaders, body: ByteBuffer?,
                    host: String) async throws -> Answer {
        let path = target.hasPrefix("/") ? target : "/" + target
        var request = HTTPClientRequest(url: forwarding.baseURL(host) + path)
        request.method = method
        for (name, value) in headers where !Self.hopByHop.contains(name.lowercased()) { request.headers.add(name: name, value: value) }
        if let body, body.readableBytes > 0 { request.body = .bytes(body) }
        let pathOnly = String(path.prefix { $0 != "?" })
        let query = path.firstIndex(of: "?").map { String(path[path.index(after: $0)...]) } ?? ""
        let recorded = Exchange.Request(method: method.rawValue, scheme: "https", host: host, path: pathOnly, query: query,
                                        headers: Exchange.fields(headers.map { ($0.name, $0.value) }),
                                        body: body.map { Data($0.readableBytesView) } ?? Data())
        let service = ProviderCatalog.all.first { $0.hosts.contains(host) }?.id ?? host
        let startedAt = Date()
        let began = ContinuousClock.now
        func keep(_ response: Exchange.Response, by: String) {
            let elapsed = ContinuousClock.now - began
            forwarding.record(Exchange(caller: .sdk, service: service, request: recorded, response: response, answeredBy: by, startedAt: startedAt,
                                       seconds: Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18,
                                       virtualTime: startedAt))
        }
        guard let client = clientWhileRunning else { throw NotRunning() }
        do {
            let response = try await client.execute(request, timeout: .seconds(120))
            let bytes = try await response.body.collect(upTo: Self.bodyLimit)
            let kept = response.headers.filter { !Self.hopByHop.contains($0.name.lowercased()) }.map { ($0.name, $0.value) }
            keep(Exchange.Response(status: Int(response.status.code), headers: Exchange.fields(kept), body: Data(bytes.readableBytesView)),
                 by: "upstream")
            return Answer(status: Int(response.status.code), headers: kept, body: bytes)
        } catch {
            keep(Exchange.Response(status: 0, dropped: true), by: "upstream (no answer: \(type(of: error)))")
            throw error
        }
    }
}
