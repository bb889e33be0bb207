import Foundation

/// A rule the vault checks before it hands out a credential, for the whole app or for one
/// grant. A broken rule answers 403 with the rule's code (`PolicyViolationError` in the SDK,
/// with `policy_error` = the code), except the rate limit, which answers 429.
public struct AccessPolicy: Codable, Sendable, Equatable {
    public enum Rule: Sendable, Equatable {
        /// Allowed only on these weekdays, between these times, in this time zone (virtual clock).
        case timeWindow(timeZone: String, weekdays: Set<Int>, from: Int, to: Int)
        /// Allowed only from these networks (the caller address as the vault sees it).
        case ipAllowlist([CIDR])
        /// At most `requests` token requests per `seconds` (virtual clock), per grant.
        case rateLimit(requests: Int, seconds: Int)
        /// A person must approve each call (human in the loop): only `proxy_request` may use the
        /// grant, and each call waits at most `seconds` (virtual clock) for a decision.
        case requireApproval(seconds: Int)
    }

    /// How long a call waits for a decision, when this policy requires approval.
    public var approvalWindow: Int? {
        if case .requireApproval(let seconds) = rule { return seconds }
        return nil
    }

    public var name: String
    public var rule: Rule

    public init(name: String, rule: Rule) {
        self.name = name
        self.rule = rule
    }

    /// The weekday names a time window accepts, Sunday first (Calendar's numbering 1–7).
    public static let weekdayNames = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]

    /// Why a request breaks this rule at `now` from `address`, or nil when it may go on.
    /// `recentRequests` are the times of this grant's earlier token requests (for the rate limit).
    public func violation(at now: Date, address: String, recentRequests: [Date]) -> VaultError? {
        switch rule {
        case .requireApproval:
            return nil   // not a refusal: the call waits for a person (`approvalWindow`)
        case .timeWindow(let zoneID, let weekdays, let from, let to):
            guard let zone = TimeZone(identifier: zoneID) else {
                return VaultError(status: 403, code: "policy_misconfigured", message: "Policy '\(name)' names an unknown time zone '\(zoneID)'")
            }
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = zone
            let parts = calendar.dateComponents([.weekday, .hour, .minute], from: now)
            let minute = (parts.hour ?? 0) * 60 + (parts.minute ?? 0)
            let day = parts.weekday ?? 1
            if weekdays.contains(day), minute >= from, minute < to { return nil }
            let local = now.formatted(Date.ISO8601FormatStyle(timeZoneSeparator: .colon, timeZone: zone))
            return VaultError(
                status: 403, code: "outside_allowed_hours",
                message: "Access denied by policy '\(name)': \(Self.weekdayNames[day - 1]) \(local) is outside the allowed hours "
                    + "(\(weekdays.sorted().map { Self.weekdayNames[$0 - 1] }.joined(separator: ",")) \(Self.clock(from))–\(Self.clock(to)) \(zoneID))",
                details: ["policy": .string(name), "time_zone": .string(zoneID), "local_time": .string(local)])
        case .ipAllowlist(let networks):
            if let parsed = CIDR.address(address), networks.contains(where: { $0.contains(parsed) }) { return nil }
            return VaultError(
                status: 403, code: "ip_not_allowed",
                message: "Access denied by policy '\(name)': \(address) is not in the allowed networks (\(networks.map(\.description).joined(separator: ", ")))",
                details: ["policy": .string(name), "caller_address": .string(address)])
        case .rateLimit(let requests, let seconds):
            let since = now.addingTimeInterval(-TimeInterval(seconds))
            let recent = recentRequests.filter { $0 > since }
            guard recent.count >= requests else { return nil }
            let retry = max(1, Int((recent.min() ?? now).addingTimeInterval(TimeInterval(seconds)).timeIntervalSince(now).rounded(.up)))
            // A request-quota rule of a policy: `quota_exceeded` (QuotaExceededError, never retried),
            // not Alter's own platform limiter (`rate_limit_exceeded`).
            return VaultError(
                status: 429, code: "quota_exceeded",
                message: "Quota of policy '\(name)' exceeded: \(requests) token requests per \(seconds) s",
                details: ["policy": .string(name), "retry_after": .number(Double(retry))],
                topLevel: ["retry_after": .number(Double(retry))],
                headers: ["Retry-After": String(retry)])
        }
    }

    static func clock(_ minutes: Int) -> String { String(format: "%02d:%02d", minutes / 60, minutes % 60) }
}

// MARK: - JSON form (control API and store)

extension AccessPolicy {
    /// `09:00-17:00` → minutes since midnight (from, to); `to` may be `24:00`.
    public static func parseHours(_ text: String) -> (from: Int, to: Int)? {
        func minutes(_ part: Substring) -> Int? {
            let hm = part.split(separator: ":")
            guard hm.count == 2, hm[1].count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m),
                  h * 60 + m <= 1440 else { return nil }
            return h * 60 + m
        }
        let parts = text.split(separator: "-").map { $0.trimmingCharacters(in: .whitespaces)[...] }
        guard parts.count == 2, let from = minutes(parts[0]), let to = minutes(parts[1]), from < to else { return nil }
        return (from, to)
    }

    /// Weekday names (`mon`…`sun`) → Calendar weekday numbers (Sunday = 1).
    public static func parseWeekdays(_ names: [String]) -> Set<Int>? {
        var days = Set<Int>()
        for name in names {
            guard let index = weekdayNames.firstIndex(of: name.lowercased().prefix(3).description) else { return nil }
            days.insert(index + 1)
        }
        return days.isEmpty ? nil : days
    }

    enum CodingKeys: String, CodingKey {
        case name, type, timeZone = "time_zone", days, hours, cidrs, requests, perSeconds = "per_seconds", expiresInSeconds = "expires_in_seconds"
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        name = try c.decode(String.self, forKey: .name)
        switch try c.decode(String.self, forKey: .type) {
        case "time_window":
            let zone = try c.decode(String.self, forKey: .timeZone)
            guard TimeZone(identifier: zone) != nil else {
                throw DecodingError.dataCorruptedError(forKey: .timeZone, in: c, debugDescription: "unknown time zone \(zone)")
            }
            guard let days = AccessPolicy.parseWeekdays(try c.decode([String].self, forKey: .days)) else {
                throw DecodingError.dataCorruptedError(forKey: .days, in: c, debugDescription: "days must be weekday names: mon, tue, …, sun")
            }
            guard let hours = AccessPolicy.parseHours(try c.decode(String.self, forKey: .hours)) else {
                throw DecodingError.dataCorruptedError(forKey: .hours, in: c, debugDescription: "hours must be HH:MM-HH:MM, such as 09:00-17:00")
            }
            rule = .timeWindow(timeZone: zone, weekdays: days, from: hours.from, to: hours.to)
        case "ip_allowlist":
            let texts = try c.decode([String].self, forKey: .cidrs)
            rule = .ipAllowlist(try texts.map { text in
                guard let cidr = CIDR(text) else {
                    throw DecodingError.dataCorruptedError(forKey: .cidrs, in: c, debugDescription: "not an IPv4 or IPv6 network: \(text)")
                }
                return cidr
            })
        case "rate_limit":
            let requests = try c.decode(Int.self, forKey: .requests)
            let seconds = try c.decode(Int.self, forKey: .perSeconds)
            guard (1...1_000_000).contains(requests), (1...(366 * 86400)).contains(seconds) else {
                throw DecodingError.dataCorruptedError(forKey: .requests, in: c, debugDescription: "requests must be 1–1000000 and per_seconds 1 s–1 year")
            }
            rule = .rateLimit(requests: requests, seconds: seconds)
        case "require_approval":
            let seconds = try c.decodeIfPresent(Int.self, forKey: .expiresInSeconds) ?? 600
            guard (1...(7 * 86400)).contains(seconds) else {
                throw DecodingError.dataCorruptedError(forKey: .expiresInSeconds, in: c, debugDescription: "expires_in must be 1 s–7 days")
            }
            rule = .requireApproval(seconds: seconds)
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .type, in: c,
                                                   debugDescription: "unknown policy type \(other) (time_window, ip_allowlist, rate_limit, require_approval)")
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(name, forKey: .name)
        switch rule {
        case .timeWindow(let zone, let weekdays, let from, let to):
            try c.encode("time_window", forKey: .type)
            try c.encode(zone, forKey: .timeZone)
            try c.encode(weekdays.sorted().map { Self.weekdayNames[$0 - 1] }, forKey: .days)
            try c.encode("\(Self.clock(from))-\(Self.clock(to))", forKey: .hours)
        case .ipAllowlist(let networks):
            try c.encode("ip_allowlist", forKey: .type)
            try c.encode(networks.map(\.description), forKey: .cidrs)
        case .rateLimit(let requests, let seconds):
            try c.encode("rate_limit", forKey: .type)
            try c.encode(requests, forKey: .requests)
            try c.encode(seconds, forKey: .perSeconds)
        case .requireApproval(let seconds):
            try c.encode("require_approval", forKey: .type)
            try c.encode(seconds, forKey: .expiresInSeconds)
        }
    }
}
