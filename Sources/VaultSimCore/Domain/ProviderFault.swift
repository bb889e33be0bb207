import Synchronization

/// A condition put on a fake provider: requests that match are answered by the rule instead of
/// by the provider (an error status, a slow answer), `times` times or forever.
public struct ProviderFault: Sendable, Equatable {
    public var providerID: String
    public var method: String?
    /// Matches when the request path starts with this (percent-encoding as received).
    public var pathPrefix: String?
    public var status: Int
    public var body: String
    public var headers: [String: String]
    /// Wait this long before answering.
    public var delayMilliseconds: Int
    /// How many matching requests it answers; nil for all of them.
    public var times: Int?
    /// Only requests to this real host (e.g. `oauth2.googleapis.com`), when set.
    public var host: String?
    /// Only requests from this caller (`sdk`, `vault`, `browser`), when set.
    public var caller: String?
    /// Where it was declared (a scenario location), for reports.
    public var origin: String?

    public init(providerID: String, method: String? = nil, pathPrefix: String? = nil, status: Int, body: String,
                headers: [String: String] = ["content-type": "application/json"], delayMilliseconds: Int = 0, times: Int? = nil,
                host: String? = nil, caller: String? = nil, origin: String? = nil) {
        self.providerID = providerID
        self.host = host
        self.caller = caller
        self.origin = origin
        self.method = method
        self.pathPrefix = pathPrefix
        self.status = status
        self.body = body
        self.headers = headers
        self.delayMilliseconds = delayMilliseconds
        self.times = times
    }

    func matches(providerID: String, host: String?, caller: String?, method: String, path: String) -> Bool {
        providerID == self.providerID
            && (self.method.map { $0.uppercased() == method.uppercased() } ?? true)
            && (pathPrefix.map { path.hasPrefix($0) } ?? true)
            && (self.host.map { $0.lowercased() == host?.lowercased() } ?? true)
            && (self.caller.map { $0 == caller } ?? true)
    }

    /// A short description: what it matches and what it answers.
    public var summary: String {
        var parts = [providerID]
        if let host { parts.append("host \(host)") }
        if let caller { parts.append("caller \(caller)") }
        if let method { parts.append(method) }
        if let pathPrefix { parts.append("path \(pathPrefix)*") }
        return parts.joined(separator: " ") + " → \(status)" + (delayMilliseconds > 0 ? " after \(delayMilliseconds) ms" : "")
    }
}

/// The faults in force in one sandbox, consumed in order.
public final class FaultBook: Sendable {
    private let faults = Mutex<[Entry]>([])

    public init() {}

    public func add(_ fault: ProviderFault) {
        faults.withLock { $0.append(Entry(fault: fault, fired: 0)) }
    }

    /// The first fault matching the request that has uses left, with one use taken from it.
    public func take(providerID: String, host: String? = nil, caller: String? = nil, method: String, path: String) -> ProviderFault? {
        faults.withLock { faults in
            guard let index = faults.firstIndex(where: {
                $0.hasUsesLeft && $0.fault.matches(providerID: providerID, host: host, caller: caller, method: method, path: path)
            }) else { return nil }
            faults[index].fired += 1
            return faults[index].fault
        }
    }

    /// Faults still in force (those with `times` left, and those without a count).
    public var all: [ProviderFault] { faults.withLock { $0.filter(\.hasUsesLeft).map(\.fault) } }

    /// Every fault declared, with how often it fired.
    public var report: [(fault: ProviderFault, fired: Int)] { faults.withLock { $0.map { ($0.fault, $0.fired) } } }

    /// Faults that fired less often than declared (`times`), or never when no count was given:
    /// a scenario whose fault did not fire did not test what it meant to.
    public var unfired: [(fault: ProviderFault, fired: Int)] {
        report.filter { entry in entry.fault.times.map { entry.fired < $0 } ?? (entry.fired == 0) }
    }

    private struct Entry {
        var fault: ProviderFault
        var fired: Int
        var hasUsesLeft: Bool { fault.times.map { fired < $0 } ?? true }
    }
}
