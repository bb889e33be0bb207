import Foundation
import Testing
@testable import VaultSimCore

/// The newer generations' signing, checked against vectors computed with alter-sdk 0.29.0's own
/// signer (its `__compute_hmac_headers`, clock and nonce pinned): the six-line string, the query
/// canonicalisation, V2 with actor lines, and the downgrade refusal.
struct SigningGenerationsTests {
    static let apiKey = "alter_key_" + String(repeating: "A", count: 40)
    static let time = Date(timeIntervalSince1970: 1_767_225_600.5)
    static let nonce = "0123456789abcdef0123456789abcdef"
    static let emptyHash = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

    static func headers(_ signature: String, hash: String = emptyHash, _ extra: [String: String] = [:]) -> [String: String] {
        ["x-alter-timestamp": "1767225600", "x-alter-nonce": nonce, "x-alter-content-sha256": hash, "x-alter-signature": signature,
         "user-agent": "alter-sdk-python/0.29.0"].merging(extra) { _, new in new }
    }

    func verify(_ method: String, path: String, query: String = "", body: Data = Data(), headers: [String: String]) throws(SignatureFailure) -> String {
        try HMACVerifier(wallClock: { Self.time }).verify(method: method, path: CanonicalPath.of(path: path, query: query), body: body,
                                                           headers: headers, apiKey: Self.apiKey)
    }

    @Test func sixLinePOSTVerifies() throws {
        let scheme = try verify("POST", path: "/sdk/token", body: Data(#"{"grant_id":"x"}"#.utf8),
                                headers: Self.headers("b003f43b7feb48ae09c05d37515f87a94e5a6ed37d19e31e060cbdec3da9cef4",
                                                      hash: "1c6330f309e95494dc6ad64a546afd519f00f70e0f7e8c647e6c50c23121335b"))
        #expect(scheme == "six-line")
    }

    @Test func getWithAnEncodedPathAndAnUnsortedQueryVerifies() throws {
        // Signed by the SDK as "/sdk/approvals/a%2Fb?z=1&a=hello world&a=%C3%A9&b=": on the wire
        // the path keeps its escape and httpx encodes the query.
        #expect(CanonicalPath.of(path: "/sdk/approvals/a%2Fb", query: "z=1&a=hello%20world&a=%C3%A9&b=")
            == "/sdk/approvals/a/b?a=hello+world&a=%C3%A9&b=&z=1")
        let scheme = try verify("GET", path: "/sdk/approvals/a%2Fb", query: "z=1&a=hello%20world&a=%C3%A9&b=",
                                headers: Self.headers("1b5ecad2bf22ef5e09da7beb85919ea9e485d13ab0a4bb1bb52daeac3b213a8d"))
        #expect(scheme == "six-line")
    }

    @Test func scopeConstraintsAreBound() throws {
        let signature = "96167356b60139fce504783a832f8cd7ee3c4bc9d7f3464ed1c40fac2554f289"
        #expect(try verify("PATCH", path: "/sdk/x", headers: Self.headers(signature, ["x-alter-scope-constraints": "gmail.readonly"])) == "six-line")
        #expect(throws: SignatureFailure.self) {
            try verify("PATCH", path: "/sdk/x", headers: Self.headers(signature, ["x-alter-scope-constraints": "gmail.send"]))
        }
    }

    @Test func v2BindsTheActorHeaders() throws {
        let signature = "5b947579fca1893fb6267500eb70f3b1237be73accef7850d632d2cccc09c959"
        let actor = ["x-alter-caller": "my-agent", "x-alter-caller-type": "agent",
                     "x-alter-actor-id": "b0b0b0b0-0000-4000-8000-000000000001", "x-alter-context": #"{"k":"v"}"#,
                     "x-alter-signature-v2": signature]
        #expect(try verify("DELETE", path: "/sdk/grants/g1/delegations/me", headers: Self.headers(signature, actor)) == "v2")
        // A changed caller no longer verifies.
        #expect(throws: SignatureFailure.self) {
            try verify("DELETE", path: "/sdk/grants/g1/delegations/me",
                       headers: Self.headers(signature, actor.merging(["x-alter-caller": "other-agent"]) { _, new in new }))
        }
        // The V2 header must carry the same digest.
        #expect(throws: SignatureFailure(code: "invalid_signature", message: "X-Alter-Signature-V2 differs from X-Alter-Signature")) {
            try verify("DELETE", path: "/sdk/grants/g1/delegations/me",
                       headers: Self.headers(signature, actor.merging(["x-alter-signature-v2": String(repeating: "0", count: 64)]) { _, new in new }))
        }
    }

    @Test func theRequestRuleLineIsLabelled() throws {
        let request = SignedRequest(method: "POST", path: "/sdk/token", timestamp: "1", nonce: "n", contentSHA256: "h",
                                    headers: ["x-alter-request-rule": "eyJydWxlIjoxfQ"])
        #expect(SixLineSignatureScheme().stringToSign(for: request) == "POST\n/sdk/token\n1\nn\nh\n\nrequest-rule:eyJydWxlIjoxfQ")
        #expect(V2SignatureScheme().stringToSign(for: request) == nil)
    }

    @Test func aV2GenerationRequestWhoseCallerIsNotBoundIsADowngrade() throws {
        // The caller headers sent under a legacy (six-line) signature.
        let key = RequestSigning.signingKey(apiKey: Self.apiKey)
        var headers = Self.headers("", ["x-alter-caller": "my-agent", "x-alter-caller-type": "agent"])
        let request = SignedRequest(method: "POST", path: "/sdk/token", timestamp: "1767225600", nonce: Self.nonce,
                                    contentSHA256: Self.emptyHash, headers: headers)
        headers["x-alter-signature"] = SixLineSignatureScheme().expectedSignature(for: request, signingKey: key)
        #expect(throws: SignatureFailure.self) { try verify("POST", path: "/sdk/token", headers: headers) }
        do {
            _ = try verify("POST", path: "/sdk/token", headers: headers)
        } catch {
            #expect(error.code == "signature_downgrade")
        }
        // alter-sdk 0.11 sends the same headers with a legacy signature by design.
        headers["user-agent"] = "alter-sdk-python/0.11.0"
        headers["x-alter-nonce"] = "another-nonce"
        let old = SignedRequest(method: "POST", path: "/sdk/token", timestamp: "1767225600", nonce: "another-nonce",
                                contentSHA256: Self.emptyHash, headers: headers)
        headers["x-alter-signature"] = FiveLineSignatureScheme().expectedSignature(for: old, signingKey: key)
        #expect(try verify("POST", path: "/sdk/token", headers: headers) == "five-line")
    }

    @Test func userAgentVersions() {
        #expect(SDKGeneration.version(userAgent: "alter-sdk-python/0.29.0") == [0, 29, 0])
        #expect(SDKGeneration.version(userAgent: "alter-sdk-python/0.21") == [0, 21, 0])
        #expect(!SDKGeneration.signsV2(userAgent: "alter-sdk-python/0.20.1"))
        #expect(SDKGeneration.version(userAgent: "curl/8.0") == nil)
        #expect(SDKGeneration.version(userAgent: "alter-sdk-python/") == nil)
        #expect(SDKGeneration.signsV2(userAgent: "alter-sdk-python/0.29.0"))
        #expect(!SDKGeneration.signsV2(userAgent: "alter-sdk-python/0.11.0"))
        #expect(!SDKGeneration.signsV2(userAgent: nil))
    }
}
