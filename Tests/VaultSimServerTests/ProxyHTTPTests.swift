import Foundation
import NIOCore
import Testing
import VaultSimCore
@testable import VaultSimServer

/// The intercepting proxy speaks HTTP/1.1 correctly over real sockets: pipelined requests answered
/// in order, malformed requests answered 400, a TLS hello sent together with the CONNECT, a
/// half-closed request, idle connections, and leaf certificates only for real host names.
@Suite(.serialized)
struct ProxyHTTPTests {
    let vault: TestVault
    let authority: LocalCertificateAuthority

    init() async throws {
        vault = try await TestVault.make()
        authority = try LocalCertificateAuthority(folder: FileManager.default.temporaryDirectory
            .appendingPathComponent("vaultsim-ca-\(UUID().uuidString)"))
    }

    var credentials: String { "Proxy-Authorization: Basic \(Data("\(vault.sandbox.id):x".utf8).base64EncodedString())" }

    func python(_ script: String) async throws -> String { try await PythonScript.run(script) }

    func prelude(port: Int) -> String { PythonScript.socketPrelude(port: port) }

    @Test func pipelinedPlainRequestsAreAnsweredInOrder() async throws {
        // The first answer is slow (a fault's delay), the second fast: the order must still hold.
        vault.sandbox.faults.add(ProviderFault(providerID: "github", method: "GET", pathPrefix: "/user", status: 418,
                                               body: "{\"first\":true}", delayMilliseconds: 400))
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let output = try await python(prelude(port: port) + """
            one = b"GET http://api.github.com/user HTTP/1.1\\r\\nHost: api.github.com\\r\\n\(credentials)\\r\\n\\r\\n"
            two = b"GET http://api.github.com/nope HTTP/1.1\\r\\nHost: api.github.com\\r\\nConnection: close\\r\\n\(credentials)\\r\\n\\r\\n"
            got = exchange(one + two, wait=10.0)
            import re
            print(" | ".join(m.decode() for m in re.findall(rb"HTTP/1\\.1 [0-9]{3} [^\\r]*", got)))
            """)
        #expect(output.trimmingCharacters(in: .whitespacesAndNewlines) == "HTTP/1.1 418 I'm a teapot | HTTP/1.1 404 Not Found", "\(output)")
    }

    @Test func malformedRequestsGetA400ThatSaysSo() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let cases = [
            #"b"GET\r\n\r\n""#,                                                         // no target
            #"b"CONNECT a b:443 HTTP/1.1\r\n\r\n""#,                                    // a space in the authority
            #"b"GET http://api.github.com/ HTTP/9.9\r\n\r\n""#,                         // an unknown version
            #"b"GET http://api.github.com/ HTTP/1.1\r\nNoColonHere\r\n\r\n""#,          // a header without a colon
            #"b"POST http://api.github.com/ HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n""#,
            #"b"GET http://api.github.com/ HTTP/1.1\r\nContent-Length: x\r\n\r\n""#,   // a length that is no number
            #"b"GET http://api.github.com/ HTTP/1.1\r\nHost: a\r\n\x00\r\n\r\n""#,      // a control byte
        ]
        let output = try await python(prelude(port: port) + """
            for data in [\(cases.joined(separator: ", "))]:
                got = exchange(data)
                head, _, body = got.partition(b"\\r\\n\\r\\n")
                print(head.split(b"\\r\\n")[0].decode(errors="replace") + " :: " + body.decode(errors="replace").strip())
            """)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == cases.count, "\(output)")
        for (input, line) in zip(cases, lines) {
            #expect(line.hasPrefix("HTTP/1.1 400 Bad Request :: VaultSim proxy: malformed HTTP/1.1 request"), "\(input) → \(line)")
        }
    }

    @Test func aTLSHelloSentWithTheConnectIsNotLost() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        let output = try await python(prelude(port: port) + """
            import ssl
            context = ssl.create_default_context(cafile="\(authority.certificateFile.path)")
            incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
            tls = context.wrap_bio(incoming, outgoing, server_hostname="api.github.com")
            try:
                tls.do_handshake()
            except ssl.SSLWantReadError:
                pass
            s = socket.create_connection(("127.0.0.1", \(port)), timeout=5)
            # The CONNECT and the ClientHello in one write, not waiting for the 200.
            s.sendall(b"CONNECT api.github.com:443 HTTP/1.1\\r\\nHost: api.github.com:443\\r\\n\(credentials)\\r\\n\\r\\n" + outgoing.read())
            buffered = b""
            while b"\\r\\n\\r\\n" not in buffered:
                buffered += s.recv(65536)
            head, _, rest = buffered.partition(b"\\r\\n\\r\\n")
            print(head.split(b"\\r\\n")[0].decode())
            incoming.write(rest)
            def pump():
                data = outgoing.read()
                if data: s.sendall(data)
            while True:
                try:
                    tls.do_handshake()
                    pump()
                    break
                except ssl.SSLWantReadError:
                    pump()
                    incoming.write(s.recv(65536))
            tls.write(b"GET /nope HTTP/1.1\\r\\nHost: api.github.com\\r\\nConnection: close\\r\\n\\r\\n")
            pump()
            answer = b""
            while True:
                try:
                    answer += tls.read(65536)
                    if b"\\r\\n\\r\\n" in answer: break
                except ssl.SSLWantReadError:
                    chunk = s.recv(65536)
                    if not chunk: break
                    incoming.write(chunk)
            print(answer.split(b"\\r\\n")[0].decode())
            """)
        #expect(output == "HTTP/1.1 200 Connection Established\nHTTP/1.1 404 Not Found\n", "\(output)")
    }

    @Test func aHalfClosedRequestIsAnsweredThenClosed() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority)
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        // Closed by the proxy once answered, not by the script's 30 s wait running out.
        let output = try await python(prelude(port: port) + """
            got = exchange(b"GET http://api.github.com/nope HTTP/1.1\\r\\nHost: api.github.com\\r\\n\(credentials)\\r\\n\\r\\n", wait=30.0, half_close=True)
            print(got.split(b"\\r\\n")[0].decode(), closed_by_proxy())
            """)
        #expect(output == "HTTP/1.1 404 Not Found True\n", "\(output)")
    }

    @Test func anIdleConnectionIsClosedAfterTheIdleTimeout() async throws {
        let proxy = InterceptingProxy(server: vault.server, authority: authority, idleTimeout: .seconds(1))
        let port = try await proxy.start()
        defer { Task { await proxy.stop() } }
        // Silent, and after an answered request: each closed by the proxy, not by the script's 30 s wait.
        let output = try await python(prelude(port: port) + """
            got = exchange(b"", wait=30.0)
            print("silent", got == b"" and closed_by_proxy())
            got = exchange(b"GET http://api.github.com/nope HTTP/1.1\\r\\nHost: api.github.com\\r\\n\(credentials)\\r\\n\\r\\n", wait=30.0)
            print("answered", got.startswith(b"HTTP/1.1 404") and closed_by_proxy())
            """)
        #expect(output == "silent True\nanswered True\n", "\(output)")
    }

    @Test func leafCertificatesOnlyForHostNamesAndIPAddresses() throws {
        for bad in [".", "..", "a..b.com", "-evil.com", "evil-.com", String(repeating: "a", count: 64) + ".com", "under_score.com", "a b.com",
                    "", "é.com", "host.com."] {
            #expect(throws: (any Error).self, "\(bad)") { try authority.issueLeaf(for: bad) }
        }
        for good in ["www.googleapis.com", "a.b", "x", String(repeating: "a", count: 63) + ".com", "127.0.0.1", "::1", "xn--bcher-kva.example"] {
            _ = try authority.issueLeaf(for: good)
        }
    }
}
