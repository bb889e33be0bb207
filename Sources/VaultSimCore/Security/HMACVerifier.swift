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

    public init(schemes: [any SignatureScheme] = [FiveLineSignatureScheme()], allowedSkew: TimeInterval = 300,
                wallClock: @escaping @Sendable () -> Date = { Date() }) {
        self.schemes = schemes
        self.allowedSkew = allowedSkew
        self.nonces = NonceCache(retention: allowedSkew * 2)
        self.wallClock = wallClock
    }

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
        let key = RequestSigning.signingKey(apiKey: apiKey)
        guard let scheme = schemes.first(where: { scheme in
            scheme.expectedSignature(for: request, signingKey: key).map { Self.constantTimeEqual($0, signature.lowercased()) } ?? false
        }) else {
            throw SignatureFailure(code: "invalid_signature", message: "Request signature does not verify")
        }
        guard let seconds = Int(timestamp), abs(wallClock().timeIntervalSince1970 - Double(seconds)) <= allowedSkew else {
            throw SignatureFailure(code: "stale_timestamp",
                                   message: "X-Alter-Timestamp is outside the allowed skew of \(Int(allowedSkew)) s")
        }
        guard nonces.insert(nonce, scope: apiKey, at: wallClock()) else {
            throw SignatureFailure(code: "replayed_nonce", message: "X-Alter-Nonce was already used")
        }
        return scheme.name
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in 0..<x.count { difference |= x[i] ^ y[i] }
        return difference == 0
    }
}

/// Nonces seen per API key, kept for `retention` seconds; in memory (they only matter while
/// a timestamp could still pass the skew check).
final class NonceCache: Sendable {
    private struct State {
        var seen: [String: Date] = [:]
        var lastSweep = Date.distantPast
    }

    private let state = Mutex(State())
    private let retention: TimeInterval

    init(retention: TimeInterval) { self.retention = retention }

    /// Records the nonce; false if it was already there.
    func insert(_ nonce: String, scope: String, at now: Date) -> Bool {
        let key = scope + "\u{0}" + nonce
        return state.withLock { state in
            if now.timeIntervalSince(state.lastSweep) > retention / 4 {
                state.seen = state.seen.filter { now.timeIntervalSince($0.value) < retention }
                state.lastSweep = now
            }
            if let seenAt = state.seen[key], now.timeIntervalSince(seenAt) < retention { return false }
            state.seen[key] = now
            return true
        }
    }
}
