import Foundation
import VaultSimCore

/// Calendar API v3 events of one calendar, from `data["calendar"]["calendars"][calendarId]`.
///
/// Fixture events are single events, or recurring ones with their `instances` listed; with
/// `singleEvents=true` a recurring event is replaced by its instances, as Google expands them.
struct GoogleCalendar {
    let data: JSONValue
    let calendarID: String
    let sandbox: Sandbox

    private var calendars: JSONObject { data["calendar"]?["calendars"]?.objectValue ?? [:] }
    private var calendar: JSONValue? { calendars[calendarID] }

    func listEvents(_ call: ProviderCall) -> ProviderResponse {
        guard let calendar else { return GoogleErrors.notFound }
        let q = call.query
        let singleEvents = q["singleEvents"] == "true"
        guard let maxResults = GooglePaging.maxResults(q["maxResults"], defaultValue: 250, maximum: 2500) else {
            return GoogleErrors.invalidParameter("maxResults", "Invalid value '\(q["maxResults"] ?? "")'. Values must be within the range: [1, 2500]")
        }
        guard let offset = GooglePaging.offset(pageToken: q["pageToken"]) else { return GooglePaging.invalidPageToken }
        var events: [JSONValue] = []
        for event in calendar["events"]?.arrayValue ?? [] {
            if singleEvents, let instances = event["instances"]?.arrayValue {
                events += instances
            } else {
                events.append(Self.withoutInstances(event))
            }
        }
        if q["showDeleted"] != "true" { events = events.filter { $0["status"]?.stringValue != "cancelled" } }
        if let timeMin = q["timeMin"].flatMap(Self.parseDate) {
            events = events.filter { (Self.time(of: $0, "end") ?? .distantFuture) > timeMin }
        }
        if let timeMax = q["timeMax"].flatMap(Self.parseDate) {
            events = events.filter { (Self.time(of: $0, "start") ?? .distantPast) < timeMax }
        }
        switch q["orderBy"] {
        case nil: break
        case "startTime":
            guard singleEvents else {
                return GoogleErrors.badRequest("The requested ordering is not available for the particular query.")
            }
            events.sort { (Self.time(of: $0, "start") ?? .distantPast) < (Self.time(of: $1, "start") ?? .distantPast) }
        case "updated":
            events.sort { ($0["updated"]?.stringValue ?? "") < ($1["updated"]?.stringValue ?? "") }
        case let other?:
            return GoogleErrors.invalidParameter("orderBy", "Invalid value '\(other)' for orderBy.")
        }
        let start = min(offset, events.count)
        let page = Array(events[start...].prefix(maxResults))
        var body: JSONObject = [
            "kind": "calendar#events", "etag": .string(Self.etag(calendarID + "\(events.count)")),
            "summary": calendar["summary"] ?? .string(calendarID), "description": calendar["description"] ?? "",
            "updated": calendar["updated"] ?? .string(sandbox.clock.now.rfc3339),
            "timeZone": calendar["timeZone"] ?? "UTC", "accessRole": calendar["accessRole"] ?? "owner",
            "defaultReminders": calendar["defaultReminders"] ?? .array([]), "items": .array(page),
        ]
        if start + page.count < events.count { body["nextPageToken"] = .string(GooglePaging.pageToken(offset: start + page.count)) }
        return .json(200, .object(body))
    }

    func insertEvent(_ call: ProviderCall, organizer: String?) -> ProviderResponse {
        guard calendar != nil else { return GoogleErrors.notFound }
        guard case .object(var event)? = call.json else { return GoogleErrors.badRequest("Parse Error", reason: "parseError") }
        guard event["start"] != nil else { return GoogleErrors.badRequest("Missing start time.", reason: "required") }
        guard event["end"] != nil else { return GoogleErrors.badRequest("Missing end time.", reason: "required") }
        let now = sandbox.clock.now.rfc3339
        let id = SecretGenerator.token(26).lowercased()
        let person: JSONValue = ["email": .string(organizer ?? calendarID), "self": true]
        event["kind"] = "calendar#event"
        event["id"] = .string(id)
        event["status"] = event["status"] ?? "confirmed"
        event["htmlLink"] = .string("https://www.google.com/calendar/event?eid=\(id)")
        event["created"] = .string(now)
        event["updated"] = .string(now)
        event["creator"] = person
        event["organizer"] = person
        event["iCalUID"] = .string("\(id)@google.com")
        event["sequence"] = 0
        event["etag"] = .string(Self.etag(id))
        var stored = calendars[calendarID]?["events"]?.arrayValue ?? []
        stored.append(.object(event))
        sandbox.overrideData(provider: "google", with: ["calendar": ["calendars": .object([calendarID: ["events": .array(stored)]])]])
        return .json(200, .object(event))
    }

    private static func withoutInstances(_ event: JSONValue) -> JSONValue {
        guard case .object(var members) = event else { return event }
        members["instances"] = nil
        return .object(members)
    }

    /// A stable entity tag (the same input gives the same tag in every run).
    static func etag(_ seed: String) -> String {
        "\"" + String(RequestSigning.sha256Hex(Data(seed.utf8)).prefix(16)) + "\""
    }

    static func time(of event: JSONValue, _ key: String) -> Date? {
        if let dateTime = event[key]?["dateTime"]?.stringValue { return parseDate(dateTime) }
        if let date = event[key]?["date"]?.stringValue { return parseDate(date + "T00:00:00Z") }
        return nil
    }

    static func parseDate(_ text: String) -> Date? {
        try? Date(text, strategy: .iso8601)
    }
}

/// Paging of Google's list methods (`maxResults`, `pageToken`), shared by Calendar and Gmail.
/// Query values are untrusted: nothing here traps, whatever the string.
enum GooglePaging {
    /// The page size: absent → `defaultValue`; above `maximum` → `maximum` (Google caps it);
    /// nil — Google's 400 — for anything but an integer from 1 to 2³¹−1 (its int32 parameter).
    static func maxResults(_ raw: String?, defaultValue: Int, maximum: Int) -> Int? {
        guard let raw else { return defaultValue }
        guard let n = Int32(raw), n >= 1 else { return nil }
        return min(Int(n), maximum)
    }

    /// The offset a page token of ours stands for (`p<digits>`); 0 without one (or an empty
    /// one); nil when the token is not one we issued.
    static func offset(pageToken: String?) -> Int? {
        guard let token = pageToken, !token.isEmpty else { return 0 }
        let digits = token.utf8.dropFirst()
        guard token.utf8.first == UInt8(ascii: "p"), !digits.isEmpty, digits.count <= 18,
              digits.allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }) else { return nil }
        return Int(token.dropFirst())
    }

    static func pageToken(offset: Int) -> String { "p\(offset)" }

    /// Google's answer to a page token it did not issue.
    static var invalidPageToken: ProviderResponse { GoogleErrors.invalidParameter("pageToken", "Invalid Value") }
}
