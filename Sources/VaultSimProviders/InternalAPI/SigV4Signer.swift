import Crypto
import Foundation
import VaultSimCore

/// Signs a request with AWS Signature Version 4, the way `SigV4Verifier` checks it: the vault
/// uses it in proxy mode, where it injects a SigV4 managed secret itself. Signs `host`,
/// `x-amz-content-sha256`, `x-amz-date` and, with a session token, `x-amz-security-token`.
///
/// Hand-written, like the verifier: no SigV4 library is available for Swift on this platform.
public enum SigV4Signer {
    /// The headers to add: `Authorization`, `X-Amz-Date`, `X-Amz-Content-Sha256` and, with a
    /// session token, `X-Amz-Security-Token`. `host` is the Host header the request will carry;
    /// `rawPath` and `rawQuery` are the path and query exactly as sent.
    public static func headers(method: String, host: String, rawPath: String, rawQuery: String, body: Data,
                               accessKeyID: String, secretKey: String, sessionToken: String?, region: String, service: String,
                               at date: Date) -> [(String, String)] {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyyyMMdd'T'HHmmss'Z'"
        let amzDate = formatter.string(from: date)
        let day = String(amzDate.prefix(8))
        let payloadHash = SHA256.hash(data: body).hexString
        var signed: [(String, String)] = [("host", host), ("x-amz-content-sha256", payloadHash), ("x-amz-date", amzDate)]
        if let sessionToken { signed.append(("x-amz-security-token", sessionToken)) }
        signed.sort { $0.0 < $1.0 }
        let canonicalHeaders = signed.map { "\($0.0):\($0.1)\n" }.joined()
        let signedNames = signed.map(\.0).joined(separator: ";")
        let canonicalRequest = [method.uppercased(), SigV4Verifier.canonicalURI(rawPath), SigV4Verifier.canonicalQuery(rawQuery),
                                canonicalHeaders, signedNames, payloadHash].joined(separator: "\n")
        let scope = "\(day)/\(region)/\(service)/aws4_request"
        let stringToSign = ["AWS4-HMAC-SHA256", amzDate, scope, SHA256.hash(data: Data(canonicalRequest.utf8)).hexString].joined(separator: "\n")
        var key = SymmetricKey(data: Data("AWS4\(secretKey)".utf8))
        for part in [day, region, service, "aws4_request"] {
            key = SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data(part.utf8), using: key)))
        }
        let signature = HMAC<SHA256>.authenticationCode(for: Data(stringToSign.utf8), using: key).hexString
        var headers = [("Authorization", "AWS4-HMAC-SHA256 Credential=\(accessKeyID)/\(scope), SignedHeaders=\(signedNames), Signature=\(signature)"),
                       ("X-Amz-Date", amzDate), ("X-Amz-Content-Sha256", payloadHash)]
        if let sessionToken { headers.append(("X-Amz-Security-Token", sessionToken)) }
        return headers
    }
}
