import Foundation
import Testing
@testable import VaultSimProviders

/// SigV4 verification, checked against the vector computed with alter-sdk 0.11.0's signer
/// (PROTOCOL.md §4.3).
struct SigV4VerifierTests {
    static let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
    static let body = Data(#"{"k": "v"}"#.utf8)

    static func headers(signature: String = "54eb22dbbbabc8c9317c02cfc281f0654fae1e9b2d5a05015a34f4ba50f1117c") -> [String: String] {
        [
            "host": "127.0.0.1:8080",
            "x-amz-date": "20250102T030405Z",
            "x-amz-content-sha256": "4be281edc378f1c5e5eb9c15f9dbf5a80da2977981850f93553d5d70b75f1626",
            "authorization": "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20250102/us-east-1/execute-api/aws4_request, SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=\(signature)",
        ]
    }

    @Test func theSDKsVectorVerifies() throws {
        try SigV4Verifier.verify(method: "POST", rawPath: "/provider/echo", rawQuery: "", headers: Self.headers(), body: Self.body, secretKey: Self.secret)
    }

    @Test func wrongSecretFails() {
        #expect(throws: SigV4Verifier.Failure.signatureMismatch) {
            try SigV4Verifier.verify(method: "POST", rawPath: "/provider/echo", rawQuery: "", headers: Self.headers(), body: Self.body, secretKey: "other")
        }
    }

    @Test func unsignedQueryBreaksTheSignature() {
        #expect(throws: SigV4Verifier.Failure.signatureMismatch) {
            try SigV4Verifier.verify(method: "POST", rawPath: "/provider/echo", rawQuery: "a=1", headers: Self.headers(), body: Self.body, secretKey: Self.secret)
        }
    }

    @Test func tamperedBodyFailsTheContentHash() {
        #expect(throws: SigV4Verifier.Failure.contentHashMismatch) {
            try SigV4Verifier.verify(method: "POST", rawPath: "/provider/echo", rawQuery: "", headers: Self.headers(), body: Data("{}".utf8), secretKey: Self.secret)
        }
    }

    @Test func authorizationIsParsed() {
        let auth = SigV4Verifier.parseAuthorization(Self.headers()["authorization"]!)
        #expect(auth?.accessKeyID == "AKIDEXAMPLE")
        #expect(auth?.region == "us-east-1")
        #expect(auth?.service == "execute-api")
        #expect(auth?.signedHeaders == ["host", "x-amz-content-sha256", "x-amz-date"])
    }
}
