import Foundation
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
        #expect(scheme == "v1-five-line")
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
}
