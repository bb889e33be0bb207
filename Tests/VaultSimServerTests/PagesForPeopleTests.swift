import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
@testable import VaultSimServer

/// What a person reads on the hosted and consent pages of the dev sandbox: the app's display
/// name, not its internal name `default`, and dates written for people.
struct PagesForPeopleTests {
    @Test func theDevSandboxsPagesNameTheAppAndWriteDatesForPeople() async throws {
        let server = try await SharedTestServer.started.value
        let sandbox = try server.createSandbox(name: "default")
        defer { server.registry.remove(id: sandbox.id) }
        _ = sandbox.clock.set(to: Date(timeIntervalSince1970: 1_796_621_100))   // 2026-12-07 05:25 UTC
        sandbox.clock.freeze(true)
        let session = try ConnectService(credentials: server.credentials(sandbox)).create(.init(allowedProviders: ["google"]))
        let (chooser, consent) = try await server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            let path = "/sandboxes/\(sandbox.id)/connect/\(session.token)"
            let chooser = try await client.execute(uri: path, method: .get) { String(buffer: $0.body) }
            let location = try await client.execute(uri: path + "/start", method: .post,
                                                    headers: [.contentType: "application/x-www-form-urlencoded"],
                                                    body: ByteBuffer(string: "provider=google")) { $0.headers[.location] ?? "" }
            let consent = try await client.execute(uri: String(location.dropFirst(server.address.baseURL.count)), method: .get) {
                String(buffer: $0.body)
            }
            return (chooser, consent)
        }
        #expect(chooser.contains("My App (VaultSim dev sandbox)"), "\(chooser)")
        #expect(chooser.contains("This link works until 7 December 2026, 05:35 UTC"), "\(chooser)")
        #expect(!chooser.contains("2026-12-07T"))
        #expect(consent.contains("Make sure you trust My App (VaultSim dev sandbox)"), "\(consent)")
        #expect(!consent.contains("trust default"))
    }
}
