import Foundation
import VaultSimCore

/// Slack on slack.com: the OAuth v2 authorization server (`/oauth/v2/authorize`,
/// `oauth.v2.access` with token rotation) and the Web API methods `auth.test`, `auth.revoke`,
/// `chat.postMessage`, `conversations.list` and `conversations.history`, answered the Slack way:
/// HTTP 200 and `{"ok": false, "error": ...}` for nearly every failure, a bad token included.
///
/// Data (`Fixtures/providers/slack/*.json`, deep-merged with the sandbox's overrides):
/// - `workspace`: `team` {id, name, domain}, `bot` {user_id, bot_id, app_id, name}, `users`
///   (looked up by `name` for accounts) and `channels` (`is_private`, `is_archived`,
///   `is_member`; a public channel with `"is_member": false` refuses posts with `not_in_channel`,
///   a private one the app is not in does not exist for it).
/// - `messages`: channel id → messages, oldest first; `chat.postMessage` appends to it.
/// - `ratelimited` (knob): `{"<method>": true}` makes that method answer HTTP 429
///   `{"ok":false,"error":"ratelimited"}` with `retry-after: 30`; a number instead of `true`
///   sets the `retry-after` seconds. Set it with `sandbox.overrideData(provider: "slack", with:
///   ["ratelimited": ["chat.postMessage": true]])`; override with `false` to lift it.
struct SlackProvider: OAuthFakeProvider {
    let descriptor = ProviderCatalog.slack
    let fixtures: FixtureLibrary
    /// Token rotation on: access tokens live 12 hours and each refresh token works once.
    let policy = OAuthPolicy(providerID: "slack", accessTokenLifetime: 43_200, refreshTokenLifetime: nil, supportsPKCE: false,
                             accessTokenPrefix: "xoxb-", refreshTokenPrefix: "xoxe-1-", rotatesRefreshTokensByDefault: true)
    /// The fixture workspace without any sandbox's overrides, for `account(login:displayName:)`.
    private let baseData: JSONValue

    /// The Web API methods VaultSim simulates; any other answers `unknown_method`.
    static let methods: Set<String> = [
        "oauth.v2.access", "auth.test", "auth.revoke", "chat.postMessage", "conversations.list", "conversations.history",
    ]

    init(fixtures: FixtureLibrary) {
        self.fixtures = fixtures
        let file = fixtures.root.appendingPathComponent("providers").appendingPathComponent("slack").appendingPathComponent("workspace.json")
        var base = JSONObject()
        if let data = try? Data(contentsOf: file), let workspace = JSONValue.parse(data) { base["workspace"] = workspace }
        self.baseData = .object(base)
    }

    func account(login: String, displayName: String?) -> ProviderAccount {
        let workspace = SlackWorkspace(data: baseData)
        let fallbackEmail = login.contains("@") ? login : "\(login)@example.com"
        if let user = workspace.user(login: login), let id = user["id"]?.stringValue {
            let name = displayName ?? user["real_name"]?.stringValue ?? user["profile"]?["real_name"]?.stringValue ?? login
            return ProviderAccount(providerID: descriptor.id, id: id, login: login,
                                   email: user["profile"]?["email"]?.stringValue ?? fallbackEmail, name: name, team: workspace.teamName)
        }
        return ProviderAccount(providerID: descriptor.id, id: "U0" + StableID.upperAlphanumerics("slack:" + login, count: 9), login: login,
                               email: fallbackEmail, name: displayName ?? login, team: workspace.teamName)
    }

    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse {
        let server = authorizationServer(sandbox)
        let segments = call.segments
        if segments == ["oauth", "v2", "authorize"] { return authorizePage(call, server: server, sandbox: sandbox) }
        guard segments.count == 2, segments[0] == "api" else { return Self.notFoundPage }
        let method = segments[1]
        guard Self.methods.contains(method) else {
            return SlackWire.error("unknown_method", status: 404, extra: ["req_method": .string(method)])
        }
        let workspace = SlackWorkspace(data: fixtures.data(provider: descriptor.id, in: sandbox))
        if let seconds = workspace.retryAfter(method: method) {
            return SlackWire.error("ratelimited", status: 429, headers: ["retry-after": String(seconds)])
        }
        let request = SlackRequest(call)
        if method == "oauth.v2.access" { return try tokenEndpoint(request, workspace: workspace, server: server, clock: sandbox.clock) }

        let caller: SlackCaller
        switch try authenticate(request, server: server, now: sandbox.clock.now) {
        case .failure(let refusal): return Self.refuse(refusal.code, request)
        case .success(let found): caller = found
        }
        let scopeHeaders = ["x-oauth-scopes": caller.token.scopes.joined(separator: ",")]
        let api = SlackAPI(request: request, workspace: workspace, sandbox: sandbox, token: caller.token)
        switch method {
        case "auth.test":
            var body: JSONObject = [
                "ok": true, "url": .string("https://\(workspace.domain).slack.com/"), "team": .string(workspace.teamName),
                "user": .string(caller.account.login), "team_id": .string(workspace.teamID),
            ]
            body["user_id"] = .string(caller.account.id)
            body["bot_id"] = .string(workspace.botID)
            body["is_enterprise_install"] = false
            return SlackWire.json(SlackWire.adding(warnings: request.warnings, to: body), headers: scopeHeaders)
        case "auth.revoke":
            // `test=1` checks the token without revoking it.
            let isTest = request.flag("test")
            if !isTest { try server.revoke(token: caller.token.token, reason: "client") }
            return SlackWire.json(SlackWire.adding(warnings: request.warnings, to: ["ok": true, "revoked": .bool(!isTest)]),
                                  headers: scopeHeaders)
        case "chat.postMessage": return api.postMessage()
        case "conversations.list": return api.listConversations()
        case "conversations.history": return api.history()
        default: return SlackWire.error("unknown_method", status: 404, extra: ["req_method": .string(method)])
        }
    }

    // MARK: authentication of Web API calls

    struct SlackCaller {
        var token: ProviderToken
        var account: ProviderAccount
    }

    struct SlackRefusal: Error {
        var code: String
    }

    /// `not_authed` without a token, `token_expired` for an access token past its lifetime
    /// (what a rotating app sees when it forgot to refresh), `invalid_auth` for anything else
    /// Slack does not accept: unknown, revoked, or revoked with its family after refresh-token reuse.
    private func authenticate(_ request: SlackRequest, server: AuthorizationServer, now: Date) throws -> Result<SlackCaller, SlackRefusal> {
        guard let value = request.token, !value.isEmpty else { return .failure(SlackRefusal(code: "not_authed")) }
        if let found = try server.introspect(accessToken: value) {
            return .success(SlackCaller(token: found.token, account: found.account))
        }
        if let record = try server.store.token(value, providerID: policy.providerID), record.kind == .access,
           record.revokedAt == nil, let expiry = record.expiresAt, expiry <= now {
            return .failure(SlackRefusal(code: "token_expired"))
        }
        return .failure(SlackRefusal(code: "invalid_auth"))
    }

    static func refuse(_ code: String, _ request: SlackRequest) -> ProviderResponse {
        SlackWire.json(SlackWire.adding(warnings: request.warnings, to: ["ok": false, "error": .string(code)]))
    }

    // MARK: oauth.v2.access

    /// `grant_type=authorization_code` (the default) or `refresh_token`; the client authenticates
    /// with `client_id`/`client_secret` arguments or HTTP Basic. Always HTTP 200.
    private func tokenEndpoint(_ request: SlackRequest, workspace: SlackWorkspace, server: AuthorizationServer,
                               clock: VirtualClock) throws -> ProviderResponse {
        let grantType = request.argument("grant_type") ?? "authorization_code"
        guard grantType == "authorization_code" || grantType == "refresh_token" else { return Self.refuse("invalid_grant_type", request) }
        let isRefresh = grantType == "refresh_token"
        let basic = request.call.basicCredentials
        let clientID = request.argument("client_id") ?? basic?.user
        let clientSecret = request.argument("client_secret") ?? basic?.password
        let client: OAuthClientRecord
        let issue: TokenIssue
        do {
            client = try server.authenticate(clientID: clientID, clientSecret: clientSecret)
            if isRefresh {
                issue = try server.refresh(token: request.argument("refresh_token"), scopes: nil, client: client)
            } else {
                // Slack has no PKCE: a stray code_verifier is ignored, not checked.
                issue = try server.exchange(code: request.argument("code"), redirectURI: request.arguments["redirect_uri"],
                                            codeVerifier: nil, client: client)
            }
        } catch {
            // (`catch let x as OAuthFailure` on a typed-throws body crashes swiftc 6.3.1's SILGen.)
            return Self.refuse(try errorCode(error, isRefresh: isRefresh, clientID: clientID, server: server), request)
        }
        let now = clock.now
        var body: JSONObject = [
            "ok": true, "app_id": .string(workspace.appID), "authed_user": ["id": .string(issue.account.id)],
            "scope": .string(issue.scopes.joined(separator: ",")), "token_type": "bot",
        ]
        body["access_token"] = .string(issue.access.token)
        body["bot_user_id"] = .string(workspace.botUserID)
        body["team"] = ["id": .string(workspace.teamID), "name": .string(workspace.teamName)]
        body["enterprise"] = .null
        body["is_enterprise_install"] = false
        // Only an app with token rotation gets a refresh token and an expiry.
        if client.rotateRefreshTokens, let refresh = issue.refresh {
            let seconds = (issue.access.expiresAt ?? now).timeIntervalSince(now).rounded()
            body["expires_in"] = .number(Double(max(0, Int(seconds))))
            body["refresh_token"] = .string(refresh.token)
        }
        return SlackWire.json(SlackWire.adding(warnings: request.warnings, to: body))
    }

    /// Slack's error codes for the engine's refusals.
    private func errorCode(_ failure: OAuthFailure, isRefresh: Bool, clientID: String?, server: AuthorizationServer) throws -> String {
        switch failure.code {
        case .invalidClient:
            guard let clientID, !clientID.isEmpty,
                  try server.store.client(providerID: policy.providerID, clientID: clientID) != nil else { return "invalid_client_id" }
            return "bad_client_secret"
        case .invalidGrant: return isRefresh ? "invalid_refresh_token" : "invalid_code"
        case .redirectURIMismatch: return "bad_redirect_uri"
        case .unsupportedGrantType: return "invalid_grant_type"
        case .invalidScope: return "invalid_scope"
        case .unauthorizedClient: return "invalid_client_id"
        case .accessDenied: return "access_denied"
        case .invalidRequest: return "invalid_arguments"
        }
    }

    // MARK: pages

    /// `/oauth/v2/authorize`: the checks Slack makes before asking anyone, then its consent
    /// page. Scopes are comma-separated (`scope` for the bot, `user_scope` for the user);
    /// without `redirect_uri` the client's only registered one is used.
    private func authorizePage(_ call: ProviderCall, server: AuthorizationServer, sandbox: Sandbox) -> ProviderResponse {
        guard call.method == "GET" || call.method == "POST" else { return Self.notFoundPage }
        let consent = ConsentPage(provider: self, server: server, sandbox: sandbox, style: .slack)
        return consent.handle(call, action: "authorize") { q, carried in
            let clientID = q["client_id"] ?? ""
            let split = { (text: String?) -> [String] in
                (text ?? "").split(whereSeparator: { $0 == "," || $0 == " " }).map(String.init)
            }
            let scopes = split(q["scope"]) + split(q["user_scope"])
            var redirectURI = q["redirect_uri"] ?? ""
            if redirectURI.isEmpty, let client = try? server.store.client(providerID: policy.providerID, clientID: clientID),
               client.redirectURIs.count == 1 {
                redirectURI = client.redirectURIs[0]
            }
            let checked = Result { () throws(OAuthFailure) in
                try server.validate(clientID: clientID, redirectURI: redirectURI, scopes: scopes, codeChallenge: nil, codeChallengeMethod: nil)
            }
            if case .failure(let failure) = checked {
                let message: String = switch failure.code {
                case .invalidClient: "invalid_client_id: the client_id '\(clientID)' is not a Slack app."
                case .redirectURIMismatch: "bad_redirect_uri: redirect_uri did not match any configured URIs. Passed URI: \(redirectURI)"
                case .invalidScope: "invalid_scope: the request must name at least one scope."
                default: "invalid_arguments: \(failure.message)"
                }
                return .failure(.init(page: Self.page(status: 400, title: "Oops! Something went wrong.", message: message)))
            }
            return .success(.init(clientID: clientID, redirectURI: redirectURI, scopes: scopes, state: q["state"], carried: carried))
        }
    }

    static func page(status: Int, title: String, message: String) -> ProviderResponse {
        .text(status, """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(HTMLEscape.escape(title)) | Slack</title></head>
            <body><h1>\(HTMLEscape.escape(title))</h1><p>\(HTMLEscape.escape(message))</p></body></html>
            """, contentType: "text/html; charset=utf-8")
    }

    /// slack.com outside `/api/` and the OAuth pages: an HTML 404, as the real site answers.
    static let notFoundPage = page(status: 404, title: "Page not found", message: "There’s been a glitch… We’re not quite sure what went wrong.")
}
