import Foundation
import GRDB
import VaultSimCore

/// GitHub as an OAuth app sees it: the authorization server on github.com
/// (`POST /login/oauth/access_token`, form-encoded unless JSON is asked for, errors as HTTP 200,
/// expiring `ghu_` user tokens with rotating `ghr_` refresh tokens, PKCE S256), the app's
/// revocation endpoints on api.github.com (`DELETE /applications/{client_id}/grant|token`) and
/// the REST endpoints of `GitHubAPI`.
struct GitHubProvider: OAuthFakeProvider {
    let descriptor = ProviderCatalog.github
    let fixtures: FixtureLibrary
    let policy = OAuthPolicy(
        providerID: "github", accessTokenLifetime: 28_800, refreshTokenLifetime: 15_897_600, supportsPKCE: true,
        accessTokenPrefix: "ghu_", refreshTokenPrefix: "ghr_", rotatesRefreshTokensByDefault: true)
    /// The fixture users by lower-cased login. `account(login:displayName:)` has no sandbox to
    /// read merged data from, so it reads the fixture file itself.
    private let fixtureUsers: [String: JSONValue]

    init(fixtures: FixtureLibrary) {
        self.fixtures = fixtures
        let file = fixtures.root.appendingPathComponent("providers/github/users.json")
        self.fixtureUsers = GitHubFixtures.users(in: (try? Data(contentsOf: file)).flatMap { JSONValue.parse($0) })
    }

    /// The fixture user with that login, or a made-up one with a stable numeric id derived from
    /// the login and GitHub's no-reply address.
    func account(login: String, displayName: String?) -> ProviderAccount {
        let user = fixtureUsers[login.lowercased()]
        let actualLogin = user?["login"]?.stringValue ?? login
        let id = user?["id"]?.intValue ?? Self.generatedID(login: actualLogin)
        return ProviderAccount(
            providerID: descriptor.id, id: String(id), login: actualLogin,
            email: user?["email"]?.stringValue ?? "\(id)+\(actualLogin)@users.noreply.github.com",
            name: displayName ?? user?["name"]?.stringValue ?? actualLogin)
    }

    /// A GitHub-looking user id (8 digits) from the login, the same on every run (FNV-1a).
    static func generatedID(login: String) -> Int {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in login.lowercased().utf8 {
            hash ^= UInt64(byte)
            hash = hash &* 0x100_0000_01b3
        }
        return 10_000_000 + Int(hash % 90_000_000)
    }

    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse {
        let server = authorizationServer(sandbox)
        if call.host == "github.com" {
            switch (call.method, call.path) {
            case ("POST", "/login/oauth/access_token"): return tokenEndpoint(call, server: server)
            case ("GET", "/login/oauth/authorize"), ("POST", "/login/oauth/authorize"): return authorizePage(call, server: server, sandbox: sandbox)
            default: return .text(404, "Not Found", contentType: "text/html; charset=utf-8")
            }
        }
        let s = call.segments
        if call.method == "DELETE", s.count == 3, s[0] == "applications", s[2] == "grant" || s[2] == "token" {
            return try revoke(call, clientID: s[1], wholeGrant: s[2] == "grant", server: server)
        }
        return try GitHubAPI(fixtures: fixtures, sandbox: sandbox, server: server).respond(to: call)
    }

    // MARK: token endpoint

    /// How the token endpoint answers, from the `Accept` header. (GitHub also answers XML for
    /// `application/xml`; VaultSim answers that form-encoded, see docs/providers.md.)
    enum TokenFormat {
        case form, json

        init(accept: String?) {
            self = (accept?.lowercased() ?? "").contains("application/json") ? .json : .form
        }
    }

    /// `POST github.com/login/oauth/access_token`. Parameters may come in the query string, a
    /// form or a JSON body; client credentials in the parameters or as HTTP Basic.
    private func tokenEndpoint(_ call: ProviderCall, server: AuthorizationServer) -> ProviderResponse {
        var params = call.query
        params.merge(call.parameters) { _, body in body }
        params = params.filter { !$0.value.isEmpty }
        let format = TokenFormat(accept: call.headers["accept"])
        let grantType = params["grant_type"] ?? "authorization_code"
        do {
            let issue = try grantTokens(params, grantType: grantType, basic: call.basicCredentials, server: server)
            return Self.tokenAnswer(issue, format: format)
        } catch {
            return Self.tokenError(error, grantType: grantType, format: format)
        }
    }

    private func grantTokens(_ params: [String: String], grantType: String, basic: (user: String, password: String)?,
                             server: AuthorizationServer) throws(OAuthFailure) -> TokenIssue {
        let client = try server.authenticate(clientID: params["client_id"] ?? basic?.user,
                                             clientSecret: params["client_secret"] ?? basic?.password)
        switch grantType {
        case "authorization_code":
            // GitHub makes redirect_uri optional here; when it is left out the code's own applies.
            let redirectURI = params["redirect_uri"] ?? params["code"].flatMap { registeredRedirectURI(code: $0, server: server) }
            return try server.exchange(code: params["code"], redirectURI: redirectURI, codeVerifier: params["code_verifier"],
                                       client: client)
        case "refresh_token":
            // GitHub takes no scope on refresh: the new token has the original scopes.
            return try server.refresh(token: params["refresh_token"], scopes: nil, client: client)
        default:
            throw OAuthFailure(.unsupportedGrantType, "The grant type is not supported.")
        }
    }

    private func registeredRedirectURI(code: String, server: AuthorizationServer) -> String? {
        let record = try? server.store.writer.read { db in try AuthorizationCodeRecord.fetchOne(db, key: code) }
        return record?.redirectURI
    }

    static func tokenAnswer(_ issue: TokenIssue, format: TokenFormat) -> ProviderResponse {
        var fields: [(String, JSONValue)] = [("access_token", .string(issue.access.token))]
        if let expiry = issue.access.expiresAt {
            fields.append(("expires_in", .number(expiry.timeIntervalSince(issue.access.issuedAt).rounded())))
        }
        if let refresh = issue.refresh {
            fields.append(("refresh_token", .string(refresh.token)))
            if let expiry = refresh.expiresAt {
                fields.append(("refresh_token_expires_in", .number(expiry.timeIntervalSince(refresh.issuedAt).rounded())))
            }
        }
        fields.append(("scope", .string(issue.scopes.joined(separator: ","))))
        fields.append(("token_type", "bearer"))
        return render(fields, format: format)
    }

    /// GitHub's token endpoint errors: HTTP 200 with `error`, `error_description`, `error_uri`.
    static func tokenError(_ failure: OAuthFailure, grantType: String, format: TokenFormat) -> ProviderResponse {
        let mapped: (error: String, description: String) = switch failure.code {
        case .invalidClient: ("incorrect_client_credentials", "The client_id and/or client_secret passed are incorrect.")
        case .redirectURIMismatch: ("redirect_uri_mismatch", "The redirect_uri MUST match the registered callback URL for this application.")
        case .unsupportedGrantType: ("unsupported_grant_type", "The grant type is not supported.")
        case .invalidScope: ("invalid_scope", failure.message)
        case .invalidGrant, .invalidRequest, .unauthorizedClient, .accessDenied:
            grantType == "refresh_token"
                ? ("bad_refresh_token", "The refresh token passed is incorrect or expired.")
                : ("bad_verification_code", "The code passed is incorrect or expired.")
        }
        let uri = "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-oauth-app-access-token-request-errors/#"
            + mapped.error.replacingOccurrences(of: "_", with: "-")
        return render([("error", .string(mapped.error)), ("error_description", .string(mapped.description)),
                       ("error_uri", .string(uri))], format: format)
    }

    private static func render(_ fields: [(String, JSONValue)], format: TokenFormat) -> ProviderResponse {
        let text = { (value: JSONValue) in value.stringValue ?? value.intValue.map { String($0) } ?? value.jsonText }
        switch format {
        case .json:
            let object = JSONObject(fields, uniquingKeysWith: { _, last in last })
            return .json(200, .object(object), headers: ["content-type": "application/json; charset=utf-8"])
        case .form:
            return .form(200, fields.map { ($0.0, text($0.1)) })
        }
    }

    // MARK: revocation

    /// `DELETE /applications/{client_id}/grant` (every token of the account for the app) and
    /// `DELETE /applications/{client_id}/token` (that token), with the app's credentials as
    /// HTTP Basic and `{"access_token": ...}` as the body.
    private func revoke(_ call: ProviderCall, clientID: String, wholeGrant: Bool, server: AuthorizationServer) throws -> ProviderResponse {
        let docs = "https://docs.github.com/rest/apps/oauth-applications#"
            + (wholeGrant ? "delete-an-app-authorization" : "delete-an-app-token")
        // Wrong or missing app credentials: GitHub answers 404, as for anything one may not see.
        guard let basic = call.basicCredentials, basic.user == clientID,
              (try? server.authenticate(clientID: basic.user, clientSecret: basic.password)) != nil
        else { return GitHubErrors.notFound(docs: docs) }
        guard let body = call.json?.objectValue else {
            return GitHubErrors.error(400, "Problems parsing JSON", docs: docs)
        }
        guard let value = body["access_token"]?.stringValue, !value.isEmpty else {
            return GitHubErrors.error(422, "Invalid request.\n\n\"access_token\" wasn't supplied.", docs: docs)
        }
        guard let token = try server.store.token(value, providerID: descriptor.id), token.kind == .access,
              token.clientID == clientID, token.revokedAt == nil
        else {
            return GitHubErrors.validationFailed(docs: docs, field: "access_token")
        }
        if wholeGrant {
            try server.revokeAccess(accountID: token.accountID, clientID: clientID, reason: "client")
        } else {
            let now = server.clock.now
            _ = try server.store.writer.write { db in
                try ProviderToken.filter(Column("token") == value)
                    .updateAll(db, Column("revoked_at").set(to: now), Column("revoked_by").set(to: "client"))
            }
        }
        return ProviderResponse(status: 204, headers: ["x-github-api-version-selected": "2022-11-28"], body: Data())
    }

    // MARK: authorization page

    /// `github.com/login/oauth/authorize`: checks the request, then GitHub's "Authorize …" page.
    /// Without `redirect_uri` GitHub uses the app's registered callback.
    private func authorizePage(_ call: ProviderCall, server: AuthorizationServer, sandbox: Sandbox) -> ProviderResponse {
        let consent = ConsentPage(provider: self, server: server, sandbox: sandbox, style: .github)
        return consent.handle(call, action: "authorize") { all, carried in
            let query = all.filter { !$0.value.isEmpty }
            let clientID = query["client_id"] ?? ""
            let redirectURI = query["redirect_uri"]
                ?? (try? server.store.client(providerID: descriptor.id, clientID: clientID))?.redirectURIs.first ?? ""
            let scopes = (query["scope"] ?? "").split(whereSeparator: { $0 == " " || $0 == "," }).map(String.init)
            let checked = Result { () throws(OAuthFailure) in
                try server.validate(clientID: clientID, redirectURI: redirectURI, scopes: scopes,
                                    codeChallenge: query["code_challenge"], codeChallengeMethod: query["code_challenge_method"])
            }
            if case .failure(let error) = checked {
                let html = "<!DOCTYPE html><html><head><title>Authorize application</title></head><body>"
                    + "<h1>GitHub</h1><p>\(HTMLEscape.escape("\(error.code.rawValue): \(error.message)"))</p>"
                    + "<p>client_id: \(HTMLEscape.escape(clientID))</p><p>scope: \(HTMLEscape.escape(scopes.joined(separator: " ")))</p></body></html>"
                return .failure(.init(page: .text(400, html, contentType: "text/html; charset=utf-8")))
            }
            return .success(.init(clientID: clientID, redirectURI: redirectURI, scopes: scopes, state: query["state"],
                                  codeChallenge: query["code_challenge"], codeChallengeMethod: query["code_challenge_method"], carried: carried))
        }
    }
}
