import AsyncHTTPClient
import Foundation
import NIOCore
import NIOSSL
import Testing
import VaultSimCore
@testable import VaultSimServer

/// The intercepting proxy over real sockets: CONNECT, TLS with VaultSim's CA, the sandbox named
/// by the proxy credentials, the gateway behind it, and the refusals.
@Suite(.serialized)
struct InterceptingProxyTests {
    let vault: TestVault
    let authority: LocalCertificateAuthority
    let folder: URL

    init() async throws {
        vault = try await TestVault.make()
        folder = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-ca-\(UUID().uuidString)")
        authority = try LocalCertificateAuthority(folder: folder)
    }

    /// An HTTP client that trusts VaultSim's CA only and goes through the proxy as `user`.
    func client(port: Int, user: String?) throws -> HTTPClient {
        var tls = TLSConfiguration.makeClientConfiguration()
        tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMFile(authority.certificateFile.path))
        var configuration = HTTPClient.Configuration(tlsConfiguration: tls, redirectConfiguration: .disallow)
        configuration.proxy = .server(host: "127.0.0.1", port: port, authorization: user.map { .basic(username: $0, password: "vaultsim") })
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    func get(_ url: String, port: Int, user: String?) async throws -> (status: Int, body: String) {
        let http = try client(port: port, user: user)
        do {
            let response = try await http.execute(HTTPClientRequest(url: url), timeout: .seconds(20))
            let body = try await response.body.collect(upTo: 1 << 20)
            try await http.shutdown()
            return (Int(response.status.code), String(buffer: body))
        } catch {
            try? await http.shutdown()
            throw error
        }
    }

    @Test func theCAIsMadeOnceWithAPrivateKeyAndReloaded() throws {
        let key = folder.appendingPathComponent("ca-key.pem").path
        #expect(try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int == 0o600)
        #expect(try FileManager.default.attributesOfItem(atPath: folder.path)[.posixPermissions] as? Int == 0o700)
        let again = try LocalCertificateAuthority(folder: folder)
        #expect(again.certificate == authority.certificate)
        let leaf = try authority.issueLeaf(for: "www.googleapis.com")
        #expect(leaf.issuer == authority.certificate.subject)
        #expect(try leaf.extensions.subjectAlternativeNames?.contains(.dnsName("www.googleapis.com")) == true)
        let ipLeaf = try authority.issueLeaf(for: "127.0.0.1")
        #expect(try ipLeaf.extensions.subjectAlternativeNames?.first.map { if case .ipAddress = $0 { true } else { false } } == true)
    }

    @Test func aRequestThroughTheProxyReachesTheSandboxsFakeAtTheRealHost() async throws {
        let grant = try await vault.seed(GrantSeed(provider: "github", account: "octocat"))
        let token = try #require(try vault.sandbox.store.credential(grantID: grant.id)?.accessToken)
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let http = try client(port: port, user: vault.sandbox.id)
        var request = HTTPClientRequest(url: "https://api.github.com/user")
        request.headers.add(name: "authorization", value: "Bearer \(token)")
        let response = try await http.execute(request, timeout: .seconds(20))
        let body = String(buffer: try await response.body.collect(upTo: 1 << 20))
        try await http.shutdown()
        #expect(response.status.code == 200)
        #expect(JSONValue.parse(body)?["login"] == "octocat")
        let journal = try vault.sandbox.store.providerRequests(providerID: "github", caller: nil)
        #expect(journal.last?.host == "api.github.com")
        #expect(journal.last?.headers["host"] == "api.github.com")
    }

    /// The CONNECT answer is exactly a status line and a blank line: anything after it (a chunked
    /// terminator, say) would be read as the start of TLS, and curl fails on it.
    @Test func theConnectAnswerCarriesNoBody() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let script = """
            import base64, socket, sys
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
            auth = base64.b64encode(b"\(vault.sandbox.id):x").decode()
            s.sendall(f"CONNECT www.googleapis.com:443 HTTP/1.1\\r\\nHost: www.googleapis.com:443\\r\\nProxy-Authorization: Basic {auth}\\r\\n\\r\\n".encode())
            data = b""
            s.settimeout(1.0)
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk: break
                    data += chunk
            except socket.timeout:
                pass
            sys.stdout.write(repr(data))
            """
        let output = try await PythonScript.run(script)
        #expect(output == #"b'HTTP/1.1 200 Connection Established\r\n\r\n'"#, "the proxy answered \(output)")
    }

    /// Garbage, half requests, odd CONNECT targets and a failed TLS handshake close their own
    /// connections; the proxy goes on serving.
    @Test func badInputClosesItsConnectionAndTheProxyGoesOn() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let longHost = String(repeating: "a", count: 300) + ".example"
        let script = """
            import socket
            def send(data, wait=1.0):
                s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
                s.sendall(data)
                s.settimeout(wait)
                got = b""
                try:
                    while True:
                        chunk = s.recv(65536)
                        if not chunk: break
                        got += chunk
                except socket.timeout:
                    pass
                s.close()
                return got.split(b"\\r\\n")[0].decode(errors="replace")
            print(send(bytes(range(256)) * 4))
            print(send(b"CONNECT :443 HTTP/1.1\\r\\n\\r\\n"))
            print(send(b"CONNECT \(longHost):443 HTTP/1.1\\r\\nProxy-Authorization: Basic \(Data("\(vault.sandbox.id):x".utf8).base64EncodedString())\\r\\n\\r\\n"))
            print(send(b"GET ftp://x/ HTTP/1.1\\r\\n\\r\\n"))
            print(send(b"CONNECT www.googleapis.com:443 HTTP/1.1\\r\\nProxy-Authorization: Basic \(Data("\(vault.sandbox.id):x".utf8).base64EncodedString())\\r\\n\\r\\nnot a TLS hello\\r\\n"))
            """
        let lines = try await PythonScript.run(script).split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.count >= 5, "\(lines)")
        #expect(lines.first.map { !$0.hasPrefix("HTTP/1.1 2") } == true, "garbage got \(lines)")
        #expect(lines.dropFirst().first == "HTTP/1.1 400 Bad Request", "\(lines)")
        #expect(lines.dropFirst(2).first == "HTTP/1.1 502 Bad Gateway", "a 300-character host: \(lines)")
        #expect(lines.dropFirst(3).first == "HTTP/1.1 400 Bad Request", "\(lines)")
        // Still serving.
        let answer = try await get("https://api.stripe.com/v1/charges", port: port, user: vault.sandbox.id)
        #expect(answer.status == 502)
    }

    @Test func anUnknownHostGetsA502NamingItAndNothingLeaves() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let answer = try await get("https://api.stripe.com/v1/charges", port: port, user: vault.sandbox.id)
        #expect(answer.status == 502)
        #expect(answer.body.contains("no fake provider owns the host 'api.stripe.com'"))
        #expect(answer.body.contains("www.googleapis.com"))
    }

    /// The Connect widget's package is the one thing VaultSim answers on the CDN's host; every
    /// other path there gets the usual refusal, which names the package.
    @Test func theConnectWidgetIsServedOnItsCDNAndNothingElseThere() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        for version in ["latest", "0.2.0", "1"] {
            let widget = try await get("https://cdn.jsdelivr.net/npm/@alter-ai/connect@\(version)/dist/alter-connect.umd.js", port: port, user: vault.sandbox.id)
            #expect(widget.status == 200)
            #expect(widget.body.hasPrefix("/*! @alter-ai/connect \(ConnectWidgetSource.version)"))
            #expect(widget.body.contains("var VAULT_URL = \"\(vault.server.address.baseURL)\";"), "the widget opens the vault that served it")
        }
        for path in ["/npm/react@18/umd/react.production.min.js", "/npm/@alter-ai/connectx/index.js", "/gh/alter-ai/connect/x.js"] {
            let other = try await get("https://cdn.jsdelivr.net" + path, port: port, user: vault.sandbox.id)
            #expect(other.status == 502, "\(path)")
            #expect(other.body.contains("no fake provider owns the host 'cdn.jsdelivr.net'") && other.body.contains("@alter-ai/connect"))
        }
        let missing = try await get("https://cdn.jsdelivr.net/npm/@alter-ai/connect@latest/dist/other.js", port: port, user: vault.sandbox.id)
        #expect(missing.status == 404)
        #expect(missing.body.contains("dist/alter-connect.umd.js"), "the refusal lists the package's files: \(missing.body)")
        #expect(Data(base64Encoded: authority.publicKeySHA256)?.count == 32, "Chromium's pin is a base64 SHA-256")
    }

    @Test func withoutCredentialsAndSeveralSandboxesTheProxyAsksWhichOne() async throws {
        _ = try vault.server.createSandbox(name: "another")
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        #expect(vault.server.registry.all.count > 1)
        guard case .failure(.status(let status, let text, let headers)) = proxy.sandbox(proxyAuthorization: nil) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(status == .proxyAuthenticationRequired)
        #expect(text.contains("HTTPS_PROXY=http://SANDBOX_ID:x@127.0.0.1:PORT"))
        #expect(headers.contains { $0.0 == "Proxy-Authenticate" })
        guard case .failure = proxy.sandbox(proxyAuthorization: "Basic " + Data("nope:x".utf8).base64EncodedString()) else {
            Issue.record("an unknown sandbox must be refused")
            return
        }
        guard case .success(let found) = proxy.sandbox(proxyAuthorization: "Basic " + Data("\(vault.sandbox.id):x".utf8).base64EncodedString()) else {
            Issue.record("the named sandbox must be found")
            return
        }
        #expect(found.id == vault.sandbox.id)
    }
}
