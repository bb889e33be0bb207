import Foundation
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// A body the HTTP parser cannot read is the client's fault: a 400 that says so, never a 500.
struct MalformedBodyTests {
    @Test func aBrokenChunkOrAShortBodyIsA400NotA500() async throws {
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: FixtureLibrary())
        let running = try await server.start()
        defer { Task { await running.stop() } }
        let port = try #require(running.address.port)
        let output = try await PythonScript.run(PythonScript.socketPrelude(port: port) + """
            head = b"POST /_vaultsim/sandboxes HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nContent-Type: application/json\\r\\n"
            for data, half in [(head + b"Transfer-Encoding: chunked\\r\\n\\r\\nZZ\\r\\n{}\\r\\n0\\r\\n\\r\\n", False),
                               (head + b"Transfer-Encoding: chunked\\r\\n\\r\\n2\\r\\n{}XX0\\r\\n\\r\\n", False),
                               (head + b"Content-Length: 100\\r\\n\\r\\n{\\"name\\": \\"x\\"}", True)]:
                got = exchange(data, wait=20.0, half_close=half)
                print(got.split(b"\\r\\n")[0].decode(errors="replace") + " :: " + got.partition(b"\\r\\n\\r\\n")[2].decode(errors="replace"))
            """)
        let lines = output.split(separator: "\n").map(String.init)
        #expect(lines.count == 3, "\(output)")
        for line in lines {
            #expect(!line.contains(" 500 ") && !line.contains("internal_error"), "\(line)")
            // Either the 400 that names the problem, or (the client gone) nothing at all.
            #expect(line == " :: " || (line.hasPrefix("HTTP/1.1 400") && (line.contains("malformed_request") || line.contains("request_rejected"))),
                    "\(line)")
        }
        #expect(lines.contains { $0.hasPrefix("HTTP/1.1 400") }, "\(output)")
    }
}
