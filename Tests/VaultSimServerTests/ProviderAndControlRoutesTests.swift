import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// Fake providers check credentials as the real APIs do; the control API manages sandboxes.
struct ProviderAndControlRoutesTests {
    let vault: TestVault
    var registry: SandboxRegistry { vault.registry }
    var sandbox: Sandbox { vault.sandbox }

    init() throws { vault = try TestVault() }

    func call(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> (Int, JSONValue, HTTPFields) {
        try await vault.send(method, uri, headers: headers, body: body)
    }

    var calendarURI: String { "/sandboxes/\(sandbox.id)/providers/google/calendar/v3/calendars/primary/events" }

    @Test func googleWithoutATokenAnswersGoogles401AndJournalsIt() async throws {
        let (status, json, headers) = try await call(.get, calendarURI + "?maxResults=1")
        #expect(status == 401)
        #expect(json["error"]?["status"] == "UNAUTHENTICATED")
        #expect(headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=") == true)
        let journal = try sandbox.store.providerRequests(providerID: "google")
        #expect(journal.count == 1)
        #expect(journal[0].path == "/calendar/v3/calendars/primary/events")
        #expect(journal[0].queryItems == ["maxResults": "1"])
        #expect(journal[0].status == 401)
    }

    @Test func googleRejectsATokenOfAnotherSandbox() async throws {
        let other = try registry.create(name: "other")
        try other.seed(grant: GrantSeed(provider: "google", scopes: ["https://www.googleapis.com/auth/calendar"]))
        let token = try other.store.allIssuedTokens().first { $0.kind == .access }!.token
        let (status, json, _) = try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"])
        #expect(status == 401)
        #expect(json["error"]?["status"] == "UNAUTHENTICATED")
    }

    @Test func googleRejectsAnExpiredToken() async throws {
        try sandbox.seed(grant: GrantSeed(provider: "google", scopes: ["https://www.googleapis.com/auth/calendar"]))
        let token = try sandbox.store.allIssuedTokens().first { $0.kind == .access }!.token
        #expect(try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"]).0 == 404) // no fixture calendars here
        sandbox.clock.advance(by: 3600)
        #expect(try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"]).0 == 401)
    }

    @Test func internalAPIRejectsAWrongBearer() async throws {
        try sandbox.seed(secret: SecretSeed(type: .bearer, secret: "sk_right_secret_value"))
        let uri = "/sandboxes/\(sandbox.id)/providers/internal/v1/loyalty/points?user_id=alice"
        #expect(try await call(.get, uri, headers: [.authorization: "Bearer sk_wrong_secret_value"]).0 == 401)
        #expect(try await call(.get, uri, headers: [.authorization: "Bearer sk_right_secret_value"]).0 == 404) // no fixture accounts here
    }

    @Test func unknownSandboxIsA404ThatSaysSo() async throws {
        let (status, _, _) = try await call(.get, "/sandboxes/nope/providers/google/calendar/v3/calendars/primary/events")
        #expect(status == 404)
    }

    @Test func controlAPICreatesSeedsAndDeletesASandbox() async throws {
        let (created, sandboxJSON, _) = try await call(.post, "/_vaultsim/sandboxes", body: #"{"name":"dev"}"#)
        #expect(created == 201)
        let id = try #require(sandboxJSON["id"]?.stringValue)
        #expect(sandboxJSON["api_key"]?.stringValue?.hasPrefix("alter_key_") == true)

        let (seeded, grant, _) = try await call(.post, "/_vaultsim/sandboxes/\(id)/grants",
                                                body: #"{"provider":"google","account":"a@example.com","scopes":["x"]}"#)
        #expect(seeded == 201)
        #expect(grant["provider_id"] == "google")
        #expect(try registry.sandbox(id: id)?.store.grant(id: grant["grant_id"]?.stringValue ?? "")?.accountIdentifier == "a@example.com")

        let (badSeed, error, _) = try await call(.post, "/_vaultsim/sandboxes/\(id)/grants", body: #"{"provider":"myspace"}"#)
        #expect(badSeed == 400)
        #expect(error["detail"]?["error"] == "unknown_provider")

        let (advanced, clock, _) = try await call(.post, "/_vaultsim/sandboxes/\(id)/clock/advance", body: #"{"seconds":7200}"#)
        #expect(advanced == 200)
        #expect(clock["offset_seconds"] == 7200)

        #expect(try await call(.delete, "/_vaultsim/sandboxes/\(id)").0 == 200)
        #expect(registry.sandbox(id: id) == nil)
        #expect(try await call(.get, "/_vaultsim/sandboxes/\(id)").0 == 404)
    }
}
