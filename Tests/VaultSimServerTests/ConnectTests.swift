import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// Connect sessions (E5, E6), the hosted pages and the providers' consent pages, in-process.
struct ConnectTests {
    let vault: TestVault
    var sandbox: Sandbox { vault.sandbox }

    init() async throws { vault = try await TestVault.make() }

    func post(_ path: String, _ body: String) async throws -> (Int, JSONValue) {
        let (status, json, _) = try await vault.send(.post, path, headers: SDKRoutesTests.signed(path, body: body, apiKey: sandbox.apiKey), body: body)
        return (status, json)
    }

    /// A page: status, body text and the Location header.
    func page(_ method: HTTPRequest.Method, _ uri: String, form: String? = nil) async throws -> (status: Int, text: String, location: String?) {
        let headers: HTTPFields = form == nil ? [:] : [.contentType: "application/x-www-form-urlencoded"]
        return try await vault.server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
                (Int(response.status.code), String(buffer: response.body), response.headers[.location])
            }
        }
    }

    /// The path and query of a gateway URL (what the in-process client takes).
    func local(_ url: String) -> String {
        String(url.dropFirst(vault.server.address.baseURL.count))
    }

    // MARK: E5 and E6

    @Test func aSessionAnswersItsTokenURLAndLifetime() async throws {
        // Frozen, so the expected expiry is the session's to the second however slow the machine.
        sandbox.clock.freeze(true)
        let (status, json) = try await post("/sdk/oauth/connect/session",
                                            #"{"allowed_providers":["google"],"return_url":null,"allowed_origin":null,"metadata":null}"#)
        #expect(status == 200)
        let token = try #require(json["session_token"]?.stringValue)
        #expect(json["connect_url"]?.stringValue == "\(vault.server.address.baseURL)/sandboxes/\(sandbox.id)/connect/\(token)")
        #expect(json["expires_in"] == 600)
        #expect(json["expires_at"]?.stringValue == sandbox.clock.now.addingTimeInterval(600).rfc3339)
        let polled = try await post("/sdk/oauth/connect/session/poll", #"{"session_token":"\#(token)"}"#)
        #expect(polled.0 == 200)
        #expect(polled.1 == ["status": "pending"])
        #expect(sandbox.clock.advance(by: 601))
        #expect(try await post("/sdk/oauth/connect/session/poll", #"{"session_token":"\#(token)"}"#).1 == ["status": "expired"])
    }

    @Test(arguments: [
        (#"{"allowed_providers":["google"],"required_scopes":{"google":["https://mail.google.com/"]}}"#, 400, "scope_not_allowed"),
        (#"{"allowed_providers":["myspace"]}"#, 400, "invalid_provider"),
        (#"{"allowed_providers":[]}"#, 400, "invalid_request"),
        (#"{"allowed_origin":"https://app.example.com/path"}"#, 400, "invalid_request"),
        (#"{"return_url":"javascript:alert(1)"}"#, 400, "invalid_request"),
        (#"{"grant_policy":{"max_ttl_seconds":3600,"default_ttl_seconds":7200}}"#, 400, "invalid_request"),
        (#"{"grant_policy":{"max_ttl_seconds":1e300}}"#, 422, "invalid_body"),
        (#"{"grant_policy":{"ttl":5}}"#, 422, "invalid_body"),
        (#"{"allowed_providers":"google"}"#, 422, "invalid_body"),
        (#"{"required_scopes":{"google":"openid"}}"#, 422, "invalid_body"),
    ])
    func badSessionRequestsAreRefusedWithTheirReason(body: String, status: Int, code: String) async throws {
        let (answered, json) = try await post("/sdk/oauth/connect/session", body)
        #expect(answered == status)
        #expect(json["detail"]?["error"]?.stringValue == code)
        #expect(try sandbox.store.connectSessions().isEmpty)
    }

    @Test func pollingAnUnknownSessionIsA404() async throws {
        let (status, json) = try await post("/sdk/oauth/connect/session/poll", #"{"session_token":"cs_nope"}"#)
        #expect(status == 404)
        #expect(json["detail"]?["error"] == "session_not_found")
    }

    // MARK: hosted pages and consent

    /// Opens the hosted page, chooses Google and returns the consent page's path.
    func openConsent(_ request: ConnectService.SessionRequest) async throws -> (token: String, consent: String) {
        let session = try ConnectService(credentials: vault.server.credentials(sandbox)).create(request)
        let path = ConnectPages.sessionPath(sandboxID: sandbox.id, token: session.token)
        let chooser = try await page(.get, path)
        #expect(chooser.status == 200)
        #expect(chooser.text.contains(#"id="provider-google""#))
        let started = try await page(.post, path + "/start", form: "provider=google")
        #expect(started.status == 303)
        let location = try #require(started.location)
        #expect(location.hasPrefix("\(vault.server.address.baseURL)/sandboxes/\(sandbox.id)/hosts/accounts.google.com/o/oauth2/v2/auth?"))
        return (session.token, local(location))
    }

    @Test func theConsentPageListsAccountsAndScopesAndEscapesThem() async throws {
        try vault.server.addAccount(provider: "google", login: "alice@example.com", displayName: "Alice <script>alert(1)</script>", in: sandbox)
        try vault.server.addAccount(provider: "google", login: "bob@example.com", displayName: nil, in: sandbox)
        let (_, consent) = try await openConsent(.init(allowedProviders: ["google"], requiredScopes: ["google": ["openid", "email"]]))
        let shown = try await page(.get, consent)
        #expect(shown.status == 200)
        #expect(shown.text.contains(#"value="alice@example.com""#) && shown.text.contains(#"value="bob@example.com""#))
        #expect(shown.text.contains(#"name="grant_scope" value="openid""#) && shown.text.contains(#"name="grant_scope" value="email""#))
        #expect(!shown.text.contains(#"value="profile""#))
        #expect(shown.text.contains(">Allow</button>") && shown.text.contains(">Cancel</button>"))
        #expect(!shown.text.contains("<script>alert(1)"))
        #expect(shown.text.contains("Alice &lt;script&gt;alert(1)&lt;/script&gt;"))
    }

    @Test func cancelRedirectsWithAccessDeniedAndTheSessionReportsIt() async throws {
        try vault.server.addAccount(provider: "google", login: "alice@example.com", displayName: nil, in: sandbox)
        let (token, consent) = try await openConsent(.init(allowedProviders: ["google"]))
        let query = String(consent.drop { $0 != "?" }.dropFirst())
        let cancelled = try await page(.post, consent.split(separator: "?")[0].description, form: query + "&decision=cancel")
        #expect(cancelled.status == 302)
        let location = try #require(cancelled.location)
        #expect(location.hasPrefix(vault.server.callbackURL + "?error=access_denied&state=\(sandbox.id)."))
        let back = try await page(.get, local(location))
        #expect(back.text.contains("Access was not granted"))
        let session = try ConnectService(credentials: vault.server.credentials(sandbox)).session(token: token)
        #expect(session.status == .error)
        #expect(session.errorCode == "connect_denied")
        // The same answer again: the state is spent.
        #expect(try await page(.get, local(location)).status == 400)
    }

    @Test func approvingWithFewerScopesMakesAGrantWithThoseAndNoneIsRefused() async throws {
        try vault.server.addAccount(provider: "google", login: "alice@example.com", displayName: nil, in: sandbox)
        let (token, consent) = try await openConsent(.init(allowedProviders: ["google"]))
        let base = consent.split(separator: "?")[0].description
        let query = String(consent.drop { $0 != "?" }.dropFirst())
        let none = try await page(.post, base, form: query + "&account=alice%40example.com&decision=allow")
        #expect(none.status == 400)
        #expect(none.text.contains("Select at least one permission"))
        let approved = try await page(.post, base, form: query + "&account=alice%40example.com&grant_scope=openid&grant_scope=email&decision=allow")
        #expect(approved.status == 302)
        let done = try await page(.get, local(try #require(approved.location)))
        #expect(done.status == 200)
        #expect(done.text.contains("You&#39;re all set"))
        let session = try ConnectService(credentials: vault.server.credentials(sandbox)).session(token: token)
        #expect(session.status == .completed)
        #expect(session.results.map(\.scopes) == [["openid", "email"]])
        #expect(session.results.first?.accountIdentifier == "alice@example.com")
    }

    @Test func theControlAPIListsSessionsWithTheirPagesAndOutcome() async throws {
        let connect = ConnectService(credentials: vault.server.credentials(sandbox))
        let first = try connect.create(.init(allowedProviders: ["google"]))
        let second = try connect.create(.init(allowedProviders: ["slack", "github"]))
        #expect(sandbox.clock.advance(by: 1))
        let (status, json, _) = try await vault.send(.get, "/_vaultsim/sandboxes/\(sandbox.id)/connect-sessions")
        #expect(status == 200)
        let sessions = try #require(json["sessions"]?.arrayValue)
        #expect(sessions.map { $0["session_token"]?.stringValue } == [second.token, first.token])
        #expect(sessions.first?["connect_url"]?.stringValue == ConnectPages.sessionURL(serverURL: vault.server.address.baseURL,
                                                                                        sandboxID: sandbox.id, token: second.token))
        #expect(sessions.first?["allowed_providers"] == ["slack", "github"])
        #expect(sessions.first?["status"] == "pending")
        #expect(sandbox.clock.advance(by: 600))
        let later = try await vault.send(.get, "/_vaultsim/sandboxes/\(sandbox.id)/connect-sessions")
        #expect(later.1["sessions"]?.arrayValue?.map { $0["status"] } == ["expired", "expired"])
    }

    @Test func anExpiredSessionsPageSaysSo() async throws {
        let session = try ConnectService(credentials: vault.server.credentials(sandbox)).create(.init(allowedProviders: ["github"]))
        #expect(sandbox.clock.advance(by: 700))
        let shown = try await page(.get, ConnectPages.sessionPath(sandboxID: sandbox.id, token: session.token))
        #expect(shown.status == 410)
        #expect(shown.text.contains("This Connect session has expired"))
        let start = try await page(.post, ConnectPages.sessionPath(sandboxID: sandbox.id, token: session.token) + "/start", form: "provider=github")
        #expect(start.status == 410)
    }
}
