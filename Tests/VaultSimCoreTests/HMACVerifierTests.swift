import Foundation
import Synchronization
import Testing
@testable import VaultSimCore

/// The SDK's request signing, checked against the test vector computed with alter-sdk 0.11.0's
/// own signer (PROTOCOL.md §2), and the verifier's refusals.
struct HMACVerifierTests {
    static let apiKey = "alter_key_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
    static let body = Data(#"{"grant_id":"11111111-2222-4333-8444-555555555555","reason":null,"request":{"method":"GET","url":"https://api.example.com/v1/me"}}"#.utf8)
    static let vectorTime = Date(timeIntervalSince1970: 1_700_000_000.7)

    static func vectorHeaders() -> [String: String] {
        [
            "x-alter-timestamp": "1700000000",
            "x-alter-nonce": "00112233445566778899aabbccddeeff",
            "x-alter-content-sha256": "89f9ea5866a0479e1f0a266afee54c9c37c9dcd7ef0bf14c61df45de00a2165b",
            "x-alter-signature": "28f7d221c092d9c1479fd13240361ba67f893fc15eda8e17b00d6dcf014c6e0e",
        ]
    }

    @Test func signingKeyMatchesTheSDKsDerivation() {
        let key = RequestSigning.signingKey(apiKey: Self.apiKey)
        #expect(key.withUnsafeBytes { Array($0) }.hexString == "81bdaf90565ae9c2cc8e6fd3096d4492fcdbe9d15cd462c278f1baa41dee5bba")
        #expect(RequestSigning.sha256Hex(Data("{}".utf8)) == "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a")
    }

    @Test func theSDKsTestVectorVerifies() throws {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        let scheme = try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        #expect(scheme == "five-line")
    }

    @Test func ourSignerProducesTheSDKsSignature() {
        let headers = RequestSigning.sign(method: "POST", path: "/sdk/token", body: Self.body, apiKey: Self.apiKey,
                                          timestamp: 1_700_000_000, nonce: "00112233445566778899aabbccddeeff")
        #expect(headers["X-Alter-Signature"] == Self.vectorHeaders()["x-alter-signature"])
    }

    @Test func forgedSignatureIsRejected() {
        var headers = Self.vectorHeaders()
        headers["x-alter-signature"] = "0" + headers["x-alter-signature"]!.dropFirst()
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        #expect(throws: SignatureFailure(code: "invalid_signature", message: "Request signature does not verify")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: headers, apiKey: Self.apiKey)
        }
    }

    @Test func signatureWithAnotherKeyIsRejected() {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        #expect(throws: SignatureFailure.self) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(),
                                apiKey: "alter_key_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB")
        }
    }

    @Test func signatureOverAnotherPathIsRejected() {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        #expect(throws: SignatureFailure.self) {
            try verifier.verify(method: "POST", path: "/sdk/oauth/grants/list", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        }
    }

    @Test func tamperedBodyIsRejectedByContentHash() {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        let tampered = Data(String(decoding: Self.body, as: UTF8.self).replacingOccurrences(of: "GET", with: "PUT").utf8)
        #expect(throws: SignatureFailure(code: "content_hash_mismatch", message: "X-Alter-Content-SHA256 does not match the request body")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: tampered, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        }
    }

    @Test(arguments: [-301.0, 301.0, 3600.0])
    func staleTimestampIsRejected(skew: Double) {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime.addingTimeInterval(skew) })
        #expect(throws: SignatureFailure.self) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        }
    }

    @Test func timestampWithinSkewIsAccepted() throws {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime.addingTimeInterval(299) })
        try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
    }

    @Test func replayedNonceIsRejected() throws {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        #expect(throws: SignatureFailure(code: "replayed_nonce", message: "X-Alter-Nonce was already used")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        }
    }

    @Test func missingSignatureHeaderIsNamed() {
        var headers = Self.vectorHeaders()
        headers["x-alter-nonce"] = nil
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        #expect(throws: SignatureFailure.missing("X-Alter-Nonce")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: headers, apiKey: Self.apiKey)
        }
    }

    // MARK: the replay cache stays bounded

    /// Headers of a request signed at `timestamp` with `nonce`, keyed in lower case as the gateway passes them.
    static func signedHeaders(timestamp: Int, nonce: String, apiKey: String = HMACVerifierTests.apiKey) -> [String: String] {
        let signed = RequestSigning.sign(method: "POST", path: "/sdk/token", body: Self.body, apiKey: apiKey, timestamp: timestamp, nonce: nonce)
        return Dictionary(uniqueKeysWithValues: signed.map { ($0.key.lowercased(), $0.value) })
    }

    static func nonce(_ i: Int) -> String {
        let hex = String(i, radix: 16)
        return String(repeating: "0", count: 32 - hex.count) + hex
    }

    @Test func nonceCacheKeepsOnlyTheReplayWindowAsTimeMovesOn() throws {
        let clock = ManualClock(Self.vectorTime)
        let verifier = HMACVerifier(wallClock: { clock.now })
        var largest = 0
        var signed: [[String: String]] = []
        for i in 0..<3000 {
            clock.advance(by: 1)
            let headers = Self.signedHeaders(timestamp: Int(clock.now.timeIntervalSince1970), nonce: Self.nonce(i))
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: headers, apiKey: Self.apiKey)
            signed.append(headers)
            largest = max(largest, verifier.cachedNonceCount)
        }
        // One request a second, each nonce kept 2 × 300 s (+ rounding): never more than ~602 at once.
        #expect(largest <= 2 * 300 + 2)
        #expect(verifier.cachedNonceCount <= 2 * 300 + 2)
        // A replay inside the window is still refused as a replay...
        #expect(throws: SignatureFailure(code: "replayed_nonce", message: "X-Alter-Nonce was already used")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: signed[2990], apiKey: Self.apiKey)
        }
        // ...and one whose nonce was forgotten is refused for its stale timestamp.
        #expect(throws: SignatureFailure(code: "stale_timestamp", message: "X-Alter-Timestamp is outside the allowed skew of 300 s")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: signed[0], apiKey: Self.apiKey)
        }
    }

    @Test func nonceCacheHasAHardCapAndForgetsTheOldestFirst() throws {
        let clock = ManualClock(Self.vectorTime)
        let verifier = HMACVerifier(nonceCapacity: 100, wallClock: { clock.now })
        var signed: [[String: String]] = []
        for i in 0..<1000 {
            if i % 100 == 0 { clock.advance(by: 1) }
            let headers = Self.signedHeaders(timestamp: Int(clock.now.timeIntervalSince1970), nonce: Self.nonce(i))
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: headers, apiKey: Self.apiKey)
            signed.append(headers)
            #expect(verifier.cachedNonceCount <= 100)
        }
        #expect(throws: SignatureFailure(code: "replayed_nonce", message: "X-Alter-Nonce was already used")) {
            try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: signed[999], apiKey: Self.apiKey)
        }
    }

    @Test func theSameNonceUnderAnotherAPIKeyIsNotAReplay() throws {
        let verifier = HMACVerifier(wallClock: { Self.vectorTime })
        let other = "alter_key_BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB"
        try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: Self.vectorHeaders(), apiKey: Self.apiKey)
        let headers = Self.signedHeaders(timestamp: 1_700_000_000, nonce: "00112233445566778899aabbccddeeff", apiKey: other)
        try verifier.verify(method: "POST", path: "/sdk/token", body: Self.body, headers: headers, apiKey: other)
        #expect(verifier.cachedNonceCount == 2)
    }
}

/// A wall clock a test moves by hand.
final class ManualClock: Sendable {
    private let state: Mutex<Date>

    init(_ start: Date) { state = Mutex(start) }

    var now: Date { state.withLock { $0 } }

    func advance(by seconds: TimeInterval) { state.withLock { $0 = $0.addingTimeInterval(seconds) } }
}
