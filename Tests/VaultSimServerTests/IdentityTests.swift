import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// The identity plane in-process: `/sdk/auth/session`, `/sdk/auth/poll`, `/sdk/auth/verify-token`,
/// the sign-in page, the user tokens, and identity mode at `/sdk/token`.
struct IdentityTests {
    let vault: TestVault
    var sandbox: Sandbox { vault.sandbox }
    let alice = IdentityUser(name: "alice", sub: "user-123", email: "alice@example.com", displayName: "Alice")
    let bob = IdentityUser(name: "bob", sub: "user-456")

    init() async throws { vault = try await TestVault.make() }

    func post(_ path: String, _ body: String) async throws -> (Int, JSONValue) {
        let (status, json, _) = try await vault.send(.post, path, headers: SDKRoutesTests.signed(path, body: body, apiKey: sandbox.apiKey), body: body)
        return (status, json)
    }

    func page(_ method: HTTPRequest.Method, _ uri: String, form: String? = nil) async throws -> (status: Int, text: String) {
        let headers: HTTPFields = form == nil ? [:] : [.contentType: "application/x-www-form-urlencoded"]
        return try await vault.server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: form.map { ByteBuffer(string: $0) }) { response in
                (Int(response.status.code), String(buffer: response.body))
            }
        }
    }

    @Test func anAppWithoutAnIdentityProviderRefusesSignInsAndTokens() async throws {
        let (status, json) = try await post("/sdk/auth/session", "{}")
        #expect(status == 400)
        #expect(json["detail"]?["error"] == "idp_not_configured")
        #expect(json["detail"]?["message"]?.stringValue?.hasPrefix("No identity provider is configured for this app") == true)
        let verify = try await post("/sdk/auth/verify-token", #"{"token":"x"}"#)
        #expect(verify.0 == 400)
    }

    @Test func aSignInGoesFromPendingToCompletedThroughTheSignInPage() async throws {
        sandbox.identity.configure(users: [alice, bob])
        let (status, created) = try await post("/sdk/auth/session", "{}")
        #expect(status == 201)
        let token = try #require(created["session_token"]?.stringValue)
        let authURL = try #require(created["auth_url"]?.stringValue)
        #expect(created["expires_in"] == 600)
        #expect(created["expires_at"]?.stringValue?.hasSuffix("Z") == true)
        let pollBody = #"{"session_token":"\#(token)"}"#
        #expect(try await post("/sdk/auth/poll", pollBody).1 == ["status": "pending"])

        let path = String(authURL.dropFirst(vault.server.address.baseURL.count))
        let shown = try await page(.get, path)
        #expect(shown.status == 200)
        #expect(shown.text.contains(#"value="alice" checked"#) && shown.text.contains(#"value="bob""#))
        let pageToken = String(path.split(separator: "=").last ?? "")
        let action = String(path.split(separator: "?").first ?? "")
        let nobody = try await page(.post, action, form: "page=\(pageToken)&decision=sign_in&user=mallory")
        #expect(nobody.status == 400 && nobody.text.contains("Choose who signs in."))
        let signed = try await page(.post, action, form: "page=\(pageToken)&decision=sign_in&user=bob")
        #expect(signed.status == 200 && signed.text.contains(#"<strong id="signed-in-as">bob</strong>"#))

        let (_, done) = try await post("/sdk/auth/poll", pollBody)
        #expect(done["status"] == "completed")
        #expect(done["user_info"] == ["sub": "user-456"])
        let userToken = try #require(done["user_token"]?.stringValue)
        let verified = try await post("/sdk/auth/verify-token", #"{"token":"\#(userToken)"}"#)
        #expect(verified.0 == 200 && verified.1 == ["sub": "user-456"])
        // A finished sign-in cannot be signed in again.
        let again = try await page(.post, action, form: "page=\(pageToken)&decision=sign_in&user=alice")
        #expect(!again.text.contains("<form"))
        #expect(try await post("/sdk/auth/poll", pollBody).1["user_info"] == ["sub": "user-456"])
    }

    @Test func aCancelledSignInIsAnErrorAndAnAbandonedOneExpiresOnTheClock() async throws {
        sandbox.identity.configure(users: [alice])
        let cancelled = sandbox.identity.open(at: sandbox.clock.now)
        let action = "\(ProviderRoutes.mountPrefix)/\(sandbox.id)/idp/sign-in"
        _ = try await page(.post, action, form: "page=\(cancelled.pageToken)&decision=cancel")
        #expect(try await post("/sdk/auth/poll", #"{"session_token":"\#(cancelled.sessionToken)"}"#).1
            == ["status": "error", "error_message": "The user cancelled the sign-in"])

        let abandoned = sandbox.identity.open(at: sandbox.clock.now)
        _ = sandbox.clock.advance(by: 601)
        #expect(try await post("/sdk/auth/poll", #"{"session_token":"\#(abandoned.sessionToken)"}"#).1 == ["status": "expired"])
        #expect(try await page(.get, "\(action)?page=\(abandoned.pageToken)").status == 410)
        #expect(try await post("/sdk/auth/poll", #"{"session_token":"nope"}"#).0 == 404)
        #expect(try await page(.get, "\(action)?page=nope").status == 404)
    }

    @Test func userTokensVerifyOnlyInTheirSandboxAndUntilTheyExpire() async throws {
        sandbox.identity.configure(users: [alice], tokenLifetime: 60)
        let token = vault.server.userToken(for: alice, in: sandbox)
        #expect(try await post("/sdk/auth/verify-token", #"{"token":"\#(token)"}"#).1 == ["sub": "user-123"])
        let other = try await TestVault.make()
        other.sandbox.identity.configure(users: [alice])
        let elsewhere = try await other.send(.post, "/sdk/auth/verify-token",
                                             headers: SDKRoutesTests.signed("/sdk/auth/verify-token", body: #"{"token":"\#(token)"}"#, apiKey: other.sandbox.apiKey),
                                             body: #"{"token":"\#(token)"}"#)
        #expect(elsewhere.0 == 401)
        _ = sandbox.clock.advance(by: 61)
        let expired = try await post("/sdk/auth/verify-token", #"{"token":"\#(token)"}"#)
        #expect(expired.0 == 401)
        #expect(expired.1["detail"]?["message"]?.stringValue?.hasPrefix("Invalid user token: the token expired at") == true)
    }

    @Test func verificationIsTotalOnAnyText() {
        let key = "alter_key_" + String(repeating: "a", count: 40)
        for text in ["", ".", "..", "a.b.c", "a.b.c.d", "====.====.====", "eyJhbGciOiJub25lIn0.e30.", "\u{0}.\u{FFFF}.💥", "-_-.-_-.-_-",
                     "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.AAAA", String(repeating: "A", count: 10_000)] {
            if case .success = UserToken.verify(text, issuer: "i", audience: "a", apiKey: key, at: Date()) {
                Issue.record("'\(text.prefix(20))' verified")
            }
        }
        let user = IdentityUser(name: "u", sub: "s")
        let token = UserToken.mint(user: user, issuer: "i", audience: "a", apiKey: key, at: Date(), lifetime: 60)
        #expect(UserToken.verify(token, issuer: "i", audience: "a", apiKey: key, at: Date()) == .success("s"))
        #expect(UserToken.verify(token, issuer: "j", audience: "a", apiKey: key, at: Date()) == .failure(.wrongIssuer))
        #expect(UserToken.verify(token, issuer: "i", audience: "b", apiKey: key, at: Date()) == .failure(.wrongAudience))
        #expect(UserToken.verify(token + "x", issuer: "i", audience: "a", apiKey: key, at: Date()) != .success("s"))
    }

    @Test func identityModeResolvesTheGrantOfThePersonTheTokenNames() async throws {
        sandbox.identity.configure(users: [alice, bob])
        var seed = GrantSeed(provider: "google", account: "alice@example.com", scopes: ["s"])
        seed.userSub = alice.sub
        let alicesGrant = try await vault.seed(seed)
        seed.account = "bob@example.com"
        seed.userSub = bob.sub
        let bobsGrant = try await vault.seed(seed)
        func token(_ user: IdentityUser, account: String? = nil, provider: String = "google") async throws -> (Int, JSONValue) {
            let accountPart = account.map { #","account":"\#($0)""# } ?? ""
            return try await post("/sdk/token", #"{"provider_id":"\#(provider)","user_token":"\#(vault.server.userToken(for: user, in: sandbox))","reason":null,"request":{"method":"GET","url":"https://x"}\#(accountPart)}"#)
        }
        #expect(try await token(alice).1["grant_id"] == .string(alicesGrant.id))
        #expect(try await token(bob).1["grant_id"] == .string(bobsGrant.id))
        #expect(try await token(bob, account: "bob@example.com").1["grant_id"] == .string(bobsGrant.id))
        let wrongAccount = try await token(bob, account: "alice@example.com")
        #expect(wrongAccount.0 == 404 && wrongAccount.1["detail"]?["error"] == "grant_not_found")
        #expect(try await token(alice, provider: "slack").0 == 404)
        let forged = try await post("/sdk/token", #"{"provider_id":"google","user_token":"a.b.c","reason":null,"request":{"method":"GET","url":"https://x"}}"#)
        #expect(forged.0 == 401 && forged.1["detail"]?["error"] == "invalid_user_token")
        let outcomes = try sandbox.store.tokenRequests().map(\.outcome)
        #expect(outcomes == ["issued", "issued", "issued", "grant_not_found", "grant_not_found", "invalid_user_token"])
        #expect(try sandbox.store.grant(id: bobsGrant.id)?.json["user_sub"] == "user-456")
    }
}
