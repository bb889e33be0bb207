import Foundation
import Synchronization

/// The sandbox's sense of time: the wall clock shifted by an offset that scenarios can advance
/// or set (so hours pass in microseconds), optionally frozen. Token expiry, codes, grant TTLs
/// and audit timestamps use it. Request signing does not: the SDK signs with the real clock.
public final class VirtualClock: Sendable {
    private struct State {
        var offset: TimeInterval = 0
        /// When frozen, the instant the clock shows, whatever the wall clock does.
        var frozenAt: Date?
    }

    private let state = Mutex(State())

    /// The span a clock may be moved by or set within, so no date leaves what the store and
    /// Foundation represent (about ±100 years from now).
    public static let maxShift: TimeInterval = 100 * 365.25 * 86400

    public init() {}

    public var now: Date {
        state.withLock { $0.frozenAt ?? Date().addingTimeInterval($0.offset) }
    }

    /// Moves virtual time forward; returns false, changing nothing, for a negative or
    /// non-finite amount or one that would put the clock more than `maxShift` from the wall clock.
    @discardableResult
    public func advance(by seconds: TimeInterval) -> Bool {
        guard seconds.isFinite, seconds >= 0, seconds <= Self.maxShift else { return false }
        return state.withLock { state in
            let ahead = (state.frozenAt?.timeIntervalSinceNow ?? state.offset) + seconds
            guard ahead <= Self.maxShift else { return false }
            state.offset += seconds
            state.frozenAt = state.frozenAt?.addingTimeInterval(seconds)
            return true
        }
    }

    /// Shows `date` from now on (moving on with the wall clock unless frozen). Returns false,
    /// changing nothing, for a date more than `maxShift` away from the wall clock.
    @discardableResult
    public func set(to date: Date) -> Bool {
        let offset = date.timeIntervalSinceNow
        guard offset.isFinite, abs(offset) <= Self.maxShift else { return false }
        state.withLock { state in
            state.offset = offset
            if state.frozenAt != nil { state.frozenAt = date }
        }
        return true
    }

    /// Stops (true) or restarts (false) the clock at the instant it shows.
    public func freeze(_ frozen: Bool) {
        state.withLock { state in
            if frozen, state.frozenAt == nil {
                state.frozenAt = Date().addingTimeInterval(state.offset)
            } else if !frozen, let at = state.frozenAt {
                state.offset = at.timeIntervalSinceNow
                state.frozenAt = nil
            }
        }
    }

    public var isFrozen: Bool { state.withLock { $0.frozenAt != nil } }

    public var offsetSeconds: TimeInterval { state.withLock { ($0.frozenAt?.timeIntervalSinceNow) ?? $0.offset } }
}

extension Date {
    /// RFC 3339 / ISO 8601 with seconds precision and a `Z` zone, as the vault writes timestamps.
    public var rfc3339: String {
        self.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    /// As a person reads it on a page: `7 December 2026, 14:05 UTC`.
    public var readable: String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(secondsFromGMT: 0)
        formatter.dateFormat = "d MMMM yyyy, HH:mm 'UTC'"
        return formatter.string(from: self)
    }
}
