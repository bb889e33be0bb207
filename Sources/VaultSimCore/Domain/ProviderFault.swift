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
    /// Close the connection after the request instead of answering (after any delay): the
    /// client sees the connection dropped mid-answer.
    public var drop = false
    /// Only requests whose raw query string contains this.
    public var queryContains: String?
    /// Only requests whose body contains this.
    public var bodyContains: String?
    /// Only requests with these headers (lower-case name → text the value contains).
    public var headerContains: [String: String] = [:]
    /// Slow, not wrong: the request goes on to the provider (or the vault) as usual, and its
    /// answer reaches the client `delayMilliseconds` later. `status`, `body` and `headers` are
    /// then not used.
    public var passThrough = false

    /// What a fault may look at in a request besides its method and path.
    public struct RequestTraits: Sendable {
        public var host: String?
        public var caller: String?
        public var query: String
        public var body: String
        public var headers: [String: String]

        public init(host: String? = nil, caller: String? = nil, query: String = "", body: String = "", headers: [String: String] = [:]) {
            self.host = host
            self.caller = caller
            self.query = query
            self.body = body
            self.headers = headers
        }
    }

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

    func matches(providerID: String, method: String, path: String, traits: RequestTraits) -> Bool {
        providerID == self.providerID
            && (self.method.map { $0.uppercased() == method.uppercased() } ?? true)
            && (pathPrefix.map { path.hasPrefix($0) } ?? true)
            && (self.host.map { $0.lowercased() == traits.host?.lowercased() } ?? true)
            && (self.caller.map { $0 == traits.caller } ?? true)
            && (queryContains.map { traits.query.contains($0) } ?? true)
            && (bodyContains.map { traits.body.contains($0) } ?? true)
            && headerContains.allSatisfy { name, text in traits.headers[name]?.contains(text) ?? false }
    }

    /// A short description: what it matches and what it answers.
    public var summary: String {
        var parts = [providerID]
        if let host { parts.append("host \(host)") }
        if let caller { parts.append("caller \(caller)") }
        if let method { parts.append(method) }
        if let pathPrefix { parts.append("path \(pathPrefix)*") }
        if let queryContains { parts.append("query ∋ \(queryContains)") }
        if let bodyContains { parts.append("body ∋ \(bodyContains)") }
        for (name, text) in headerContains.sorted(by: { $0.key < $1.key }) { parts.append("\(name) ∋ \(text)") }
        let answer = drop ? " → dropped connection" : passThrough ? " → the usual answer" : " → \(status)"
        return parts.joined(separator: " ") + answer + (delayMilliseconds > 0 ? " after \(delayMilliseconds) ms" : "")
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
    public func take(providerID: String, method: String, path: String, traits: ProviderFault.RequestTraits = .init()) -> ProviderFault? {
        faults.withLock { faults in
            guard let index = faults.firstIndex(where: {
                $0.hasUsesLeft && $0.fault.matches(providerID: providerID, method: method, path: path, traits: traits)
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

    /// Ends the faults of one provider (or all of them): they answer nothing from now on.
    /// Their report stays, so a fault cleared before it ever fired still fails its scenario.
    public func clear(providerID: String? = nil) {
        faults.withLock { faults in
            for index in faults.indices where providerID.map({ faults[index].fault.providerID == $0 }) ?? true {
                faults[index].cleared = true
            }
        }
    }

    private struct Entry {
        var fault: ProviderFault
        var fired: Int
        var cleared = false
        var hasUsesLeft: Bool { !cleared && (fault.times.map { fired < $0 } ?? true) }
    }
}
