import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// One server per test process, listening on loopback: the vault's calls to providers (code
/// exchange, refresh, revoke, userinfo) go over real HTTP to its gateway. Tests send their own
/// requests in-process through HummingbirdTesting's router client, to the same registry.
enum SharedTestServer {
    static let fixtures: FixtureLibrary = {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Fixtures")
        return (try? FixtureLibrary(root: root)) ?? FixtureLibrary()
    }()

    static let started = Task<VaultSimServer, any Error> {
        // Tests seed grants while the whole test process starts on two cores (browsers, SDK
        // venvs, the mutation tests): the vault may wait longer than its usual 10 s for a fake
        // provider's token endpoint. No test here times a provider out through this server.
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: fixtures, providerTimeout: .seconds(60))
        _ = try await server.start()
        return server
    }
}

/// A sandbox of its own on the shared server, and a way to send it requests.
struct TestVault {
    let server: VaultSimServer
    let sandbox: Sandbox
    var registry: SandboxRegistry { server.registry }

    static func make() async throws -> TestVault {
        let server = try await SharedTestServer.started.value
        return TestVault(server: server, sandbox: try server.createSandbox(name: "test"))
    }

    /// An OAuth grant made the real way: the provider's authorization, then the vault's exchange.
    @discardableResult
    func seed(_ seed: GrantSeed, in sandbox: Sandbox? = nil) async throws -> Grant {
        try await server.seed(grant: seed, in: sandbox ?? self.sandbox)
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
