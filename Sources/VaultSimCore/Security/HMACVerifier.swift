import Crypto
import Foundation
import Synchronization

/// Why a signed backend request was refused. Each becomes a 401 with its own `error` code.
public struct SignatureFailure: Error, Sendable, Equatable {
    public var code: String
    public var message: String

    static func missing(_ header: String) -> SignatureFailure {
        SignatureFailure(code: "missing_signature", message: "Missing \(header) header")
    }
}

/// Checks the HMAC headers of SDK requests: content hash, signature (constant-time, by any
/// configured scheme), timestamp within the allowed skew of the wall clock, and nonce never
/// seen before within the replay window.
public final class HMACVerifier: Sendable {
    public let schemes: [any SignatureScheme]
    public let allowedSkew: TimeInterval
    private let nonces: NonceCache
    private let wallClock: @Sendable () -> Date

    /// Every scheme an alter-sdk 0.8–0.29 signs with, the oldest first.
    public static let everyGeneration: [any SignatureScheme] = [FiveLineSignatureScheme(), SixLineSignatureScheme(), V2SignatureScheme()]

    /// The most nonces kept at once by default (about 40 MB at most); see `NonceCache`.
    public static let defaultNonceCapacity = 1_000_000

    /// - Parameters:
    ///   - schemes: the signing schemes accepted, tried in order.
    ///   - allowedSkew: how far a request's timestamp may be from the wall clock, in seconds.
    ///   - nonceCapacity: the most nonces remembered at once; past it the oldest are forgotten.
    ///   - wallClock: the real clock (the SDK signs with it); injectable for tests.
    public init(schemes: [any SignatureScheme] = HMACVerifier.everyGeneration, allowedSkew: TimeInterval = 300,
                nonceCapacity: Int = HMACVerifier.defaultNonceCapacity,
                wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.schemes = schemes
        self.allowedSkew = allowedSkew
        self.nonces = NonceCache(retention: allowedSkew * 2, capacity: nonceCapacity)
        self.wallClock = wallClock
    }

    /// How many nonces the replay cache holds now (for tests and diagnostics).
    public var cachedNonceCount: Int { nonces.count }

    /// Verifies one request. `headers` are keyed by lower-case name.
    /// - Returns: the name of the scheme that matched.
    @discardableResult
    public func verify(method: String, path: String, body: Data, headers: [String: String], apiKey: String) throws(SignatureFailure) -> String {
        guard let timestamp = headers["x-alter-timestamp"] else { throw .missing("X-Alter-Timestamp") }
        guard let nonce = headers["x-alter-nonce"] else { throw .missing("X-Alter-Nonce") }
        guard let contentHash = headers["x-alter-content-sha256"] else { throw .missing("X-Alter-Content-SHA256") }
        guard let signature = headers["x-alter-signature"] else { throw .missing("X-Alter-Signature") }

        guard contentHash.lowercased() == RequestSigning.sha256Hex(body) else {
            throw SignatureFailure(code: "content_hash_mismatch", message: "X-Alter-Content-SHA256 does not match the request body")
        }
        let request = SignedRequest(method: method, path: path, timestamp: timestamp, nonce: nonce,
                                    contentSHA256: contentHash, headers: headers)
        // A V2 digest travels in both headers; one that differs, or a V2 header beside a
        // signature that is not V2, is a tampered request.
        let v2Header = headers["x-alter-signature-v2"]
        if let v2Header, !Self.constantTimeEqual(v2Header.lowercased(), signature.lowercased()) {
            throw SignatureFailure(code: "invalid_signature", message: "X-Alter-Signature-V2 differs from X-Alter-Signature")
        }
        let key = RequestSigning.signingKey(apiKey: apiKey)
        let candidates = v2Header == nil ? schemes : schemes.filter { $0 is V2SignatureScheme }
        guard let scheme = candidates.first(where: { scheme in
            scheme.expectedSignature(for: request, signingKey: key).map { Self.constantTimeEqual($0, signature.lowercased()) } ?? false
        }) else {
            throw SignatureFailure(code: "invalid_signature", message: "Request signature does not verify")
        }
        // An SDK of the V2 generation signs its actor headers; the same headers under a legacy
        // signature were stripped of their binding on the way (a downgrade).
        if !(scheme is V2SignatureScheme), SDKGeneration.signsV2(userAgent: headers["user-agent"]),
           let bound = V2SignatureScheme.actorLines.first(where: { !(headers[$0.header] ?? "").isEmpty }) {
            throw SignatureFailure(code: "signature_downgrade",
                                   message: "\(headers["user-agent"] ?? "This SDK") signs V2, but this request's \(bound.header) header is not bound by its signature")
        }
        let now = wallClock()
        guard let seconds = Int(timestamp), abs(now.timeIntervalSince1970 - Double(seconds)) <= allowedSkew else {
            throw SignatureFailure(code: "stale_timestamp",
                                   message: "X-Alter-Timestamp is outside the allowed skew of \(Int(allowedSkew)) s")
        }
        guard nonces.insert(nonce, scope: apiKey, at: now) else {
            throw SignatureFailure(code: "replayed_nonce", message: "X-Alter-Nonce was already used")
        }
        return scheme.name
    }

    public static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

/// The nonces seen in the replay window, bounded by construction.
///
/// - **Time.** A nonce is kept for `retention` (twice the allowed skew) after it was first seen:
///   a request signed at `t` passes the skew check only until `t + skew`, and it can arrive no
///   earlier than `t - skew`, so after `2 × skew` a replay is refused as stale anyway. Nonces sit
///   in a ring of one-second buckets; moving into a new second empties the buckets that fell out
///   of the window, so each nonce is evicted once (O(1) amortized, no sweeps of the whole set).
/// - **Size.** Each entry is 16 bytes (`Key`): the first 128 bits of SHA-256 over the API key
///   and the nonce, so any nonce format and any number of API keys cost the same. Two different
///   (key, nonce) pairs collide with probability about n²/2¹²⁹, which is nil for any n we hold.
/// - **Count.** At most `capacity` entries. When full, the oldest second's nonces are forgotten
///   first (rather than refusing requests). That weakens replay protection only for requests
///   older than the last `capacity` signed ones, and only the holder of an API key can produce
///   signed requests at that rate; refusing instead would let one busy client lock out all.
///
/// The wall clock may step back: a nonce is then filed under the newest second seen, so it is
/// kept a little longer, never shorter.
final class NonceCache: Sendable {
    struct Key: Hashable, Sendable {
        var high: UInt64
        var low: UInt64
    }

    private struct Bucket {
        var second: Int64
        var keys: [Key] = []
    }

    private struct State {
        var seen = Set<Key>()
        var buckets: [Bucket]
        /// The newest second a nonce was filed under; nil before the first.
        var newest: Int64?
        /// Where to look first for the oldest nonces when the cache is full.
        var oldestHint: Int64 = 0
    }

    private let state: Mutex<State>
    /// Whole seconds a nonce is kept after it was first seen.
    let retentionSeconds: Int64
    let capacity: Int

    init(retention: TimeInterval, capacity: Int = HMACVerifier.defaultNonceCapacity) {
        // One second more than asked, so rounding the clock to whole seconds never shortens it;
        // at most a day, so an absurd skew cannot make the ring huge.
        let seconds = retention.isFinite ? Int64(min(max(retention.rounded(.up), 1), 86_400)) + 1 : 86_401
        self.retentionSeconds = seconds
        self.capacity = max(capacity, 1)
        self.state = Mutex(State(buckets: (0...seconds).map { _ in Bucket(second: Int64.min) }))
    }

    var count: Int { state.withLock { $0.seen.count } }

    /// Records the nonce; false if it was already there.
    func insert(_ nonce: String, scope: String, at now: Date) -> Bool {
        let key = Self.key(nonce: nonce, scope: scope)
        let wall = now.timeIntervalSince1970
        let second = wall.isFinite ? Int64(min(max(wall.rounded(.down), -1e15), 1e15)) : 0
        return state.withLock { state in
            let current = advance(&state, to: second)
            if state.seen.contains(key) { return false }
            if state.seen.count >= capacity { evictOldest(&state, current: current) }
            state.seen.insert(key)
            state.buckets[index(current)].keys.append(key)
            return true
        }
    }

    /// Moves the window to `second` (never back) and empties the buckets that left it.
    private func advance(_ state: inout State, to second: Int64) -> Int64 {
        guard let newest = state.newest else {
            state.newest = second
            state.oldestHint = second
            state.buckets[index(second)] = Bucket(second: second)
            return second
        }
        guard second > newest else { return newest }
        // At most one lap of the ring: every bucket older than the window is reset.
        let first = max(newest + 1, second - retentionSeconds)
        for s in first...second {
            let i = index(s)
            for key in state.buckets[i].keys { state.seen.remove(key) }
            state.buckets[i] = Bucket(second: s)
        }
        state.newest = second
        state.oldestHint = max(state.oldestHint, second - retentionSeconds)
        return second
    }

    /// Forgets one nonce of the oldest second that still has any.
    private func evictOldest(_ state: inout State, current: Int64) {
        var s = max(state.oldestHint, current - retentionSeconds)
        while s <= current {
            let i = index(s)
            if state.buckets[i].second == s, let key = state.buckets[i].keys.popLast() {
                state.seen.remove(key)
                state.oldestHint = s
                return
            }
            s += 1
        }
    }

    private func index(_ second: Int64) -> Int {
        let count = retentionSeconds + 1
        return Int(((second % count) + count) % count)
    }

    static func key(nonce: String, scope: String) -> Key {
        var hasher = SHA256()
        hasher.update(data: Data(scope.utf8))
        hasher.update(data: Data([0]))
        hasher.update(data: Data(nonce.utf8))
        let digest = Array(hasher.finalize())
        var high: UInt64 = 0, low: UInt64 = 0
        for i in 0..<8 {
            high = high << 8 | UInt64(digest[i])
            low = low << 8 | UInt64(digest[8 + i])
        }
        return Key(high: high, low: low)
    }
}
