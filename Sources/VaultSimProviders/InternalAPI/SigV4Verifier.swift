import Crypto
import Foundation
import VaultSimCore

/// Verifies AWS Signature Version 4 on a received request, as an AWS service (or API Gateway)
/// would: the signed headers listed in `Authorization`, the canonical request rebuilt from the
/// request *as received* (so query parameters the client did not sign break the signature), and
/// the `x-amz-content-sha256` checked against the body.
///
/// Hand-written: no SigV4 library is available for Swift on this platform.
public enum SigV4Verifier {
    public struct Authorization: Equatable, Sendable {
        public var accessKeyID: String
        public var date: String
        public var region: String
        public var service: String
        public var signedHeaders: [String]
        public var signature: String
    }

    public enum Failure: Error, Equatable {
        case malformedAuthorization
        case missingHeader(String)
        case contentHashMismatch
        case signatureMismatch
    }

    /// Parses `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, SignedHeaders=a;b, Signature=hex`.
    public static func parseAuthorization(_ value: String) -> Authorization? {
        guard value.hasPrefix("AWS4-HMAC-SHA256 ") else { return nil }
        var fields: [String: String] = [:]
        for part in value.dropFirst("AWS4-HMAC-SHA256 ".count).split(separator: ",") {
            let kv = part.trimmingCharacters(in: .whitespaces).split(separator: "=", maxSplits: 1)
            if kv.count == 2 { fields[String(kv[0])] = String(kv[1]) }
        }
        guard let credential = fields["Credential"], let signed = fields["SignedHeaders"], let signature = fields["Signature"] else { return nil }
        let scope = credential.split(separator: "/").map(String.init)
        guard scope.count == 5, scope[4] == "aws4_request" else { return nil }
        return Authorization(accessKeyID: scope[0], date: scope[1], region: scope[2], service: scope[3],
                             signedHeaders: signed.split(separator: ";").map(String.init), signature: signature)
    }

    /// Checks the request against `secretKey`. `headers` have lower-case names.
    public static func verify(method: String, rawPath: String, rawQuery: String, headers: [String: String], body: Data,
                              secretKey: String) throws(Failure) {
        guard let auth = headers["authorization"].flatMap(parseAuthorization) else { throw .malformedAuthorization }
        guard let amzDate = headers["x-amz-date"] else { throw .missingHeader("x-amz-date") }
        let payloadHash = SHA256.hash(data: body).hexString
        if let claimed = headers["x-amz-content-sha256"], claimed != payloadHash { throw .contentHashMismatch }
        var canonicalHeaders = ""
        for name in auth.signedHeaders {
            guard let value = headers[name] else { throw .missingHeader(name) }
            canonicalHeaders += "\(name):\(value.split(whereSeparator: \.isWhitespace).joined(separator: " "))\n"
        }
        let canonicalRequest = [
            method.uppercased(), canonicalURI(rawPath), canonicalQuery(rawQuery), canonicalHeaders,
            auth.signedHeaders.joined(separator: ";"), headers["x-amz-content-sha256"] ?? payloadHash,
        ].joined(separator: "\n")
        let scope = "\(auth.date)/\(auth.region)/\(auth.service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonicalRequest.utf8)).hexString]
            .joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [auth.date, auth.region, auth.service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let expected = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexString
        guard expected == auth.signature.lowercased() else { throw .signatureMismatch }
    }

    /// Each path segment URI-encoded (RFC 3986 unreserved characters kept).
    static func canonicalURI(_ path: String) -> String {
        if path.isEmpty { return "/" }
        return path.split(separator: "/", omittingEmptySubsequences: false).map { uriEncode(String($0)) }.joined(separator: "/")
    }

    /// Pairs decoded, re-encoded and sorted.
    static func canonicalQuery(_ query: String) -> String {
        guard !query.isEmpty else { return "" }
        var pairs = QueryString.pairs(Array(query.utf8), plusAsSpace: false).map { (name: uriEncode($0.name), value: uriEncode($0.value)) }
        pairs.sort { $0.name == $1.name ? $0.value < $1.value : $0.name < $1.name }
        return pairs.map { "\($0.name)=\($0.value)" }.joined(separator: "&")
    }

    static func uriEncode(_ text: String) -> String { QueryString.escape(text) }
}
