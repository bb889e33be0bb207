import Foundation
import Testing
import VaultSimCore
@testable import VaultSimProviders

/// The fake GitHub: its token endpoint's formats and HTTP 200 errors, PKCE, code replay,
/// refresh-token rotation, the REST API's rate-limit headers and pagination, and revocation.
struct GitHubProviderTests {
    let registry: SandboxRegistry
    let sandbox: Sandbox
    let provider: GitHubProvider
    let account: ProviderAccount
    let clientID: String
    let clientSecret: String
    let redirectURI = "http://127.0.0.1/cb"
    let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk-vaultsim"

    init() throws {
        let registry = SandboxRegistry()
        let sandbox = try registry.create(name: "t")
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent().appendingPathComponent("Fixtures")
        let fixtures = try FixtureLibrary(root: root)
        try ProviderDirectory(fixtures: fixtures).prepare(sandbox, redirectURI: "http://127.0.0.1/cb")
        let provider = GitHubProvider(fixtures: fixtures)
        let config = try sandbox.store.providerConfig(id: "github")!
        self.registry = registry
        self.sandbox = sandbox
        self.provider = provider
        self.account = try ProviderStore(sandbox).ensure(account: provider.account(login: "alice", displayName: nil))
        self.clientID = config.clientID!
        self.clientSecret = config.clientSecret!
    }

    // MARK: helpers

    func authorize(scopes: [String] = ["repo", "user"]) throws -> String {
        try provider.authorizationServer(sandbox).authorize(.init(
            clientID: clientID, redirectURI: redirectURI, scopes: scopes, accountID: account.id,
            codeChallenge: AuthorizationServer.s256(verifier), codeChallengeMethod: "S256")).code
    }

    func send(_ method: String, _ host: String, _ path: String, query: String = "", headers: [String: String] = [:],
              body: String = "") async throws -> ProviderResponse {
        try await provider.respond(
            to: ProviderCall(method: method, host: host, path: path, fullPath: path, rawQuery: query, headers: headers,
                             body: Data(body.utf8)),
            in: sandbox)
    }

    func tokenRequest(_ fields: [(String, String)], accept: String? = "application/json") async throws -> ProviderResponse {
        var headers = ["content-type": "application/x-www-form-urlencoded"]
        if let accept { headers["accept"] = accept }
        return try await send("POST", "github.com", "/login/oauth/access_token", headers: headers, body: Self.form(fields))
    }

    func exchange(_ code: String, verifier: String?, accept: String? = "application/json") async throws -> ProviderResponse {
        var fields = [("client_id", clientID), ("client_secret", clientSecret), ("code", code), ("redirect_uri", redirectURI)]
        if let verifier { fields.append(("code_verifier", verifier)) }
        return try await tokenRequest(fields, accept: accept)
    }

    func refresh(_ token: String) async throws -> ProviderResponse {
        try await tokenRequest([("client_id", clientID), ("client_secret", clientSecret), ("grant_type", "refresh_token"),
                                ("refresh_token", token)])
    }

    /// A code exchanged with the right verifier: the access and refresh tokens.
    func tokens(scopes: [String] = ["repo", "user"]) async throws -> (access: String, refresh: String) {
        let code = try authorize(scopes: scopes)
        let body = json(try await exchange(code, verifier: verifier))
        return (try #require(body["access_token"]?.stringValue), try #require(body["refresh_token"]?.stringValue))
    }

    func user(_ token: String, scheme: String = "Bearer") async throws -> ProviderResponse {
        try await send("GET", "api.github.com", "/user", headers: ["authorization": "\(scheme) \(token)"])
    }

    func repos(_ token: String, query: String = "") async throws -> ProviderResponse {
        try await send("GET", "api.github.com", "/user/repos", query: query, headers: ["authorization": "Bearer \(token)"])
    }

    func json(_ response: ProviderResponse) -> JSONValue { JSONValue.parse(response.body) ?? .null }

    func formFields(_ response: ProviderResponse) -> [String: String] {
        QueryString.decode(String(decoding: response.body, as: UTF8.self))
    }

    static func form(_ fields: [(String, String)]) -> String {
        let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-._~"))
        return fields.map { "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)" }.joined(separator: "&")
    }

    // MARK: token endpoint

    @Test func tokenEndpointAnswersFormEncodedByDefault() async throws {
        let code = try authorize()
        let response = try await exchange(code, verifier: verifier, accept: nil)
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("application/x-www-form-urlencoded") == true)
        let text = String(decoding: response.body, as: UTF8.self)
        #expect(text.contains("scope=repo%2Cuser"))
        #expect(text.hasSuffix("token_type=bearer"))
        let fields = formFields(response)
        #expect(fields["access_token"]?.hasPrefix("ghu_") == true)
        #expect(fields["refresh_token"]?.hasPrefix("ghr_") == true)
        #expect(fields["expires_in"] == "28800")
        #expect(fields["refresh_token_expires_in"] == "15897600")
        #expect(fields["scope"] == "repo,user")
        #expect(fields["token_type"] == "bearer")
    }

    @Test func tokenEndpointAnswersJSONWhenAskedAndReadsAJSONBody() async throws {
        let code = try authorize()
        let request: JSONValue = [
            "client_id": .string(clientID), "client_secret": .string(clientSecret), "code": .string(code),
            "redirect_uri": .string(redirectURI), "code_verifier": .string(verifier),
        ]
        let response = try await send("POST", "github.com", "/login/oauth/access_token",
                                      headers: ["content-type": "application/json", "accept": "application/json"],
                                      body: request.jsonText)
        #expect(response.status == 200)
        #expect(response.headers["content-type"]?.hasPrefix("application/json") == true)
        let body = json(response)
        #expect(body["access_token"]?.stringValue?.hasPrefix("ghu_") == true)
        #expect(body["refresh_token"]?.stringValue?.hasPrefix("ghr_") == true)
        #expect(body["expires_in"]?.intValue == 28800)
        #expect(body["refresh_token_expires_in"]?.intValue == 15_897_600)
        #expect(body["scope"] == "repo,user")
        #expect(body["token_type"] == "bearer")
    }

    @Test func aMissingOrWrongPKCEVerifierIsABadVerificationCodeWithHTTP200() async throws {
        let code = try authorize()
        for wrong in [nil, "a-verifier-that-does-not-match-the-challenge-at-all"] as [String?] {
            let response = try await exchange(code, verifier: wrong)
            #expect(response.status == 200)
            let body = json(response)
            #expect(body["error"] == "bad_verification_code")
            #expect(body["error_description"] == "The code passed is incorrect or expired.")
            #expect(body["error_uri"]?.stringValue?.hasSuffix("#bad-verification-code") == true)
            #expect(body["access_token"]?.stringValue == nil)
        }
        // The same refusal, form-encoded when JSON is not asked for.
        let form = try await exchange(code, verifier: nil, accept: nil)
        #expect(form.status == 200)
        #expect(formFields(form)["error"] == "bad_verification_code")
    }

    @Test func aReplayedCodeIsRefusedAndRevokesTheTokensItIssued() async throws {
        let code = try authorize()
        let first = json(try await exchange(code, verifier: verifier))
        let access = try #require(first["access_token"]?.stringValue)
        let refreshToken = try #require(first["refresh_token"]?.stringValue)
        #expect(try await user(access).status == 200)

        let replay = try await exchange(code, verifier: verifier)
        #expect(replay.status == 200)
        #expect(json(replay)["error"] == "bad_verification_code")

        let after = try await user(access)
        #expect(after.status == 401)
        #expect(json(after)["message"] == "Bad credentials")
        #expect(json(try await refresh(refreshToken))["error"] == "bad_refresh_token")
    }

    @Test func refreshRotatesAndReusingARotatedRefreshTokenRevokesTheFamily() async throws {
        let (_, firstRefresh) = try await tokens()
        let rotated = json(try await refresh(firstRefresh))
        let newAccess = try #require(rotated["access_token"]?.stringValue)
        let newRefresh = try #require(rotated["refresh_token"]?.stringValue)
        #expect(newAccess.hasPrefix("ghu_"))
        #expect(newRefresh.hasPrefix("ghr_"))
        #expect(newRefresh != firstRefresh)
        #expect(rotated["expires_in"]?.intValue == 28800)
        #expect(rotated["scope"] == "repo,user")
        #expect(try await user(newAccess).status == 200)

        let reuse = json(try await refresh(firstRefresh))
        #expect(reuse["error"] == "bad_refresh_token")
        #expect(reuse["error_uri"]?.stringValue?.hasSuffix("#bad-refresh-token") == true)
        // The whole family is gone: the refresh token handed out by the rotation and its access token.
        #expect(json(try await refresh(newRefresh))["error"] == "bad_refresh_token")
        #expect(try await user(newAccess).status == 401)
    }

    @Test func wrongClientCredentialsAndUnknownGrantTypesAreRefusedWithHTTP200() async throws {
        let code = try authorize()
        let wrongSecret = try await tokenRequest(
            [("client_id", clientID), ("client_secret", "wrong"), ("code", code), ("redirect_uri", redirectURI),
             ("code_verifier", verifier)], accept: nil)
        #expect(wrongSecret.status == 200)
        #expect(formFields(wrongSecret)["error"] == "incorrect_client_credentials")
        #expect(formFields(wrongSecret)["error_uri"]
            == "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#incorrect-client-credentials")

        let wrongRedirect = try await tokenRequest(
            [("client_id", clientID), ("client_secret", clientSecret), ("code", code), ("redirect_uri", "http://127.0.0.1/other"),
             ("code_verifier", verifier)])
        #expect(json(wrongRedirect)["error"] == "redirect_uri_mismatch")

        let password = try await tokenRequest([("client_id", clientID), ("client_secret", clientSecret), ("grant_type", "password")])
        #expect(json(password)["error"] == "unsupported_grant_type")
    }

    // MARK: REST API

    @Test func userAnswersGitHubsShapeWithRateLimitAndScopeHeaders() async throws {
        let (access, _) = try await tokens()
        let first = try await user(access)
        #expect(first.status == 200)
        let body = json(first)
        #expect(body["login"] == "alice")
        #expect(body["id"]?.intValue == 5_832_317)
        #expect(body["node_id"] == "MDQ6VXNlcjU4MzIzMTc=")
        #expect(body["type"] == "User")
        #expect(body["name"] == "Alice Liddell")
        #expect(body["html_url"] == "https://github.com/alice")
        #expect(body["public_repos"]?.intValue == 30)
        #expect(body["total_private_repos"]?.intValue == 8)
        #expect(first.headers["content-type"] == "application/json; charset=utf-8")
        #expect(first.headers["x-ratelimit-limit"] == "5000")
        #expect(first.headers["x-ratelimit-remaining"] == "4999")
        #expect(first.headers["x-ratelimit-used"] == "1")
        #expect(first.headers["x-ratelimit-resource"] == "core")
        #expect(first.headers["x-oauth-scopes"] == "repo, user")
        #expect(first.headers["x-github-api-version-selected"] == "2022-11-28")
        let reset = try #require(first.headers["x-ratelimit-reset"].flatMap { Int($0) })
        #expect(abs(reset - (Int(sandbox.clock.now.timeIntervalSince1970) + 3600)) <= 5)

        let second = try await user(access, scheme: "token")
        #expect(second.status == 200)
        #expect(second.headers["x-ratelimit-remaining"] == "4998")
        #expect(second.headers["x-ratelimit-used"] == "2")
        #expect(second.headers["x-ratelimit-reset"] == String(reset))
    }

    @Test func userWithoutATokenRequiresAuthenticationAndAnUnknownTokenIsBadCredentials() async throws {
        let anonymous = try await send("GET", "api.github.com", "/user")
        #expect(anonymous.status == 401)
        #expect(json(anonymous)["message"] == "Requires authentication")
        #expect(anonymous.headers["x-ratelimit-limit"] == "60")

        let unknown = try await user("ghu_not_a_token_github_issued")
        #expect(unknown.status == 401)
        #expect(json(unknown) == ["message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"])
    }

    @Test func userReposPaginatesWithGitHubsLinkHeader() async throws {
        let (access, _) = try await tokens()
        let first = try await repos(access)
        #expect(first.status == 200)
        #expect(json(first).arrayValue?.count == 30)
        #expect(first.headers["link"]
            == "<https://api.github.com/user/repos?page=2>; rel=\"next\", <https://api.github.com/user/repos?page=2>; rel=\"last\"")

        let second = try await repos(access, query: "per_page=10&page=2")
        #expect(second.status == 200)
        let items = json(second).arrayValue ?? []
        #expect(items.compactMap { $0["name"]?.stringValue } == [
            "flamingo", "gryphon", "hedgehog", "humpty-dumpty", "jabberwocky", "jubjub-bird", "knave", "lobster-quadrille",
            "looking-glass", "mad-hatter",
        ])
        let base = "https://api.github.com/user/repos?per_page=10&page="
        #expect(second.headers["link"]
            == "<\(base)1>; rel=\"prev\", <\(base)3>; rel=\"next\", <\(base)4>; rel=\"last\", <\(base)1>; rel=\"first\"")
        #expect(items.first?["full_name"] == "alice/flamingo")
        #expect(items.first?["owner"]?["login"] == "alice")
        #expect(items.first?["owner"]?["id"]?.intValue == 5_832_317)

        let last = try await repos(access, query: "per_page=10&page=4")
        #expect(json(last).arrayValue?.count == 8)
        #expect(last.headers["link"] == "<\(base)3>; rel=\"prev\", <\(base)1>; rel=\"first\"")
    }

    @Test func userReposSurvivesGarbagePagingParameters() async throws {
        let (access, _) = try await tokens()
        let firstPage = (json(try await repos(access)).arrayValue ?? []).compactMap { $0["id"]?.intValue }
        #expect(firstPage.count == 30)
        for query in ["page=-3", "per_page=abc", "page=abc&per_page=-1", "page=0&per_page=0", "page=99999999999999999999999"] {
            let response = try await repos(access, query: query)
            #expect(response.status == 200, "\(query)")
            #expect((json(response).arrayValue ?? []).compactMap { $0["id"]?.intValue } == firstPage, "\(query)")
        }
        let beyond = try await repos(access, query: "page=\(Int.max)&per_page=100")
        #expect(beyond.status == 200)
        #expect(json(beyond).arrayValue?.count == 0)
        #expect(json(try await repos(access, query: "per_page=1000")).arrayValue?.count == 38)
    }

    @Test func withoutTheRepoScopeOnlyPublicReposAreListed() async throws {
        let (access, _) = try await tokens(scopes: ["user"])
        let response = try await repos(access, query: "per_page=100")
        let items = json(response).arrayValue ?? []
        #expect(items.count == 30)
        #expect(items.allSatisfy { $0["private"] == false })
        #expect(response.headers["link"] == nil)
        #expect(response.headers["x-oauth-scopes"] == "user")

        let (full, _) = try await tokens()
        #expect(json(try await repos(full, query: "visibility=private")).arrayValue?.count == 8)
    }

    @Test func aPrivateRepositoryIsHiddenFromCallersWithoutAccess() async throws {
        let (access, _) = try await tokens()
        let owned = try await send("GET", "api.github.com", "/repos/alice/knave", headers: ["authorization": "token \(access)"])
        #expect(owned.status == 200)
        #expect(json(owned)["private"] == true)
        #expect(json(owned)["permissions"]?["admin"] == true)
        #expect(try await send("GET", "api.github.com", "/repos/alice/knave").status == 404)
        #expect(try await send("GET", "api.github.com", "/repos/alice/flamingo").status == 200)
    }

    @Test func unknownPathsAnswerGitHubsNotFound() async throws {
        let response = try await send("GET", "api.github.com", "/nothing/here")
        #expect(response.status == 404)
        #expect(json(response) == ["message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"])
    }

    // MARK: revocation

    @Test func deletingTheGrantRevokesEveryTokenOfTheAccountForTheApp() async throws {
        let (access, refreshToken) = try await tokens()
        let (otherAccess, _) = try await tokens()
        let path = "/applications/\(clientID)/grant"
        let body = #"{"access_token":"\#(access)"}"#
        let basic = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        let wrong = "Basic " + Data("\(clientID):not-the-secret".utf8).base64EncodedString()

        let refused = try await send("DELETE", "api.github.com", path, headers: ["authorization": wrong], body: body)
        #expect(refused.status == 404)
        #expect(json(refused)["message"] == "Not Found")
        #expect(try await user(access).status == 200)

        let unknown = try await send("DELETE", "api.github.com", path, headers: ["authorization": basic],
                                     body: #"{"access_token":"ghu_never_issued"}"#)
        #expect(unknown.status == 422)
        #expect(json(unknown)["message"] == "Validation Failed")

        let revoked = try await send("DELETE", "api.github.com", path,
                                     headers: ["authorization": basic, "content-type": "application/json"], body: body)
        #expect(revoked.status == 204)
        #expect(revoked.body.isEmpty)
        #expect(try await user(access).status == 401)
        #expect(try await user(otherAccess).status == 401)
        #expect(json(try await refresh(refreshToken))["error"] == "bad_refresh_token")
    }

    @Test func deletingOneTokenRevokesOnlyThatToken() async throws {
        let (access, refreshToken) = try await tokens()
        let basic = "Basic " + Data("\(clientID):\(clientSecret)".utf8).base64EncodedString()
        let revoked = try await send("DELETE", "api.github.com", "/applications/\(clientID)/token",
                                     headers: ["authorization": basic], body: #"{"access_token":"\#(access)"}"#)
        #expect(revoked.status == 204)
        #expect(try await user(access).status == 401)
        #expect(json(try await refresh(refreshToken))["access_token"]?.stringValue?.hasPrefix("ghu_") == true)
    }

    // MARK: accounts and the authorization page

    @Test func accountsComeFromFixturesOrGetStableGeneratedIDs() {
        let alice = provider.account(login: "alice", displayName: nil)
        #expect(alice.id == "5832317")
        #expect(alice.name == "Alice Liddell")
        #expect(alice.email == "alice@example.com")
        let zed = provider.account(login: "zed", displayName: "Zed")
        #expect(zed.id == provider.account(login: "zed", displayName: nil).id)
        #expect(Int(zed.id) != nil)
        #expect(zed.email == "\(zed.id)+zed@users.noreply.github.com")
        #expect(zed.name == "Zed")
    }

    @Test func authorizePageValidatesAndEscapesWhatItEchoes() async throws {
        let hostile = try await send("GET", "github.com", "/login/oauth/authorize",
                                     query: "client_id=%3Cscript%3Ealert(1)%3C%2Fscript%3E&scope=repo")
        let html = String(decoding: hostile.body, as: UTF8.self)
        #expect(hostile.status == 400)
        #expect(!html.contains("<script>"))
        #expect(html.contains("&lt;script&gt;"))

        let valid = try await send("GET", "github.com", "/login/oauth/authorize",
                                   query: "client_id=\(clientID)&redirect_uri=http%3A%2F%2F127.0.0.1%2Fcb&scope=repo%20user")
        #expect(valid.status == 200)
    }
}
