import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios

/// Placeholders that replace secrets in every form, and stand-ins that take their place at replay.
struct RedactionTests {
    static let token = "ya29.a0AfH6SMBx/Secret+Value=="
    static let secrets = [RedactionSecret(.accessToken, token), RedactionSecret(.refreshToken, "1//0gRefreshSecret"),
                          RedactionSecret(.managedSecret, "s3cr3t-password")]

    @Test func aSecretIsReplacedRawURLEncodedAndBase64WithOnePlaceholder() {
        var redactor = Redactor(secrets: Self.secrets)
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        let url = Self.token.addingPercentEncoding(withAllowedCharacters: unreserved)!
        #expect(url != Self.token)
        let base64 = Data(Self.token.utf8).base64EncodedString()
        let text = "raw \(Self.token) url \(url) b64 \(base64)"
        let redacted = redactor.redact(text)
        #expect(redacted == "raw <<access_token:1>> url <<access_token:1>> b64 <<access_token:1>>")
        // Another secret gets the next number of its own kind; the first keeps its placeholder.
        #expect(redactor.redact("1//0gRefreshSecret and \(Self.token)") == "<<refresh_token:1>> and <<access_token:1>>")
        #expect(redactor.placeholders == ["<<access_token:1>>", "<<refresh_token:1>>"])
    }

    @Test func basicCredentialsAreRedactedInsideOrWhole() {
        var redactor = Redactor(secrets: Self.secrets)
        // user:password, the password a secret: decoded, redacted, encoded again.
        let parts = "Basic " + Data("loyalty-service:s3cr3t-password".utf8).base64EncodedString()
        let redacted = redactor.redact(header: "Authorization", value: parts)
        #expect(redacted == "Basic " + Data("loyalty-service:<<managed_secret:1>>".utf8).base64EncodedString())
        // A credential handed out whole (`Basic {token}`) is replaced whole.
        let whole = Data("svc:other".utf8).base64EncodedString()
        var wholeRedactor = Redactor(secrets: [RedactionSecret(.managedSecret, whole)])
        #expect(wholeRedactor.redact(header: "authorization", value: "Basic \(whole)") == "Basic <<managed_secret:1>>")
    }

    @Test func signaturesAreReplacedWhereTheyStand() {
        var redactor = Redactor(secrets: [])
        #expect(redactor.redact(header: "X-Alter-Signature", value: "abcdef0123456789") == "<<hmac_signature:1>>")
        let sigv4 = "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261207/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0123abcd"
        #expect(redactor.redact(header: "Authorization", value: sigv4).hasSuffix("Signature=<<sigv4_signature:1>>"))
    }

    @Test func standInsReplacePlaceholdersAndMapBack() {
        let standIns = StandIns(placeholders: ["<<access_token:1>>", "<<api_key:1>>"], apiKeySecret: "replaykeysecret",
                                recordedVault: ("http://127.0.0.1:1111", "recorded"), replayVault: ("http://127.0.0.1:2222", "replay"),
                                hostMap: nil)
        let recorded = #"{"access_token":"<<access_token:1>>","url":"http://127.0.0.1:1111/sandboxes/recorded/x","key":"alter_key_<<api_key:1>>"}"#
        let served = standIns.apply(recorded)
        #expect(!served.contains("<<"))
        #expect(served.contains("http://127.0.0.1:2222/sandboxes/replay/x"))
        #expect(served.contains("alter_key_replaykeysecret"))
        #expect(standIns.restore(served) == recorded)
    }

    @Test func requestsCompareAsDataNotText() {
        func view(_ headers: [(String, String)], body: String, type: String = "application/json", query: String = "") -> RequestView {
            RequestView(method: "post", service: "vault", host: "127.0.0.1", path: "/sdk/token", query: query, headers: headers,
                        body: Data(body.utf8), contentType: type)
        }
        let recorded = view([("X-Alter-Context", #"{"tool":"read","run_id":"1"}"#), ("X-Alter-Nonce", "a")], body: #"{"a":1,"b":[1,2]}"#,
                            query: "b=2&a=1")
        // Members in another order, a new nonce, the query reordered: the same request.
        let same = view([("x-alter-context", #"{"run_id":"1","tool":"read"}"#), ("X-Alter-Nonce", "b")], body: #"{"b":[1,2],"a":1}"#,
                        query: "a=1&b=2")
        #expect(same == recorded)
        #expect(same.differences(from: recorded).isEmpty)
        // A header gone and a value changed are each named.
        let other = view([], body: #"{"a":2,"b":[1,2]}"#)
        let fields = other.differences(from: recorded).map(\.field)
        #expect(fields.contains("header x-alter-context"), "\(fields)")
        #expect(fields.contains { $0.hasPrefix("body.a") }, "\(fields)")
        #expect(fields.contains("query"), "\(fields)")
        // Forms compare as sorted pairs.
        #expect(view([], body: "b=2&a=1", type: "application/x-www-form-urlencoded")
            == view([], body: "a=1&b=2", type: "application/x-www-form-urlencoded"))
    }
}
