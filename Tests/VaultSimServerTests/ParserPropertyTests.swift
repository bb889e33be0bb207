import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import PropertyBased
import Testing
import VaultSimCore
@testable import VaultSimProviders
@testable import VaultSimServer

/// Hostile input for the parsers of the providers and the server (the same shapes as
/// `VaultSimCoreTests.HostileInput`: near-misses of what they split on, and raw bytes).
enum Hostile {
    static let fragments: [String] = [
        "=", "&", "==", "&&", "=&", "%", "%2", "%ZZ", "%C3", "%C3%28", "%FF", "+", " ", ",", ";", ":", "/", "//", ".", "..", "a", "x=y",
        "é", "💥", "\u{0}", "-1", "99999999999999999999", "1e309", "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=",
        "/aws4_request", "Basic ", "Bearer ", "token ", "Og==", "=====", "T", "Z", "+01:00", "2026-", "12-", "07", ".000200",
    ]
    static let nearMiss = Gen<Int>.int(in: 0...(fragments.count - 1)).map { fragments[$0] }.array(of: 0...20).map { $0.joined() }
    static let bytes = Gen<UInt8>.value(in: 0...255).array(of: 0...200)
}

struct ProviderParserPropertyTests {
    @Test func providerCallAccessorsAreTotal() async {
        await propertyCheck(count: 2000, input: Hostile.nearMiss, Hostile.bytes) { text, body in
            for contentType in ["application/json", "application/x-www-form-urlencoded"] {
                let call = ProviderCall(method: "POST", host: "slack.com", path: "/" + text, fullPath: "/" + text, rawQuery: text,
                                        headers: ["authorization": text, "content-type": contentType], body: Data(body))
                _ = call.segments
                _ = call.query
                _ = call.form
                _ = call.parameters
                _ = call.json
                _ = call.basicCredentials
                _ = call.bearerToken
            }
        }
    }

    @Test func sigV4ParsingIsTotal() async {
        await propertyCheck(count: 2000, input: Hostile.nearMiss) { text in
            _ = SigV4Verifier.parseAuthorization("AWS4-HMAC-SHA256 " + text)
            _ = SigV4Verifier.canonicalQuery(text)
            _ = SigV4Verifier.canonicalURI(text)
            #expect(throws: SigV4Verifier.Failure.self) {
                try SigV4Verifier.verify(method: "GET", rawPath: text, rawQuery: text,
                                         headers: ["authorization": "AWS4-HMAC-SHA256 " + text, "x-amz-date": text, text: text],
                                         body: Data(text.utf8), secretKey: "secret")
            }
        }
        #expect(SigV4Verifier.canonicalQuery("b=2&a=1&=&a") == "=&a=&a=1&b=2")
    }

    @Test func timestampsPagesAndDatesAreTotal() async {
        await propertyCheck(count: 2000, input: Hostile.nearMiss) { text in
            _ = SlackTimestamp.micros(text)
            _ = GooglePaging.maxResults(text, defaultValue: 100, maximum: 500)
            _ = GooglePaging.offset(pageToken: text)
            _ = GoogleCalendar.parseDate(text)
        }
    }

    /// A user token is read from the app's caller: whatever text comes, a sub or a refusal.
    @Test func userTokenVerificationIsTotal() async {
        let key = "alter_key_" + String(repeating: "k", count: 40)
        await propertyCheck(count: 2000, input: Hostile.nearMiss, Hostile.nearMiss) { a, b in
            for text in [a, "\(a).\(b)", "\(a).\(b).\(a)", "eyJhbGciOiJIUzI1NiJ9.\(a).\(b)"] {
                if case .success = UserToken.verify(text, issuer: "i", audience: "a", apiKey: key, at: Date()) {
                    Issue.record("'\(text)' verified as a user token")
                }
            }
        }
    }
}

/// The entry points a lone `=` once crashed the whole server through (an index out of range in
/// the query parser), each sent `=` and its near-misses, then every provider's journal read back
/// through the control API (a journaled `=` once crashed every later read, restarts included).
struct LoneEqualsTests {
    static let queries = ["=", "==", "&=", "=&", "&&", "a&=&b", "%", "%Z", "=%", "+=+", "&"]

    @Test func aLoneEqualsInAnyQueryOrFormIsAnsweredAndJournaled() async throws {
        let vault = try await TestVault.make()
        let id = vault.sandbox.id
        try await vault.seed(GrantSeed(provider: "google", account: "eq@example.com", scopes: ["https://www.googleapis.com/auth/calendar"]))
        let connect = ConnectService(credentials: vault.server.credentials(vault.sandbox))
        let session = try connect.create(.init()).token
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        for raw in Self.queries {
            let targets: [(HTTPRequest.Method, String, HTTPFields, String?)] = [
                (.get, "/connect/callback?\(raw)", [:], nil),
                (.post, "/sandboxes/\(id)/connect/\(session)/start", form, raw),
                (.get, "/sandboxes/\(id)/hosts/accounts.google.com/o/oauth2/v2/auth?\(raw)", [:], nil),
                (.post, "/sandboxes/\(id)/hosts/accounts.google.com/o/oauth2/v2/auth", form, raw),
                (.get, "/sandboxes/\(id)/hosts/slack.com/oauth/v2/authorize?\(raw)", [:], nil),
                (.post, "/sandboxes/\(id)/hosts/slack.com/oauth/v2/authorize", form, raw),
                (.get, "/sandboxes/\(id)/hosts/github.com/login/oauth/authorize?\(raw)", [:], nil),
                (.post, "/sandboxes/\(id)/hosts/github.com/login/oauth/authorize", form, raw),
                (.post, "/sandboxes/\(id)/hosts/oauth2.googleapis.com/token?\(raw)", form, raw),
                (.post, "/sandboxes/\(id)/hosts/slack.com/api/oauth.v2.access?\(raw)", form, raw),
                (.post, "/sandboxes/\(id)/hosts/github.com/login/oauth/access_token?\(raw)", form, raw),
                (.get, "/sandboxes/\(id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events?\(raw)", [:], nil),
                (.get, "/sandboxes/\(id)/hosts/gmail.googleapis.com/gmail/v1/users/me/messages?labelIds=A&\(raw)", [:], nil),
                (.get, "/sandboxes/\(id)/hosts/api.github.com/user/repos?\(raw)&page=2", [:], nil),
                (.get, "/sandboxes/\(id)/hosts/api.internal.com/v1/accounts/a/contacts?\(raw)", [:], nil),
            ]
            for (method, uri, headers, body) in targets {
                let (status, _, _) = try await vault.send(method, uri, headers: headers, body: body)
                #expect(status < 500, "\(method) \(uri) body \(body ?? "-") answered \(status)")
            }
        }
        for provider in ["google", "slack", "github", "internal"] {
            let (status, journal, _) = try await vault.send(.get, "/_vaultsim/sandboxes/\(id)/providers/\(provider)/journal")
            #expect(status == 200, "\(provider) journal: \(status)")
            #expect((journal["requests"]?.arrayValue?.count ?? journal.arrayValue?.count ?? 0) > 0, "\(provider) journal: \(journal)")
        }
    }

    @Test func formsAndQueriesOverTheLimitsAreRefusedBeforeParsing() async throws {
        let vault = try await TestVault.make()
        let id = vault.sandbox.id
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        let manyPairs = String(repeating: "a=b&", count: 2_000)
        let (pairsStatus, _, _) = try await vault.send(.post, "/sandboxes/\(id)/hosts/accounts.google.com/o/oauth2/v2/auth", headers: form,
                                                       body: manyPairs)
        #expect(pairsStatus == 413)
        // The 14 MB consent-page form that once took 28 s and 740 MB: refused at its first MiB.
        let huge = String(repeating: "scope=a&", count: 14 << 17)
        let (hugeStatus, _, _) = try await vault.send(.post, "/sandboxes/\(id)/hosts/accounts.google.com/o/oauth2/v2/auth", headers: form, body: huge)
        #expect(hugeStatus == 413)
        let large = "a=" + String(repeating: "x", count: (1 << 20) + 10)
        let (largeStatus, _, _) = try await vault.send(.post, "/sandboxes/\(id)/hosts/oauth2.googleapis.com/token", headers: form, body: large)
        #expect(largeStatus == 413)
        let (queryStatus, _, _) = try await vault.send(.get, "/sandboxes/\(id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events?"
                                                       + manyPairs)
        #expect(queryStatus == 414)
        // A JSON body of the same size is not a form: it still goes to the provider.
        let (jsonStatus, _, _) = try await vault.send(.post, "/sandboxes/\(id)/hosts/slack.com/api/chat.postMessage",
                                                      headers: [.contentType: "application/json"], body: "{\"text\":\"" + String(repeating: "x", count: 1 << 20) + "\"}")
        #expect(jsonStatus == 200)
    }
}

/// Every HTML page refuses to be framed, so an Allow button cannot be clickjacked.
struct FramingTests {
    @Test func everyKindOfPageRefusesFraming() async throws {
        let vault = try await TestVault.make()
        let id = vault.sandbox.id
        let connect = ConnectService(credentials: vault.server.credentials(vault.sandbox))
        let session = try connect.create(.init()).token
        vault.sandbox.identity.configure(users: [IdentityUser(name: "alice", sub: "user-alice")])
        let signIn = String(VaultSimServer.signInURL(vault.sandbox.identity.open(at: vault.sandbox.clock.now), sandbox: vault.sandbox,
                                                     serverURL: vault.server.address.baseURL).dropFirst(vault.server.address.baseURL.count))
        // The hosted page's Continue leads to Google's consent page.
        let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
        let started = try await vault.server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: "/sandboxes/\(id)/connect/\(session)/start", method: .post, headers: form,
                                     body: ByteBuffer(string: "provider=google")) { $0.headers[.location] ?? "" }
        }
        let consent = String(started.dropFirst(vault.server.address.baseURL.count))
        #expect(consent.contains("/hosts/accounts.google.com/o/oauth2/v2/auth?"), "\(started)")
        let pages = [
            ("hosted Connect page", "/sandboxes/\(id)/connect/\(try connect.create(.init()).token)"),
            ("expired or unknown session page", "/sandboxes/\(id)/connect/cs_nope"),
            ("Google consent page", consent),
            ("a provider's refusal page", "/sandboxes/\(id)/hosts/github.com/login/oauth/authorize"),
            ("the vault's callback page", "/connect/callback?state=nope"),
            ("the identity provider's sign-in page", signIn),
        ]
        for (name, uri) in pages {
            let (_, _, headers) = try await vault.send(.get, uri, headers: [.accept: "text/html"])
            #expect(headers[.contentType]?.hasPrefix("text/html") == true, "\(name) is not HTML: \(headers)")
            #expect(headers[HTTPField.Name("X-Frame-Options")!] == "DENY", "\(name)")
            #expect(headers[.contentSecurityPolicy]?.contains("frame-ancestors 'none'") == true, "\(name)")
        }
        // JSON answers are left as they are.
        let (_, _, json) = try await vault.send(.get, "/_vaultsim/health")
        #expect(json[HTTPField.Name("X-Frame-Options")!] == nil)
    }
}
