import Foundation
import Synchronization
import Testing
@testable import VaultSimCore

/// A provider token endpoint played by the test: answers are scripted, requests are recorded.
final class ScriptedTransport: ProviderTransport {
    let requests = Mutex<[OutboundRequest]>([])
    let answer: @Sendable (OutboundRequest) async throws(TransportFailure) -> InboundResponse

    init(_ answer: @escaping @Sendable (OutboundRequest) async throws(TransportFailure) -> InboundResponse) {
        self.answer = answer
    }

    func send(_ request: OutboundRequest, sandbox: Sandbox) async throws(TransportFailure) -> InboundResponse {
        requests.withLock { $0.append(request) }
        return try await answer(request)
    }

    var count: Int { requests.withLock { $0.count } }

    static func json(_ status: Int, _ body: String) -> InboundResponse {
        InboundResponse(status: status, headers: [("Content-Type", "application/json")], body: Data(body.utf8))
    }
}

struct CredentialServiceTests {
    @Test func aFreshCredentialIsHandedOutWithoutCallingTheProvider() async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox)
        let transport = ScriptedTransport { _ in ScriptedTransport.json(500, "{}") }
        let (credential, refreshed) = try await CredentialService(sandbox: sandbox, transport: transport)
            .credential(for: try #require(try sandbox.store.grantContext(id: grant.id)))
        #expect(!refreshed)
        #expect(credential.accessToken.hasPrefix("ya29.access-"))
        #expect(transport.count == 0)
    }

    @Test func anExpiredCredentialIsRefreshedAtTheProvidersTokenEndpoint() async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox, expiresIn: 60)
        sandbox.clock.advance(by: 120)
        let transport = ScriptedTransport { _ in
            ScriptedTransport.json(200, #"{"access_token":"ya29.new","expires_in":3599,"scope":"s1","token_type":"Bearer"}"#)
        }
        let service = CredentialService(sandbox: sandbox, transport: transport)
        let (credential, refreshed) = try await service.credential(for: try #require(try sandbox.store.grantContext(id: grant.id)))
        #expect(refreshed)
        #expect(credential.accessToken == "ya29.new")
        #expect(credential.refreshToken == "1//refresh-token-value") // Google keeps the refresh token
        #expect(credential.scopes == ["s1"])
        let request = try #require(transport.requests.withLock { $0.first })
        #expect(request.url == "https://oauth2.googleapis.com/token")
        let form = QueryString.decode(String(decoding: request.body, as: UTF8.self))
        #expect(form["grant_type"] == "refresh_token")
        #expect(form["refresh_token"] == "1//refresh-token-value")
        #expect(form["client_id"]?.hasSuffix(".apps.googleusercontent.com") == true)
        #expect(try sandbox.store.credential(grantID: grant.id)?.accessToken == "ya29.new")
    }

    @Test func concurrentRequestsOnAnExpiredGrantCauseOneRefresh() async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox, expiresIn: 60)
        sandbox.clock.advance(by: 120)
        let transport = ScriptedTransport { _ in
            try? await Task.sleep(for: .milliseconds(100))
            return ScriptedTransport.json(200, #"{"access_token":"ya29.once","expires_in":3599,"token_type":"Bearer"}"#)
        }
        let service = CredentialService(sandbox: sandbox, transport: transport)
        let context = try #require(try sandbox.store.grantContext(id: grant.id))
        let tokens = try await withThrowingTaskGroup(of: String.self) { group in
            for _ in 0..<8 { group.addTask { try await service.credential(for: context).0.accessToken } }
            return try await group.reduce(into: []) { $0.append($1) }
        }
        #expect(tokens == Array(repeating: "ya29.once", count: 8))
        #expect(transport.count == 1)
    }

    @Test func invalidGrantFromTheProviderIsCredentialRevoked() async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox, expiresIn: 60)
        sandbox.clock.advance(by: 120)
        let transport = ScriptedTransport { _ in
            ScriptedTransport.json(400, #"{"error":"invalid_grant","error_description":"Token has been expired or revoked."}"#)
        }
        let context = try #require(try sandbox.store.grantContext(id: grant.id))
        let error = await #expect(throws: VaultError.self) {
            try await CredentialService(sandbox: sandbox, transport: transport).credential(for: context)
        }
        #expect(error?.status == 403)
        #expect(error?.code == "credential_revoked")
        #expect(error?.topLevel["grant_id"] == .string(grant.id))
    }

    @Test func aBrokenTokenEndpointIsATransientErrorAndTheGrantIsKept() async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox, expiresIn: 60)
        sandbox.clock.advance(by: 120)
        for body in [#"{"access_token":"x","expires_in":"soon"}"#, #"{"access_tok"#, "<html>bad gateway</html>",
                     #"{"access_token":"x","expires_in":3599,"scope":"s1 never-granted"}"#] {
            let transport = ScriptedTransport { _ in ScriptedTransport.json(200, body) }
            let context = try #require(try sandbox.store.grantContext(id: grant.id))
            let error = await #expect(throws: VaultError.self) {
                try await CredentialService(sandbox: sandbox, transport: transport).credential(for: context)
            }
            #expect(error?.status == 503, "body \(body)")
        }
        let timeout = ScriptedTransport { _ throws(TransportFailure) in throw TransportFailure(.timeout, "deadline exceeded") }
        let context = try #require(try sandbox.store.grantContext(id: grant.id))
        await #expect(throws: VaultError.self) { try await CredentialService(sandbox: sandbox, transport: timeout).credential(for: context) }
        #expect(try sandbox.store.grantContext(id: grant.id)?.grant.isActive == true)
        #expect(try sandbox.store.credential(grantID: grant.id)?.refreshToken == "1//refresh-token-value")
    }

    @Test(arguments: [("slack", #"{"ok":false,"error":"invalid_refresh_token"}"#),
                      ("github", #"{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}"#)])
    func slackAndGitHubRefusalsThatArriveWithHTTP200AreStillRefusals(provider: String, body: String) async throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox, provider: provider, expiresIn: 60)
        sandbox.clock.advance(by: 120)
        let transport = ScriptedTransport { _ in ScriptedTransport.json(200, body) }
        let context = try #require(try sandbox.store.grantContext(id: grant.id))
        let error = await #expect(throws: VaultError.self) {
            try await CredentialService(sandbox: sandbox, transport: transport).credential(for: context)
        }
        #expect(error?.code == "credential_revoked")
        let request = try #require(transport.requests.withLock { $0.first })
        #expect(request.url == ProviderCatalog.descriptor(id: provider)?.oauth?.tokenURL)
    }
}
