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

    public init(providerID: String, method: String? = nil, pathPrefix: String? = nil, status: Int, body: String,
                headers: [String: String] = ["content-type": "application/json"], delayMilliseconds: Int = 0, times: Int? = nil) {
        self.providerID = providerID
        self.method = method
        self.pathPrefix = pathPrefix
        self.status = status
        self.body = body
        self.headers = headers
        self.delayMilliseconds = delayMilliseconds
        self.times = times
    }

    func matches(providerID: String, method: String, path: String) -> Bool {
        providerID == self.providerID
            && (self.method.map { $0.uppercased() == method.uppercased() } ?? true)
            && (pathPrefix.map { path.hasPrefix($0) } ?? true)
    }
}

/// The faults in force in one sandbox, consumed in order.
public final class FaultBook: Sendable {
    private let faults = Mutex<[ProviderFault]>([])

    public init() {}

    public func add(_ fault: ProviderFault) {
        faults.withLock { $0.append(fault) }
    }

    /// The first fault matching the request, with one use taken from it.
    public func take(providerID: String, method: String, path: String) -> ProviderFault? {
        faults.withLock { faults in
            guard let index = faults.firstIndex(where: { $0.matches(providerID: providerID, method: method, path: path) }) else {
                return nil
            }
            let fault = faults[index]
            if let times = fault.times {
                if times <= 1 { faults.remove(at: index) } else { faults[index].times = times - 1 }
            }
            return fault
        }
    }

    public var all: [ProviderFault] { faults.withLock { $0 } }
}
