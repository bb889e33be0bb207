import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// A server with one sandbox, driven in-process through HummingbirdTesting's router client.
struct TestVault {
    let registry = SandboxRegistry()
    let server: VaultSimServer
    let sandbox: Sandbox

    init() throws {
        server = VaultSimServer(registry: registry, fixtures: FixtureLibrary())
        sandbox = try registry.create(name: "test")
    }

    /// Sends one request; returns the status, the body as JSON (null when not JSON) and the headers.
    func send(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> (Int, JSONValue, HTTPFields) {
        try await server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                (Int(response.status.code), JSONValue.parse(Data(buffer: response.body)) ?? .null, response.headers)
            }
        }
    }
}
