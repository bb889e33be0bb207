import Foundation
import Testing
import VaultSimCore
@testable import VaultSimProviders

/// Google's authorization server refuses what the real one refuses, each with Google's body:
/// PKCE, single-use and short-lived codes (a replay revokes what the code issued), exact
/// redirect URIs, client authentication, no scope widening on refresh; and its resource APIs
/// refuse a token Google revoked.
struct GoogleOAuthTests {
    let sandbox: Sandbox
    let provider: GoogleProvider
    let account: ProviderAccount
    let clientID: String
    let clientSecret: String
    let redirectURI = "http://127.0.0.1:9/connect/callback"
    let verifier = "google-pkce-verifier-0123456789-0123456789-0123456789"
    static let calendar = "https://www.googleapis.com/auth/calendar.readonly"

    init() throws {
        sandbox = try SandboxRegistry().create(name: "google")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
        let fixtures = try FixtureLibrary(root: root)
        try ProviderDirectory(fixtures: fixtures).prepare(sandbox, redirectURI: redirectURI)
        provider = GoogleProvider(fixtures: fixtures)
        account = try ProviderStore(sandbox).ensure(account: provider.account(login: "alice@example.com", displayName: "Alice"))
        let config = try #require(try sandbox.store.providerConfig(id: "google"))
        clientID = try #require(config.clientID)
        clientSecret = try #require(config.clientSecret)
    }

    func code(scopes: [String] = [calendar], pkce: Bool = true) throws -> String {
        try provider.authorizationServer(sandbox).authorize(.init(
            clientID: clientID, redirectURI: redirectURI, scopes: scopes, accountID: account.id,
            codeChallenge: pkce ? AuthorizationServer.s256(verifier) : nil, codeChallengeMethod: pkce ? "S256" : nil)).code
    }

    func send(_ method: String, _ host: String, _ path: String, query: String = "", headers: [String: String] = [:],
              form: [(String, String)] = []) async throws -> (status: Int, json: JSONValue) {
        let body = OutboundRequest.form("https://x", form).body
        let response = try await provider.respond(
            to: ProviderCall(method: method, host: host, caller: .vault, path: path, fullPath: path, rawQuery: query,
                             headers: headers.merging(["content-type": "application/x-www-form-urlencoded"]) { a, _ in a }, body: body),
            in: sandbox)
        return (response.status, JSONValue.parse(response.body) ?? .null)
    }

    func token(_ fields: [(String, String)], secret: String? = nil) async throws -> (status: Int, json: JSONValue) {
        try await send("POST", "oauth2.googleapis.com", "/token",
                       form: fields + [("client_id", clientID), ("client_secret", secret ?? clientSecret)])
    }

    func exchange(_ code: String, redirect: String? = nil, verifier: String?? = .none) async throws -> (status: Int, json: JSONValue) {
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirect ?? redirectURI)]
        switch verifier {
        case .none: fields.append(("code_verifier", self.verifier))
        case .some(.some(let value)): fields.append(("code_verifier", value))
        case .some(.none): break
        }
        return try await token(fields)
    }

    func calendarStatus(_ accessToken: String) async throws -> Int {
        try await send("GET", "www.googleapis.com", "/calendar/v3/calendars/primary/events",
                       headers: ["authorization": "Bearer \(accessToken)"]).status
    }

    @Test func aCodeExchangeAnswersGooglesShape() async throws {
        let (status, json) = try await exchange(try code())
        #expect(status == 200)
        #expect(json["access_token"]?.stringValue?.hasPrefix("ya29.") == true)
        #expect(json["refresh_token"]?.stringValue?.hasPrefix("1//") == true)
        #expect(json["expires_in"] == 3599)
        #expect(json["scope"] == .string(Self.calendar))
        #expect(json["token_type"] == "Bearer")
        #expect(try await calendarStatus(try #require(json["access_token"]?.stringValue)) == 200)
    }

    @Test func pkceIsEnforced() async throws {
        let missing = try await exchange(try code(), verifier: .some(nil))
        #expect(missing.status == 400)
        #expect(missing.json["error"] == "invalid_grant")
        let wrong = try await exchange(try code(), verifier: "not-the-verifier-0123456789-0123456789-01234")
        #expect(wrong.status == 400)
        #expect(wrong.json["error"] == "invalid_grant")
        let plain = #expect(throws: OAuthFailure.self) {
            try provider.authorizationServer(sandbox).authorize(.init(
                clientID: clientID, redirectURI: redirectURI, scopes: [Self.calendar], accountID: account.id,
                codeChallenge: verifier, codeChallengeMethod: "plain"))
        }
        #expect(plain?.code == .invalidRequest)
    }

    @Test func aCodeWorksOnceAndAReplayRevokesWhatItIssued() async throws {
        let value = try code()
        let first = try await exchange(value)
        let access = try #require(first.json["access_token"]?.stringValue)
        #expect(try await calendarStatus(access) == 200)
        let replay = try await exchange(value)
        #expect(replay.status == 400)
        #expect(replay.json["error"] == "invalid_grant")
        #expect(try await calendarStatus(access) == 401)
        let refresh = try await token([("grant_type", "refresh_token"), ("refresh_token", try #require(first.json["refresh_token"]?.stringValue))])
        #expect(refresh.json["error"] == "invalid_grant")
    }

    @Test func aCodeExpiresOnTheSandboxClock() async throws {
        let value = try code()
        sandbox.clock.advance(by: 601)
        let answer = try await exchange(value)
        #expect(answer.status == 400)
        #expect(answer.json["error"] == "invalid_grant")
    }

    @Test func theRedirectURIMustMatchExactly() async throws {
        let answer = try await exchange(try code(), redirect: redirectURI + "/")
        #expect(answer.status == 400)
        #expect(answer.json["error"] == "redirect_uri_mismatch")
        let unregistered = #expect(throws: OAuthFailure.self) {
            try provider.authorizationServer(sandbox).authorize(.init(
                clientID: clientID, redirectURI: "https://evil.example/cb", scopes: [Self.calendar], accountID: account.id))
        }
        #expect(unregistered?.code == .redirectURIMismatch)
    }

    @Test func theClientMustAuthenticate() async throws {
        let wrongSecret = try await token([("grant_type", "authorization_code"), ("code", try code()), ("redirect_uri", redirectURI),
                                           ("code_verifier", verifier)], secret: "GOCSPX-wrong")
        #expect(wrongSecret.status == 401)
        #expect(wrongSecret.json["error"] == "invalid_client")
        let noClient = try await send("POST", "oauth2.googleapis.com", "/token", form: [("grant_type", "refresh_token"), ("refresh_token", "x")])
        #expect(noClient.status == 401)
        #expect(noClient.json["error"] == "invalid_client")
    }

    @Test func aRefreshMayNarrowButNotWidenScopes() async throws {
        let issued = try await exchange(try code(scopes: [Self.calendar, "email"]))
        let refreshToken = try #require(issued.json["refresh_token"]?.stringValue)
        let narrower = try await token([("grant_type", "refresh_token"), ("refresh_token", refreshToken), ("scope", "email")])
        #expect(narrower.status == 200)
        #expect(narrower.json["scope"] == "email")
        #expect(narrower.json["refresh_token"] == nil) // Google does not rotate
        let wider = try await token([("grant_type", "refresh_token"), ("refresh_token", refreshToken),
                                     ("scope", "email https://www.googleapis.com/auth/gmail.readonly")])
        #expect(wider.status == 400)
        #expect(wider.json["error"] == "invalid_scope")
    }

    @Test func reusingARotatedRefreshTokenRevokesTheFamily() async throws {
        let store = ProviderStore(sandbox)
        var client = try #require(try store.client(providerID: "google", clientID: clientID))
        client.rotateRefreshTokens = true
        try store.save(client: client)
        let issued = try await exchange(try code())
        let first = try #require(issued.json["refresh_token"]?.stringValue)
        let rotated = try await token([("grant_type", "refresh_token"), ("refresh_token", first)])
        let second = try #require(rotated.json["access_token"]?.stringValue)
        #expect(try await calendarStatus(second) == 200)
        let reuse = try await token([("grant_type", "refresh_token"), ("refresh_token", first)])
        #expect(reuse.json["error"] == "invalid_grant")
        #expect(try await calendarStatus(second) == 401)
    }

    @Test func theUserRevokingTheAppStopsEveryTokenAtOnce() async throws {
        let issued = try await exchange(try code())
        let access = try #require(issued.json["access_token"]?.stringValue)
        #expect(try provider.authorizationServer(sandbox).revokeAccess(accountID: account.id, clientID: clientID) == 2)
        #expect(try await calendarStatus(access) == 401)
        let userinfo = try await send("GET", "openidconnect.googleapis.com", "/v1/userinfo", headers: ["authorization": "Bearer \(access)"])
        #expect(userinfo.status == 401)
    }

    @Test func revokeAndUserinfoAnswerLikeGoogle() async throws {
        let issued = try await exchange(try code(scopes: ["openid", "email"]))
        let access = try #require(issued.json["access_token"]?.stringValue)
        let me = try await send("GET", "openidconnect.googleapis.com", "/v1/userinfo", headers: ["authorization": "Bearer \(access)"])
        #expect(me.json["email"] == "alice@example.com")
        #expect(me.json["sub"] == .string(account.id))
        #expect(try await send("POST", "oauth2.googleapis.com", "/revoke", form: [("token", access)]).status == 200)
        let again = try await send("POST", "oauth2.googleapis.com", "/revoke", form: [("token", "never-issued")])
        #expect(again.status == 400)
        #expect(again.json["error"] == "invalid_token")
    }
}
