import Foundation
import VaultSimCore

/// Google: its authorization server (accounts.google.com, oauth2.googleapis.com,
/// openidconnect.googleapis.com) and APIs — Calendar (`events.list`, `events.insert`) on
/// www.googleapis.com and Gmail (`users.messages.list`) on gmail.googleapis.com — with Google's
/// OAuth checks and error bodies. Resource calls accept only access tokens Google's own store
/// issued and has not revoked, unexpired on the sandbox clock.
struct GoogleProvider: OAuthFakeProvider {
    let descriptor = ProviderCatalog.google
    let fixtures: FixtureLibrary
    let policy = OAuthPolicy(providerID: "google", accessTokenLifetime: 3599, refreshTokenLifetime: nil, supportsPKCE: true,
                             accessTokenPrefix: "ya29.a0", refreshTokenPrefix: "1//0", rotatesRefreshTokensByDefault: false)

    static let calendarReadScopes = [
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.readonly",
        "https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/calendar.events.readonly",
    ]
    static let calendarWriteScopes = [
        "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/calendar.events",
    ]
    static let gmailReadScopes = [
        "https://mail.google.com/", "https://www.googleapis.com/auth/gmail.readonly",
        "https://www.googleapis.com/auth/gmail.modify", "https://www.googleapis.com/auth/gmail.metadata",
    ]

    func account(login: String, displayName: String?) -> ProviderAccount {
        let local = login.split(separator: "@").first.map(String.init) ?? login
        return ProviderAccount(providerID: descriptor.id, id: StableID.digits("google:" + login, count: 21), login: login,
                               email: login, name: displayName ?? local.prefix(1).uppercased() + local.dropFirst())
    }

    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse {
        let server = authorizationServer(sandbox)
        switch call.host {
        case "oauth2.googleapis.com":
            return GoogleOAuth(server: server, clock: sandbox.clock).tokenHost(call)
        case "accounts.google.com":
            guard call.path == "/o/oauth2/v2/auth" || call.path == "/o/oauth2/auth", call.method == "GET" || call.method == "POST" else {
                return GoogleErrors.notFound
            }
            let consent = ConsentPage(provider: self, server: server, sandbox: sandbox, style: .google)
            return consent.handle(call, action: "auth") { q, carried in GoogleOAuth.checkAuthorization(q, carried: carried, server: server) }
        case "openidconnect.googleapis.com":
            guard call.path == "/v1/userinfo", call.method == "GET" || call.method == "POST" else { return GoogleErrors.notFound }
            return try GoogleOAuth(server: server, clock: sandbox.clock).userinfo(call)
        default:
            return try api(call, sandbox: sandbox, server: server)
        }
    }

    private func api(_ call: ProviderCall, sandbox: Sandbox, server: AuthorizationServer) throws -> ProviderResponse {
        let s = call.segments
        let data = fixtures.data(provider: descriptor.id, in: sandbox)
        // www.googleapis.com/calendar/v3/calendars/{calendarId}/events
        if call.host == "www.googleapis.com", s.count == 5, s[0] == "calendar", s[1] == "v3", s[2] == "calendars", s[4] == "events" {
            let calendar = GoogleCalendar(data: data, calendarID: s[3], sandbox: sandbox)
            switch call.method {
            case "GET": return try authorized(call, scopes: Self.calendarReadScopes, server) { _ in calendar.listEvents(call) }
            case "POST": return try authorized(call, scopes: Self.calendarWriteScopes, server) { account in calendar.insertEvent(call, organizer: account.email) }
            default: return GoogleErrors.error(405, status: "METHOD_NOT_ALLOWED", message: "Method not allowed", reason: "httpMethodNotAllowed")
            }
        }
        // gmail.googleapis.com/gmail/v1/users/{userId}/messages
        if call.host == "gmail.googleapis.com", s.count == 5, s[0] == "gmail", s[1] == "v1", s[2] == "users", s[4] == "messages", call.method == "GET" {
            return try authorized(call, scopes: Self.gmailReadScopes, server) { _ in GoogleGmail(data: data).listMessages(call, userID: s[3]) }
        }
        return GoogleErrors.notFound
    }

    private func authorized(_ call: ProviderCall, scopes: [String], _ server: AuthorizationServer,
                            _ body: (ProviderAccount) -> ProviderResponse) throws -> ProviderResponse {
        guard let value = call.bearerToken else { return GoogleErrors.missingCredentials }
        guard let (token, account) = try server.introspect(accessToken: value) else { return GoogleErrors.unauthenticated }
        if Set(token.scopes).isDisjoint(with: scopes) { return GoogleErrors.insufficientScopes }
        return body(account)
    }
}
