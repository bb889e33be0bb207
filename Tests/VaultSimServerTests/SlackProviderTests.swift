import Foundation
import Testing
import VaultSimCore
@testable import VaultSimProviders

/// The fake Slack called directly: OAuth v2 with token rotation, and the Web API's refusals as
/// HTTP 200 `{"ok": false, "error": ...}` bodies.
struct SlackProviderTests {
    static let redirectURI = "http://127.0.0.1/cb"
    static let fixturesRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fixtures")
    static let formHeaders = ["content-type": "application/x-www-form-urlencoded"]
    /// The public channels of the fixture workspace, in fixture order.
    static let publicChannels = ["C0VSGEN001", "C0VSRANDOM", "C0VSENGINE", "C0VSDEPLOY", "C0VSSUPPRT", "C0VSOLDPRJ"]

    struct Answer {
        var status: Int
        var headers: [String: String]
        var json: JSONValue
        var text: String
    }

    let registry: SandboxRegistry
    let sandbox: Sandbox
    let provider: SlackProvider
    let clientID: String
    let clientSecret: String
    let account: ProviderAccount

    init() throws {
        let fixtures = try FixtureLibrary(root: Self.fixturesRoot)
        let registry = SandboxRegistry()
        let sandbox = try registry.create(name: "t")
        try ProviderDirectory(fixtures: fixtures).prepare(sandbox, redirectURI: Self.redirectURI)
        let provider = SlackProvider(fixtures: fixtures)
        let config = try #require(try sandbox.store.providerConfig(id: "slack"))
        self.registry = registry
        self.sandbox = sandbox
        self.provider = provider
        self.clientID = try #require(config.clientID)
        self.clientSecret = try #require(config.clientSecret)
        self.account = try ProviderStore(sandbox).ensure(account: provider.account(login: "alice", displayName: nil))
    }

    // MARK: helpers

    static func form(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    func send(_ path: String, query: String = "", headers: [String: String] = [:], body: String = "") async throws -> Answer {
        try await send("POST", path, query: query, headers: headers, body: body)
    }

    func send(_ method: String, _ path: String, query: String = "", headers: [String: String] = [:],
              body: String = "") async throws -> Answer {
        let call = ProviderCall(method: method, host: "slack.com", caller: .vault, path: path, fullPath: path, rawQuery: query,
                                headers: headers, body: Data(body.utf8))
        let response = try await provider.respond(to: call, in: sandbox)
        return Answer(status: response.status, headers: response.headers, json: JSONValue.parse(response.body) ?? .null,
                      text: String(decoding: response.body, as: UTF8.self))
    }

    func code(scopes: [String]) throws -> String {
        try provider.authorizationServer(sandbox)
            .authorize(.init(clientID: clientID, redirectURI: Self.redirectURI, scopes: scopes, accountID: account.id)).code
    }

    func exchange(_ code: String, clientID: String? = nil, secret: String? = nil,
                  redirectURI: String = SlackProviderTests.redirectURI) async throws -> Answer {
        try await send("/api/oauth.v2.access", headers: Self.formHeaders, body: Self.form([
            ("grant_type", "authorization_code"), ("code", code), ("redirect_uri", redirectURI),
            ("client_id", clientID ?? self.clientID), ("client_secret", secret ?? clientSecret),
        ]))
    }

    func refresh(_ token: String) async throws -> Answer {
        try await send("/api/oauth.v2.access", headers: Self.formHeaders, body: Self.form([
            ("grant_type", "refresh_token"), ("refresh_token", token), ("client_id", clientID), ("client_secret", clientSecret),
        ]))
    }

    /// Installs the app for alice with these scopes; returns the access and refresh tokens.
    func install(scopes: [String] = ["chat:write", "channels:read", "channels:history"]) async throws -> (access: String, refresh: String) {
        let answer = try await exchange(try code(scopes: scopes))
        let access = try #require(answer.json["access_token"]?.stringValue)
        let refresh = try #require(answer.json["refresh_token"]?.stringValue)
        return (access, refresh)
    }

    /// A Web API call with a JSON body (`charset=utf-8`, as Slack wants it).
    func post(_ method: String, token: String?, _ body: JSONValue, contentType: String = "application/json; charset=utf-8") async throws -> Answer {
        var headers = ["content-type": contentType]
        if let token { headers["authorization"] = "Bearer \(token)" }
        return try await send("/api/\(method)", headers: headers, body: body.jsonText)
    }

    func get(_ method: String, token: String?, _ query: [(String, String)] = []) async throws -> Answer {
        var headers: [String: String] = [:]
        if let token { headers["authorization"] = "Bearer \(token)" }
        return try await send("GET", "/api/\(method)", query: Self.form(query), headers: headers)
    }

    /// HTTP 200, Slack's content type, `ok: false` and this error.
    func expectRefusal(_ answer: Answer, _ error: String, sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(answer.status == 200, sourceLocation: sourceLocation)
        #expect(answer.headers["content-type"] == "application/json; charset=utf-8", sourceLocation: sourceLocation)
        #expect(answer.json["ok"] == false, sourceLocation: sourceLocation)
        #expect(answer.json["error"]?.stringValue == error, sourceLocation: sourceLocation)
    }

    static func isSlackTimestamp(_ ts: String) -> Bool {
        let parts = ts.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 2 && !parts[0].isEmpty && parts[1].count == 6
            && parts.allSatisfy { $0.allSatisfy { $0.isASCII && $0.isNumber } }
    }

    // MARK: oauth.v2.access

    @Test func codeExchangeAnswersSlacksInstallShape() async throws {
        let answer = try await exchange(try code(scopes: ["chat:write", "channels:read"]))
        #expect(answer.status == 200)
        #expect(answer.headers["content-type"] == "application/json; charset=utf-8")
        let json = answer.json
        #expect(json["ok"] == true)
        #expect(json["app_id"] == "A0VAULTSIM")
        #expect(json["authed_user"]?["id"]?.stringValue == "U0VSALICE1")
        #expect(json["scope"] == "chat:write,channels:read")
        #expect(json["token_type"] == "bot")
        #expect(json["access_token"]?.stringValue?.hasPrefix("xoxb-") == true)
        #expect(json["bot_user_id"]?.stringValue?.hasPrefix("U0BOT") == true)
        #expect(json["team"]?["id"] == "T0VAULTSIM")
        #expect(json["team"]?["name"] == "VaultSim Workspace")
        #expect(json["enterprise"]?.isNull == true)
        #expect(json["is_enterprise_install"] == false)
        #expect(json["refresh_token"]?.stringValue?.hasPrefix("xoxe-1-") == true)
        let expiresIn = try #require(json["expires_in"]?.intValue)
        #expect((43_199...43_200).contains(expiresIn))
    }

    @Test func aReusedCodeIsInvalidCodeAndRevokesWhatItIssued() async throws {
        let authCode = try self.code(scopes: ["chat:write"])
        let first = try await exchange(authCode)
        let access = try #require(first.json["access_token"]?.stringValue)
        #expect(try await get("auth.test", token: access).json["ok"] == true)
        expectRefusal(try await exchange(authCode), "invalid_code")
        expectRefusal(try await get("auth.test", token: access), "invalid_auth")
    }

    @Test func clientAuthenticationFailuresUseSlacksCodes() async throws {
        expectRefusal(try await exchange(try code(scopes: ["chat:write"]), secret: "not-the-secret"), "bad_client_secret")
        expectRefusal(try await exchange(try code(scopes: ["chat:write"]), clientID: "1234.5678"), "invalid_client_id")
        expectRefusal(try await exchange(try code(scopes: ["chat:write"]), redirectURI: "http://127.0.0.1/other"), "bad_redirect_uri")
        expectRefusal(try await send("/api/oauth.v2.access", headers: Self.formHeaders,
                                     body: Self.form([("grant_type", "password"), ("client_id", clientID), ("client_secret", clientSecret)])),
                      "invalid_grant_type")
        // HTTP Basic client authentication works as well as body arguments.
        let basic = Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        let answer = try await send("/api/oauth.v2.access", headers: Self.formHeaders.merging(["authorization": "Basic \(basic)"]) { $1 },
                                    body: Self.form([("code", try code(scopes: ["chat:write"])), ("redirect_uri", Self.redirectURI)]))
        #expect(answer.json["ok"] == true)
    }

    @Test func refreshRotatesAndReuseRevokesTheFamily() async throws {
        let first = try await install()
        let rotated = try await refresh(first.refresh)
        #expect(rotated.status == 200)
        #expect(rotated.json["ok"] == true)
        let newAccess = try #require(rotated.json["access_token"]?.stringValue)
        let newRefresh = try #require(rotated.json["refresh_token"]?.stringValue)
        #expect(newAccess != first.access && newAccess.hasPrefix("xoxb-"))
        #expect(newRefresh != first.refresh && newRefresh.hasPrefix("xoxe-1-"))
        #expect(rotated.json["expires_in"]?.intValue != nil)
        #expect(try await get("auth.test", token: newAccess).json["ok"] == true)

        // Reusing the rotated refresh token revokes the whole family.
        expectRefusal(try await refresh(first.refresh), "invalid_refresh_token")
        expectRefusal(try await get("auth.test", token: newAccess), "invalid_auth")
        expectRefusal(try await get("auth.test", token: first.access), "invalid_auth")
        expectRefusal(try await refresh(newRefresh), "invalid_refresh_token")
    }

    @Test func anExpiredAccessTokenIsTokenExpiredUntilRefreshed() async throws {
        let tokens = try await install()
        sandbox.clock.advance(by: 43_201)
        expectRefusal(try await get("auth.test", token: tokens.access), "token_expired")
        let rotated = try await refresh(tokens.refresh)
        let access = try #require(rotated.json["access_token"]?.stringValue)
        #expect(try await get("auth.test", token: access).json["ok"] == true)
    }

    // MARK: auth.test and auth.revoke

    @Test func authTestNamesTheWorkspaceAndTheUser() async throws {
        let tokens = try await install()
        let answer = try await send("/api/auth.test", headers: ["authorization": "Bearer \(tokens.access)"])
        #expect(answer.status == 200)
        #expect(answer.json["ok"] == true)
        #expect(answer.json["url"] == "https://vaultsim.slack.com/")
        #expect(answer.json["team"] == "VaultSim Workspace")
        #expect(answer.json["user"] == "alice")
        #expect(answer.json["team_id"] == "T0VAULTSIM")
        #expect(answer.json["user_id"] == "U0VSALICE1")
        #expect(answer.json["bot_id"]?.stringValue?.hasPrefix("B0") == true)
        #expect(answer.json["is_enterprise_install"] == false)
        // The token may come as a form field; in a JSON body Slack ignores it.
        let viaForm = try await send("/api/auth.test", headers: Self.formHeaders, body: Self.form([("token", tokens.access)]))
        #expect(viaForm.json["ok"] == true)
        expectRefusal(try await post("auth.test", token: nil, ["token": .string(tokens.access)]), "not_authed")
        expectRefusal(try await send("/api/auth.test"), "not_authed")
        expectRefusal(try await get("auth.test", token: "xoxb-not-a-token"), "invalid_auth")
    }

    @Test func authRevokeInTestModeKeepsTheTokenAndOtherwiseRevokesIt() async throws {
        let tokens = try await install()
        let test = try await get("auth.revoke", token: tokens.access, [("test", "1")])
        #expect(test.json["ok"] == true)
        #expect(test.json["revoked"] == false)
        #expect(try await get("auth.test", token: tokens.access).json["ok"] == true)
        let revoked = try await get("auth.revoke", token: tokens.access)
        #expect(revoked.json["ok"] == true)
        #expect(revoked.json["revoked"] == true)
        expectRefusal(try await get("auth.test", token: tokens.access), "invalid_auth")
        expectRefusal(try await refresh(tokens.refresh), "invalid_refresh_token")
    }

    // MARK: chat.postMessage

    @Test func postMessageByChannelNameAnswersTheChannelIDAndATimestamp() async throws {
        let tokens = try await install()
        let first = try await post("chat.postMessage", token: tokens.access, ["channel": "#general", "text": "Hello from the vault"])
        #expect(first.status == 200)
        #expect(first.headers["content-type"] == "application/json; charset=utf-8")
        #expect(first.json["ok"] == true)
        #expect(first.json["channel"] == "C0VSGEN001")
        let ts = try #require(first.json["ts"]?.stringValue)
        #expect(Self.isSlackTimestamp(ts))
        #expect(first.json["message"]?["ts"]?.stringValue == ts)
        #expect(first.json["message"]?["text"] == "Hello from the vault")
        #expect(first.json["message"]?["type"] == "message")
        #expect(first.json["message"]?["user"] == "U0BOTVSIM1")
        #expect(first.json["message"]?["team"] == "T0VAULTSIM")
        #expect(first.json["warning"]?.stringValue == nil)

        let second = try await post("chat.postMessage", token: tokens.access, ["channel": "general", "text": "Second"])
        let ts2 = try #require(second.json["ts"]?.stringValue)
        let firstTime = try #require(Double(ts))
        let secondTime = try #require(Double(ts2))
        #expect(secondTime > firstTime)

        let history = try await get("conversations.history", token: tokens.access, [("channel", "C0VSGEN001"), ("limit", "2")])
        #expect(history.json["ok"] == true)
        let texts = (history.json["messages"]?.arrayValue ?? []).compactMap { $0["text"]?.stringValue }
        #expect(texts == ["Second", "Hello from the vault"])
        #expect(history.json["has_more"] == true)
    }

    @Test func postMessageRefusalsAreHTTP200WithOkFalse() async throws {
        let tokens = try await install()
        expectRefusal(try await post("chat.postMessage", token: tokens.access, ["channel": "#no-such-channel", "text": "hi"]), "channel_not_found")
        expectRefusal(try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSDEPLOY", "text": "hi"]), "not_in_channel")
        expectRefusal(try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSHRPRIV", "text": "hi"]), "channel_not_found")
        expectRefusal(try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSOLDPRJ", "text": "hi"]), "is_archived")
        expectRefusal(try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSGEN001"]), "no_text")
        expectRefusal(try await post("chat.postMessage", token: "xoxb-forged", ["channel": "C0VSGEN001", "text": "hi"]), "invalid_auth")
        expectRefusal(try await post("chat.postMessage", token: nil, ["channel": "C0VSGEN001", "text": "hi"]), "not_authed")

        let readOnly = try await install(scopes: ["channels:read"])
        let missing = try await post("chat.postMessage", token: readOnly.access, ["channel": "C0VSGEN001", "text": "hi"])
        expectRefusal(missing, "missing_scope")
        #expect(missing.json["needed"] == "chat:write")
        #expect(missing.json["provided"] == "channels:read")
    }

    @Test func aJSONBodyWithoutCharsetIsWarnedAbout() async throws {
        let tokens = try await install()
        let answer = try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSGEN001", "text": "hi"],
                                    contentType: "application/json")
        #expect(answer.json["ok"] == true)
        #expect(answer.json["warning"] == "missing_charset")
        #expect(answer.json["response_metadata"]?["warnings"]?.arrayValue?.compactMap(\.stringValue) == ["missing_charset"])
    }

    // MARK: conversations.list

    @Test func conversationsListPagesThroughPublicChannelsWithCursors() async throws {
        let tokens = try await install()
        var ids: [String] = []
        var cursor = ""
        var pages = 0
        repeat {
            var query = [("limit", "2")]
            if !cursor.isEmpty { query.append(("cursor", cursor)) }
            let answer = try await get("conversations.list", token: tokens.access, query)
            #expect(answer.json["ok"] == true)
            let channels = answer.json["channels"]?.arrayValue ?? []
            #expect(channels.count <= 2)
            #expect(channels.allSatisfy { $0["is_channel"] == true && $0["is_private"] == false })
            ids += channels.compactMap { $0["id"]?.stringValue }
            cursor = answer.json["response_metadata"]?["next_cursor"]?.stringValue ?? ""
            pages += 1
        } while !cursor.isEmpty && pages < 10
        #expect(ids == Self.publicChannels)
        #expect(pages == 3)

        let active = try await get("conversations.list", token: tokens.access, [("exclude_archived", "true")])
        #expect((active.json["channels"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == Array(Self.publicChannels.dropLast()))
        #expect(active.json["response_metadata"]?["next_cursor"] == "")

        let general = try #require(active.json["channels"]?.arrayValue?.first)
        #expect(general["name"] == "general")
        #expect(general["is_member"] == true)
        #expect(general["topic"]?["value"] == "Company-wide announcements")
        #expect(general["num_members"] == 3)

        let missing = try await get("conversations.list", token: tokens.access, [("types", "public_channel,private_channel")])
        expectRefusal(missing, "missing_scope")
        #expect(missing.json["needed"] == "groups:read")

        let both = try await install(scopes: ["channels:read", "groups:read"])
        let all = try await get("conversations.list", token: both.access, [("types", "public_channel,private_channel")])
        let allIDs = (all.json["channels"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue }
        #expect(allIDs.contains("C0VSLEADER"))
        #expect(!allIDs.contains("C0VSHRPRIV"))
    }

    @Test func badListArgumentsAreRefusedWithoutCrashing() async throws {
        let tokens = try await install()
        let list = { (query: [(String, String)]) in try await self.get("conversations.list", token: tokens.access, query) }
        expectRefusal(try await list([("cursor", "!!!not base64!!!")]), "invalid_cursor")
        expectRefusal(try await list([("cursor", Data("team:CNOSUCH".utf8).base64EncodedString())]), "invalid_cursor")
        expectRefusal(try await list([("cursor", Data("user:C0VSGEN001".utf8).base64EncodedString())]), "invalid_cursor")
        expectRefusal(try await list([("cursor", "A")]), "invalid_cursor")
        expectRefusal(try await list([("limit", "abc")]), "invalid_limit")
        expectRefusal(try await list([("limit", "99999999999999999999999")]), "invalid_limit")
        expectRefusal(try await list([("types", "public_channel,nonsense")]), "invalid_types")

        let negative = try await list([("limit", "-5")])
        #expect(negative.json["ok"] == true)
        #expect(negative.json["channels"]?.arrayValue?.count == 1)
        #expect(negative.json["response_metadata"]?["next_cursor"] != "")

        let huge = try await list([("limit", String(Int.max))])
        #expect(huge.json["ok"] == true)
        #expect(huge.json["channels"]?.arrayValue?.count == Self.publicChannels.count)

        // A cursor Slack-style: base64 of `team:<id>` names where the next page starts.
        let fromCursor = try await list([("cursor", Data("team:C0VSSUPPRT".utf8).base64EncodedString())])
        #expect((fromCursor.json["channels"]?.arrayValue ?? []).compactMap { $0["id"]?.stringValue } == ["C0VSSUPPRT", "C0VSOLDPRJ"])
    }

    // MARK: rate limits, unknown methods, authorize page, accounts

    @Test func theRateLimitKnobAnswers429WithRetryAfter() async throws {
        let tokens = try await install()
        sandbox.overrideData(provider: "slack", with: ["ratelimited": ["chat.postMessage": true]])
        let limited = try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSGEN001", "text": "hi"])
        #expect(limited.status == 429)
        #expect(limited.headers["retry-after"] == "30")
        #expect(limited.json["ok"] == false)
        #expect(limited.json["error"] == "ratelimited")
        #expect(try await get("conversations.list", token: tokens.access).json["ok"] == true)

        sandbox.overrideData(provider: "slack", with: ["ratelimited": ["chat.postMessage": false]])
        #expect(try await post("chat.postMessage", token: tokens.access, ["channel": "C0VSGEN001", "text": "hi"]).status == 200)
    }

    @Test func unknownMethodsAre404UnknownMethod() async throws {
        let answer = try await get("users.fly", token: nil)
        #expect(answer.status == 404)
        #expect(answer.json["ok"] == false)
        #expect(answer.json["error"] == "unknown_method")
        #expect(answer.json["req_method"] == "users.fly")
    }

    @Test func theAuthorizePageChecksTheRequestAndEscapesWhatItEchoes() async throws {
        let page = { (fields: [(String, String)]) in try await self.send("GET", "/oauth/v2/authorize", query: Self.form(fields)) }
        let bad = try await page([("client_id", clientID), ("scope", "chat:write"), ("redirect_uri", "https://evil.example/<script>")])
        #expect(bad.status == 400)
        #expect(bad.text.contains("bad_redirect_uri"))
        #expect(!bad.text.contains("<script>"))
        #expect(bad.text.contains("&lt;script&gt;"))
        let unknown = try await page([("client_id", "nope"), ("scope", "chat:write"), ("redirect_uri", Self.redirectURI)])
        #expect(unknown.text.contains("invalid_client_id"))
        let good = try await page([("client_id", clientID), ("scope", "chat:write,channels:read"), ("redirect_uri", Self.redirectURI)])
        #expect(good.status == 200)
    }

    @Test func accountsComeFromTheFixturesOrGetStableGeneratedIDs() {
        let alice = provider.account(login: "alice", displayName: nil)
        #expect(alice.id == "U0VSALICE1")
        #expect(alice.email == "alice@example.com")
        #expect(alice.team == "VaultSim Workspace")
        let zed = provider.account(login: "zed", displayName: "Zed Z")
        #expect(zed.id == provider.account(login: "zed", displayName: nil).id)
        #expect(zed.id != provider.account(login: "zoe", displayName: nil).id)
        #expect(zed.id.count == 11 && zed.id.hasPrefix("U0"))
        #expect(zed.id.allSatisfy { $0.isASCII && ($0.isUppercase || $0.isNumber) })
        #expect(zed.email == "zed@example.com")
        #expect(zed.name == "Zed Z")
        #expect(provider.account(login: "zoe@corp.example", displayName: nil).email == "zoe@corp.example")
    }
}
