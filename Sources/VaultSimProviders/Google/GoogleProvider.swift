import Foundation
import VaultSimCore

/// Google APIs: Calendar (`events.list`, `events.insert`) on www.googleapis.com and Gmail
/// (`users.messages.list`) on gmail.googleapis.com, with Google's OAuth checks and error bodies.
struct GoogleProvider: FakeProvider {
    let descriptor = ProviderCatalog.google
    let fixtures: FixtureLibrary

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

    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse {
        let s = call.segments
        let data = fixtures.data(provider: descriptor.id, in: sandbox)
        // calendar/v3/calendars/{calendarId}/events
        if s.count == 5, s[0] == "calendar", s[1] == "v3", s[2] == "calendars", s[4] == "events" {
            let calendar = GoogleCalendar(data: data, calendarID: s[3], sandbox: sandbox)
            switch call.method {
            case "GET": return try authorized(call, scopes: Self.calendarReadScopes, sandbox) { _ in calendar.listEvents(call) }
            case "POST": return try authorized(call, scopes: Self.calendarWriteScopes, sandbox) { grant in calendar.insertEvent(call, organizer: grant?.accountIdentifier) }
            default: return GoogleErrors.error(405, status: "METHOD_NOT_ALLOWED", message: "Method not allowed", reason: "httpMethodNotAllowed")
            }
        }
        // gmail/v1/users/{userId}/messages
        if s.count == 5, s[0] == "gmail", s[1] == "v1", s[2] == "users", s[4] == "messages", call.method == "GET" {
            return try authorized(call, scopes: Self.gmailReadScopes, sandbox) { _ in GoogleGmail(data: data).listMessages(call, userID: s[3]) }
        }
        return GoogleErrors.notFound
    }

    private func authorized(_ call: ProviderCall, scopes: [String], _ sandbox: Sandbox,
                            _ body: (Grant?) -> ProviderResponse) throws -> ProviderResponse {
        switch try OAuthBearerCheck.check(call, providerID: descriptor.id, anyOf: scopes, in: sandbox) {
        case .missing: return GoogleErrors.missingCredentials
        case .invalid: return GoogleErrors.unauthenticated
        case .insufficientScope: return GoogleErrors.insufficientScopes
        case .accepted(_, let grant): return body(grant)
        }
    }
}
