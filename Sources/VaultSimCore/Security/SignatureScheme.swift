import Crypto
import Foundation

/// The parts of a signed backend request that a signature covers.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path as the SDK signed it: percent-decoded, without the base-URL prefix or query.
    public var path: String
    public var timestamp: String
    public var nonce: String
    public var contentSHA256: String
    /// All request headers, names in lower case (later schemes sign more of them).
    public var headers: [String: String]

    public init(method: String, path: String, timestamp: String, nonce: String, contentSHA256: String, headers: [String: String]) {
        self.method = method
        self.path = path
        self.timestamp = timestamp
        self.nonce = nonce
        self.contentSHA256 = contentSHA256
        self.headers = headers
    }
}

/// A way of signing backend requests. SDK versions differ (0.11.0: five lines; 0.14: a sixth
/// constraint line; 0.22: V2 with actor lines), so the verifier tries each scheme it is given.
public protocol SignatureScheme: Sendable {
    var name: String { get }
    /// The lowercase hex signature this scheme expects for the request, or nil if the scheme
    /// does not apply to it.
    func expectedSignature(for request: SignedRequest, signingKey: SymmetricKey) -> String?
}

/// The signing scheme of alter-sdk 0.8.0–0.13.x: HMAC-SHA256 over
/// `METHOD\nPATH\ntimestamp\nnonce\ncontent_sha256` with a key derived from the API key.
public struct FiveLineSignatureScheme: SignatureScheme {
    public init() {}
    public var name: String { "v1-five-line" }

    public func expectedSignature(for request: SignedRequest, signingKey: SymmetricKey) -> String? {
        let stringToSign = [request.method, request.path, request.timestamp, request.nonce, request.contentSHA256]
            .joined(separator: "\n")
        return Self.hmacHex(stringToSign, key: signingKey)
    }

    static func hmacHex(_ message: String, key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key).hexString
    }
}

public enum RequestSigning {
    /// `HMAC-SHA256(key: api_key, message: "alter-signing-v1")`, as the SDK derives it.
    public static func signingKey(apiKey: String) -> SymmetricKey {
        let mac = HMAC<SHA256>.authenticationCode(for: Data("alter-signing-v1".utf8), using: SymmetricKey(data: Data(apiKey.utf8)))
        return SymmetricKey(data: Data(mac))
    }

    /// PKCE's S256 challenge: BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
    public static func pkceChallenge(_ verifier: String) -> String {
        Data(SHA256.hash(data: Data(verifier.utf8))).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func sha256Hex(_ data: some DataProtocol) -> String {
        SHA256.hash(data: data).hexString
    }

    /// The headers an SDK of the five-line scheme sends; used by tests and by VaultSim's own clients.
    public static func sign(method: String, path: String, body: Data, apiKey: String, timestamp: Int, nonce: String) -> [String: String] {
        let contentHash = sha256Hex(body)
        let request = SignedRequest(method: method, path: path, timestamp: String(timestamp), nonce: nonce,
                                    contentSHA256: contentHash, headers: [:])
        let signature = FiveLineSignatureScheme().expectedSignature(for: request, signingKey: signingKey(apiKey: apiKey))!
        return [
            "X-Alter-Timestamp": String(timestamp), "X-Alter-Nonce": nonce,
            "X-Alter-Content-SHA256": contentHash, "X-Alter-Signature": signature,
        ]
    }
}

extension Sequence where Element == UInt8 {
    /// Lowercase hexadecimal.
    public var hexString: String {
        map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
