import Foundation
import Synchronization

/// The sandbox's sense of time: the wall clock plus an offset that scenarios can advance,
/// so that hours pass in microseconds. Token expiry, grant TTLs and audit timestamps use it.
/// Request signing does not: the SDK signs with the real wall clock.
public final class VirtualClock: Sendable {
    private let offset = Mutex<TimeInterval>(0)

    public init() {}

    public var now: Date { Date().addingTimeInterval(offset.withLock { $0 }) }

    /// Moves virtual time forward.
    public func advance(by seconds: TimeInterval) {
        precondition(seconds >= 0, "the virtual clock only moves forward")
        offset.withLock { $0 += seconds }
    }

    public var offsetSeconds: TimeInterval { offset.withLock { $0 } }
}

extension Date {
    /// RFC 3339 / ISO 8601 with seconds precision and a `Z` zone, as the vault writes timestamps.
    public var rfc3339: String {
        self.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }
}
