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

    init() async throws { vault = try await TestVault.make() }

    func call(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> (Int, JSONValue, HTTPFields) {
        try await vault.send(method, uri, headers: headers, body: body)
    }

    var calendarURI: String { "/sandboxes/\(sandbox.id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events" }

    /// The access token the vault holds for a grant (what the provider's token endpoint returned).
    func accessToken(_ grant: Grant, in sandbox: Sandbox? = nil) throws -> String {
        try #require(try (sandbox ?? self.sandbox).store.credential(grantID: grant.id)).accessToken
    }

    @Test func googleWithoutATokenAnswersGoogles401AndJournalsIt() async throws {
        let (status, json, headers) = try await call(.get, calendarURI + "?maxResults=1")
        #expect(status == 401)
        #expect(json["error"]?["status"] == "UNAUTHENTICATED")
        #expect(headers[.wwwAuthenticate]?.hasPrefix("Bearer realm=") == true)
        let journal = try sandbox.store.providerRequests(providerID: "google")
        #expect(journal.count == 1)
        #expect(journal[0].host == "www.googleapis.com")
        #expect(journal[0].caller == .sdk)
        #expect(journal[0].responseBody.contains("UNAUTHENTICATED"))
        #expect(journal[0].path == "/calendar/v3/calendars/primary/events")
        #expect(journal[0].queryItems == ["maxResults": "1"])
        #expect(journal[0].status == 401)
    }

    @Test func googleRejectsATokenOfAnotherSandbox() async throws {
        let other = try vault.server.createSandbox(name: "other")
        let token = try accessToken(try await vault.seed(GrantSeed(provider: "google", scopes: ["https://www.googleapis.com/auth/calendar"]), in: other), in: other)
        let (status, json, _) = try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"])
        #expect(status == 401)
        #expect(json["error"]?["status"] == "UNAUTHENTICATED")
    }

    @Test func googleRejectsAnExpiredToken() async throws {
        let token = try accessToken(try await vault.seed(GrantSeed(provider: "google", scopes: ["https://www.googleapis.com/auth/calendar"])))
        #expect(try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"]).0 == 200)
        sandbox.clock.advance(by: 3600)
        #expect(try await call(.get, calendarURI, headers: [.authorization: "Bearer \(token)"]).0 == 401)
    }

    @Test func internalAPIRejectsAWrongBearer() async throws {
        try vault.server.seed(secret: SecretSeed(type: .bearer, secret: "sk_right_secret_value"), in: sandbox)
        let uri = "/sandboxes/\(sandbox.id)/hosts/api.internal.com/v1/loyalty/points?user_id=nobody"
        #expect(try await call(.get, uri, headers: [.authorization: "Bearer sk_wrong_secret_value"]).0 == 401)
        #expect(try await call(.get, uri, headers: [.authorization: "Bearer sk_right_secret_value"]).0 == 404) // no such loyalty account
    }

    @Test func unknownSandboxIsA404ThatSaysSo() async throws {
        let (status, _, _) = try await call(.get, "/sandboxes/nope/hosts/www.googleapis.com/calendar/v3/calendars/primary/events")
        #expect(status == 404)
    }

    @Test func aHostNoProviderOwnsIsA502NamingTheFakedHosts() async throws {
        let (status, _, _) = try await call(.get, "/sandboxes/\(sandbox.id)/hosts/example.org/x")
        #expect(status == 502)
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
        let vaultCalls = try #require(registry.sandbox(id: id)).store.providerRequests(providerID: "google", caller: "vault")
        #expect(vaultCalls.map(\.path) == ["/token", "/v1/userinfo"])

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
