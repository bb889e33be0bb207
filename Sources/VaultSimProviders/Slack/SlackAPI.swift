import Foundation
import VaultSimCore

/// Slack's wire shape: every answer JSON with `content-type: application/json; charset=utf-8`,
/// failures as `{"ok": false, "error": "<code>"}` and, nearly always, HTTP 200.
enum SlackWire {
    static let contentType = "application/json; charset=utf-8"

    static func json(_ body: JSONObject, status: Int = 200, headers: [String: String] = [:]) -> ProviderResponse {
        var all = headers
        all["content-type"] = contentType
        return .json(status, .object(body), headers: all)
    }

    static func error(_ code: String, status: Int = 200, extra: JSONObject = [:], headers: [String: String] = [:]) -> ProviderResponse {
        var body: JSONObject = ["ok": false, "error": .string(code)]
        for (key, value) in extra { body[key] = value }
        return json(body, status: status, headers: headers)
    }

    /// Adds the warnings Slack attaches to an answer (`missing_charset` for a JSON body sent
    /// without `charset=utf-8`): `warning` plus `response_metadata.warnings`.
    static func adding(warnings: [String], to body: JSONObject) -> JSONObject {
        guard !warnings.isEmpty else { return body }
        var body = body
        body["warning"] = .string(warnings.joined(separator: ","))
        var metadata = body["response_metadata"]?.objectValue ?? [:]
        metadata["warnings"] = .array(warnings.map(JSONValue.string))
        body["response_metadata"] = .object(metadata)
        return body
    }
}

/// One Web API request as Slack reads it: arguments from the query string and the body (form
/// or JSON), the token from `Authorization: Bearer` or from a form body's `token` field. A
/// token inside a JSON body or the query string is ignored, as Slack ignores it for new apps.
struct SlackRequest {
    let call: ProviderCall
    let isJSON: Bool
    /// Query arguments overlaid with body arguments (JSON members as strings).
    let arguments: [String: String]
    let token: String?
    let warnings: [String]

    init(_ call: ProviderCall) {
        let contentType = call.headers["content-type"]?.lowercased() ?? ""
        let isJSON = contentType.hasPrefix("application/json")
        self.call = call
        self.isJSON = isJSON
        self.arguments = call.query.merging(call.parameters) { _, body in body }
        self.token = call.bearerToken ?? (isJSON ? nil : call.form["token"])
        self.warnings = isJSON && !contentType.contains("charset") ? ["missing_charset"] : []
    }

    /// An argument, trimmed; nil when absent or blank.
    func argument(_ name: String) -> String? {
        guard let value = arguments[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
        return value
    }

    enum Structured {
        case absent
        case malformed
        case value(JSONValue)
    }

    /// A JSON-valued argument (`blocks`, `attachments`): the member of a JSON body, or a form
    /// field holding JSON text (`malformed` when that text is not JSON).
    func structured(_ name: String) -> Structured {
        if isJSON, let value = call.json?[name] { return value.isNull ? .absent : .value(value) }
        guard let text = argument(name) else { return .absent }
        return JSONValue.parse(text).map(Structured.value) ?? .malformed
    }

    func flag(_ name: String) -> Bool {
        guard let value = argument(name)?.lowercased() else { return false }
        return value == "1" || value == "true"
    }

    /// Slack's `limit`: absent → `defaultValue`; not an integer → nil (`invalid_limit`);
    /// otherwise clamped to `1...maximum`.
    func limit(defaultValue: Int, maximum: Int) -> Int? {
        guard let raw = argument("limit") else { return defaultValue }
        guard let n = Int(raw) else { return nil }
        return min(max(n, 1), maximum)
    }
}

/// The workspace as one sandbox sees it: `data["workspace"]` (team, bot, users, channels),
/// `data["messages"]` (channel id → messages, oldest first) and the `ratelimited` knob.
struct SlackWorkspace {
    let data: JSONValue

    private var workspace: JSONValue { data["workspace"] ?? .object(JSONObject()) }

    var teamID: String { workspace["team"]?["id"]?.stringValue ?? "T0VAULTSIM" }
    var teamName: String { workspace["team"]?["name"]?.stringValue ?? "VaultSim Workspace" }
    var domain: String { workspace["team"]?["domain"]?.stringValue ?? "vaultsim" }
    var botUserID: String { workspace["bot"]?["user_id"]?.stringValue ?? "U0BOTVSIM1" }
    var botID: String { workspace["bot"]?["bot_id"]?.stringValue ?? "B0VAULTSIM" }
    var appID: String { workspace["bot"]?["app_id"]?.stringValue ?? "A0VAULTSIM" }
    var botName: String { workspace["bot"]?["name"]?.stringValue ?? "vaultsim-app" }

    var users: [JSONValue] { workspace["users"]?.arrayValue ?? [] }
    var channels: [JSONValue] { workspace["channels"]?.arrayValue ?? [] }

    /// A user by `name`, or by profile email when `login` is an email address.
    func user(login: String) -> JSONValue? {
        if let byName = users.first(where: { $0["name"]?.stringValue == login }) { return byName }
        guard login.contains("@") else { return nil }
        let email = login.lowercased()
        return users.first { $0["profile"]?["email"]?.stringValue?.lowercased() == email }
    }

    /// A channel by id (`C0…`), or by name with or without `#`.
    func channel(_ reference: String) -> JSONValue? {
        if let byID = channels.first(where: { $0["id"]?.stringValue == reference }) { return byID }
        let name = reference.hasPrefix("#") ? String(reference.dropFirst()) : reference
        return channels.first { $0["name"]?.stringValue == name }
    }

    func messages(channelID: String) -> [JSONValue] { data["messages"]?[channelID]?.arrayValue ?? [] }

    /// The `retry-after` seconds when the sandbox data has `"ratelimited": {"<method>": true}`
    /// (30 s) or `{"<method>": <seconds>}`; nil when the method is not rate limited.
    func retryAfter(method: String) -> Int? {
        switch data["ratelimited"]?[method] {
        case .bool(true)?: return 30
        case .number(let n)? where n.isFinite && n >= 0: return Int(min(n, 86_400).rounded(.up))
        default: return nil
        }
    }

    /// A channel in `conversations.list` shape: the fixture's members over Slack's defaults.
    func channelObject(_ channel: JSONValue) -> JSONValue {
        let id = channel["id"]?.stringValue ?? ""
        let name = channel["name"]?.stringValue ?? id
        let created = channel["created"] ?? 0
        let blank: JSONValue = ["value": "", "creator": "", "last_set": 0]
        // Built in parts: one literal this size is slow to type-check.
        var defaults: JSONObject = [
            "id": .string(id), "name": .string(name), "is_channel": true, "is_group": false, "is_im": false, "is_mpim": false,
            "is_private": false, "created": created,
        ]
        let sharing: JSONObject = [
            "is_archived": false, "is_general": false, "unlinked": 0, "name_normalized": .string(name.lowercased()),
            "is_shared": false, "is_org_shared": false, "is_pending_ext_shared": false, "pending_shared": .array([]),
        ]
        let context: JSONObject = [
            "context_team_id": .string(teamID), "updated": .number(Double((created.intValue ?? 0) * 1000)),
            "parent_conversation": .null, "creator": "", "is_ext_shared": false, "shared_team_ids": .array([.string(teamID)]),
            "pending_connected_team_ids": .array([]),
        ]
        let membership: JSONObject = [
            "is_member": false, "topic": blank, "purpose": blank, "previous_names": .array([]), "num_members": 0,
        ]
        for part in [sharing, context, membership] {
            for (key, value) in part { defaults[key] = value }
        }
        return JSONValue.object(defaults).merging(channel)
    }

    static func isPrivate(_ channel: JSONValue) -> Bool { channel["is_private"]?.boolValue ?? false }
    static func isMember(_ channel: JSONValue) -> Bool { channel["is_member"]?.boolValue ?? false }
    static func isArchived(_ channel: JSONValue) -> Bool { channel["is_archived"]?.boolValue ?? false }

    /// The `types` value of a conversation.
    static func type(of channel: JSONValue) -> String {
        if channel["is_im"]?.boolValue == true { return "im" }
        if channel["is_mpim"]?.boolValue == true { return "mpim" }
        return isPrivate(channel) ? "private_channel" : "public_channel"
    }
}

/// The Web API methods behind a valid token: `chat.postMessage`, `conversations.list`,
/// `conversations.history`.
struct SlackAPI {
    let request: SlackRequest
    let workspace: SlackWorkspace
    let sandbox: Sandbox
    let token: ProviderToken

    static let readScopes = ["public_channel": "channels:read", "private_channel": "groups:read", "mpim": "mpim:read", "im": "im:read"]
    static let historyScopes = ["public_channel": "channels:history", "private_channel": "groups:history", "mpim": "mpim:history", "im": "im:history"]

    private var scopeHeaders: [String: String] { ["x-oauth-scopes": token.scopes.joined(separator: ",")] }

    func ok(_ body: JSONObject, accepted: String) -> ProviderResponse {
        var headers = scopeHeaders
        headers["x-accepted-oauth-scopes"] = accepted
        return SlackWire.json(SlackWire.adding(warnings: request.warnings, to: body), headers: headers)
    }

    func fail(_ code: String, extra: JSONObject = [:]) -> ProviderResponse {
        var body: JSONObject = ["ok": false, "error": .string(code)]
        for (key, value) in extra { body[key] = value }
        return SlackWire.json(SlackWire.adding(warnings: request.warnings, to: body), headers: scopeHeaders)
    }

    func missingScope(_ needed: String) -> ProviderResponse {
        fail("missing_scope", extra: ["needed": .string(needed), "provided": .string(token.scopes.joined(separator: ","))])
    }

    /// The channel an app can see: private channels only when it is a member.
    private func visibleChannel(_ reference: String?) -> JSONValue? {
        guard let reference, let channel = workspace.channel(reference) else { return nil }
        if SlackWorkspace.isPrivate(channel), !SlackWorkspace.isMember(channel) { return nil }
        return channel
    }

    // MARK: chat.postMessage

    func postMessage() -> ProviderResponse {
        guard token.scopes.contains("chat:write") else { return missingScope("chat:write") }
        guard let channel = visibleChannel(request.argument("channel")), let channelID = channel["id"]?.stringValue else {
            return fail("channel_not_found")
        }
        if SlackWorkspace.isArchived(channel) { return fail("is_archived") }
        if !SlackWorkspace.isMember(channel) {
            // chat:write.public lets an app post in public channels it has not joined.
            let canPostPublicly = !SlackWorkspace.isPrivate(channel) && token.scopes.contains("chat:write.public")
            if !canPostPublicly { return fail("not_in_channel") }
        }
        let text = request.arguments["text"] ?? ""
        var blocks: [JSONValue]?
        switch request.structured("blocks") {
        case .absent: break
        case .malformed: return fail("invalid_blocks_format")
        case .value(let value):
            guard let array = value.arrayValue else { return fail("invalid_blocks_format") }
            blocks = array
        }
        var attachments: [JSONValue]?
        switch request.structured("attachments") {
        case .absent: break
        case .malformed: return fail("invalid_attachments")
        case .value(let value):
            guard let array = value.arrayValue else { return fail("invalid_attachments") }
            attachments = array
        }
        let hasContent = !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty || !(blocks ?? []).isEmpty || !(attachments ?? []).isEmpty
        guard hasContent else { return fail("no_text") }
        guard text.count <= 40_000 else { return fail("msg_too_long") }

        var stored = workspace.messages(channelID: channelID)
        let latest = stored.compactMap { $0["ts"]?.stringValue.flatMap(SlackTimestamp.micros) }.max()
        let ts = SlackTimestamp.next(now: sandbox.clock.now, after: latest)
        var message: JSONObject = [
            "user": .string(workspace.botUserID), "type": "message", "ts": .string(ts), "bot_id": .string(workspace.botID),
            "app_id": .string(workspace.appID), "text": .string(text), "team": .string(workspace.teamID),
            "bot_profile": [
                "id": .string(workspace.botID), "app_id": .string(workspace.appID), "name": .string(workspace.botName),
                "deleted": false, "team_id": .string(workspace.teamID),
            ],
        ]
        if let blocks { message["blocks"] = .array(blocks) }
        if let attachments { message["attachments"] = .array(attachments) }
        if let thread = request.argument("thread_ts") { message["thread_ts"] = .string(thread) }
        stored.append(.object(message))
        var byChannel = JSONObject()
        byChannel[channelID] = .array(stored)
        sandbox.overrideData(provider: "slack", with: ["messages": .object(byChannel)])
        return ok(["ok": true, "channel": .string(channelID), "ts": .string(ts), "message": .object(message)], accepted: "chat:write")
    }

    // MARK: conversations.list

    func listConversations() -> ProviderResponse {
        let types = (request.argument("types") ?? "public_channel").split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !types.isEmpty, types.allSatisfy({ Self.readScopes[$0] != nil }) else { return fail("invalid_types") }
        let accepted = types.compactMap { Self.readScopes[$0] }
        if let needed = accepted.first(where: { !token.scopes.contains($0) }) { return missingScope(needed) }
        guard let limit = request.limit(defaultValue: 100, maximum: 1000) else { return fail("invalid_limit") }
        let excludeArchived = request.flag("exclude_archived")
        let channels = workspace.channels.filter { channel in
            guard types.contains(SlackWorkspace.type(of: channel)), channel["id"]?.stringValue != nil else { return false }
            if SlackWorkspace.isPrivate(channel), !SlackWorkspace.isMember(channel) { return false }
            return !(excludeArchived && SlackWorkspace.isArchived(channel))
        }
        guard let page = SlackCursor.page(channels, key: { $0["id"]?.stringValue ?? "" }, cursor: request.argument("cursor"),
                                          prefix: "team", limit: limit) else { return fail("invalid_cursor") }
        return ok(["ok": true, "channels": .array(page.items.map(workspace.channelObject)),
                   "response_metadata": ["next_cursor": .string(page.nextCursor)]],
                  accepted: accepted.joined(separator: ","))
    }

    // MARK: conversations.history

    func history() -> ProviderResponse {
        guard let channel = visibleChannel(request.argument("channel")), let channelID = channel["id"]?.stringValue else {
            return fail("channel_not_found")
        }
        let needed = Self.historyScopes[SlackWorkspace.type(of: channel)] ?? "channels:history"
        guard token.scopes.contains(needed) else { return missingScope(needed) }
        guard SlackWorkspace.isMember(channel) else { return fail("not_in_channel") }
        guard let limit = request.limit(defaultValue: 100, maximum: 999) else { return fail("invalid_limit") }
        var oldest: Int64 = 0
        var latest = Int64.max
        if let raw = request.argument("oldest") {
            guard let value = SlackTimestamp.micros(raw) else { return fail("invalid_ts_oldest") }
            oldest = value
        }
        if let raw = request.argument("latest") {
            guard let value = SlackTimestamp.micros(raw) else { return fail("invalid_ts_latest") }
            latest = value
        }
        let inclusive = request.flag("inclusive")
        let messages = workspace.messages(channelID: channelID)
            .compactMap { message -> (Int64, JSONValue)? in
                guard let ts = message["ts"]?.stringValue.flatMap(SlackTimestamp.micros) else { return nil }
                let inRange = inclusive ? (ts >= oldest && ts <= latest) : (ts > oldest && ts < latest)
                return inRange ? (ts, message) : nil
            }
            .sorted { $0.0 > $1.0 }
            .map { $0.1 }
        guard let page = SlackCursor.page(messages, key: { $0["ts"]?.stringValue ?? "" }, cursor: request.argument("cursor"),
                                          prefix: "next_ts", limit: limit) else { return fail("invalid_cursor") }
        return ok(["ok": true, "messages": .array(page.items), "has_more": .bool(!page.nextCursor.isEmpty), "pin_count": 0,
                   "channel_actions_ts": .null, "channel_actions_count": 0,
                   "response_metadata": ["next_cursor": .string(page.nextCursor)]],
                  accepted: needed)
    }
}

/// Slack's opaque cursors: base64 of `<prefix>:<key of the first item of the next page>`
/// (`dGVhbTpDMDEy` is `team:C012`).
enum SlackCursor {
    static func encode(prefix: String, key: String) -> String {
        Data("\(prefix):\(key)".utf8).base64EncodedString()
    }

    /// The key a cursor names, or nil for anything that is not one of ours.
    static func decode(_ cursor: String, prefix: String) -> String? {
        // A `+` arrives as a space when the client did not percent-encode the query.
        var text = cursor.replacingOccurrences(of: " ", with: "+")
            .replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        guard text.count <= 4096, text.count % 4 != 1 else { return nil }
        if text.count % 4 != 0 { text += String(repeating: "=", count: 4 - text.count % 4) }
        guard let data = Data(base64Encoded: text), let decoded = String(data: data, encoding: .utf8),
              decoded.hasPrefix(prefix + ":") else { return nil }
        let key = String(decoded.dropFirst(prefix.count + 1))
        return key.isEmpty ? nil : key
    }

    /// One page of `items` starting at the item the cursor names; nil when the cursor is invalid.
    static func page(_ items: [JSONValue], key: (JSONValue) -> String, cursor: String?, prefix: String,
                     limit: Int) -> (items: [JSONValue], nextCursor: String)? {
        var start = 0
        if let cursor {
            guard let wanted = decode(cursor, prefix: prefix), let index = items.firstIndex(where: { key($0) == wanted }) else { return nil }
            start = index
        }
        let end = start + min(max(limit, 1), items.count - start)
        let next = end < items.count ? encode(prefix: prefix, key: key(items[end])) : ""
        return (Array(items[start..<end]), next)
    }
}

/// Message timestamps: `<unix seconds>.<6 digits>`, unique and increasing within a channel.
enum SlackTimestamp {
    /// The largest `ts` `micros` reads (12 digits of seconds, 6 of fraction); no arithmetic on
    /// timestamps goes past it, so none can overflow, however far the sandbox clock was moved.
    static let maxMicros: Int64 = 999_999_999_999_999_999

    /// Microseconds since 1970 of a `ts` (`"1714550400.000200"`, or whole seconds); nil if not one.
    static func micros(_ ts: String) -> Int64? {
        let parts = ts.split(separator: ".", maxSplits: 1, omittingEmptySubsequences: false)
        let isDigits = { (text: Substring) in !text.isEmpty && text.allSatisfy { $0.isASCII && $0.isNumber } }
        guard let first = parts.first, first.count <= 12, isDigits(first), let seconds = Int64(first) else { return nil }
        var fraction: Int64 = 0
        if parts.count == 2 {
            let digits = parts[1]
            guard digits.count <= 6, isDigits(digits),
                  let value = Int64(String(digits) + String(repeating: "0", count: 6 - digits.count)) else { return nil }
            fraction = value
        }
        return seconds * 1_000_000 + fraction
    }

    /// A timestamp for now, later than `after` (microseconds) when that is not earlier.
    static func next(now: Date, after latest: Int64?) -> String {
        let wall = (now.timeIntervalSince1970 * 1_000_000).rounded(.down)
        // Double(maxMicros) rounds up to 1e18, so clamp again after converting.
        var micros = wall.isFinite ? min(Int64(min(max(wall, 0), Double(maxMicros))), maxMicros) : 0
        if let latest, micros <= latest { micros = min(latest, maxMicros - 1) + 1 }
        let fraction = String(micros % 1_000_000)
        return "\(micros / 1_000_000)." + String(repeating: "0", count: 6 - fraction.count) + fraction
    }
}
