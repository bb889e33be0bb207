import Crypto
import Foundation

/// The parts of a signed backend request that a signature covers.
public struct SignedRequest: Sendable {
    public var method: String
    /// The path as the SDK signed it: the canonical form of `CanonicalPath` (percent-decoded
    /// path, without the base-URL prefix, plus the sorted query when there is one).
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

/// A way of signing backend requests. SDK generations differ (alter-sdk ≤ 0.13: five lines; 0.14:
/// a sixth scope-constraint line; 0.19: an optional `request-rule:` line; 0.21: with a caller or
/// actor context: V2, which binds the actor headers too), so the verifier tries each scheme.
public protocol SignatureScheme: Sendable {
    /// The name recorded with each request it verified (`five-line`, `six-line`, `v2`).
    var name: String { get }
    /// The string this scheme signs for the request, or nil if the scheme does not apply to it.
    func stringToSign(for request: SignedRequest) -> String?
}

extension SignatureScheme {
    /// The lowercase hex signature this scheme expects, or nil if it does not apply.
    public func expectedSignature(for request: SignedRequest, signingKey: SymmetricKey) -> String? {
        stringToSign(for: request).map { RequestSigning.hmacHex($0, key: signingKey) }
    }
}

/// alter-sdk 0.8–0.13: `METHOD\nPATH\ntimestamp\nnonce\ncontent_sha256`.
public struct FiveLineSignatureScheme: SignatureScheme {
    public init() {}
    public var name: String { "five-line" }

    public func stringToSign(for request: SignedRequest) -> String? {
        [request.method.uppercased(), request.path, request.timestamp, request.nonce, request.contentSHA256].joined(separator: "\n")
    }
}

/// alter-sdk 0.14 on (scoped keys): the five lines, then the literal `X-Alter-Scope-Constraints`
/// value (empty when absent), then `request-rule:<X-Alter-Request-Rule>` only when that header
/// is sent.
public struct SixLineSignatureScheme: SignatureScheme {
    public init() {}
    public var name: String { "six-line" }

    public func stringToSign(for request: SignedRequest) -> String? {
        var text = FiveLineSignatureScheme().stringToSign(for: request)! + "\n" + (request.headers["x-alter-scope-constraints"] ?? "")
        if let rule = request.headers["x-alter-request-rule"], !rule.isEmpty { text += "\nrequest-rule:" + rule }
        return text
    }
}

/// V2: the six-line string, then one `label:value` line for each actor header sent (caller,
/// caller type, actor id, actor context, in that order). It applies only when one of them is
/// sent; otherwise it would be the six-line string.
public struct V2SignatureScheme: SignatureScheme {
    public init() {}
    public var name: String { "v2" }

    /// The actor headers V2 binds, in signing order, with their labels.
    public static let actorLines: [(label: String, header: String)] = [
        ("caller", "x-alter-caller"), ("caller-type", "x-alter-caller-type"),
        ("actor-id", "x-alter-actor-id"), ("actor-context", "x-alter-context"),
    ]

    public func stringToSign(for request: SignedRequest) -> String? {
        var text = SixLineSignatureScheme().stringToSign(for: request)!
        var bound = false
        for line in Self.actorLines {
            if let value = request.headers[line.header], !value.isEmpty {
                text += "\n\(line.label):\(value)"
                bound = true
            }
        }
        return bound ? text : nil
    }
}

/// The path an SDK signs: the percent-decoded path, then `?` and the query re-encoded the way
/// the backend recomputes it — pairs (blank values kept) sorted by name then value, by code
/// point, each side encoded like Python's `quote_plus`. A present but empty query signs without
/// the `?`; a non-empty one keeps it even when it canonicalizes to nothing (`?&`).
public enum CanonicalPath {
    public static func of(path: String, query: String) -> String {
        let decoded = QueryString.percentDecoded(path)
        guard !query.isEmpty else { return decoded }
        let sorted = QueryString.pairs(Array(query.utf8)).sorted { a, b in
            if a.name != b.name { return codePointsPrecede(a.name, b.name) }
            return codePointsPrecede(a.value, b.value)
        }
        return decoded + "?" + sorted.map { quotePlus($0.name) + "=" + quotePlus($0.value) }.joined(separator: "&")
    }

    /// Python's string order: lexicographic by Unicode scalar value.
    static func codePointsPrecede(_ a: String, _ b: String) -> Bool {
        a.unicodeScalars.lexicographicallyPrecedes(b.unicodeScalars) { $0.value < $1.value }
    }

    /// Python's `quote_plus`: letters, digits and `_.-~` kept, a space as `+`, every other
    /// UTF-8 byte as `%XX` (upper-case hex).
    static func quotePlus(_ text: String) -> String {
        QueryString.escape(text).replacingOccurrences(of: "%20", with: "+")
    }
}

/// Which SDK generations sign V2: alter-sdk from `firstV2Version` on sends the V2 digest whenever
/// it sends actor headers, so such a request signed the legacy way is a downgrade.
public enum SDKGeneration {
    public static let firstV2Version = [0, 21, 0]

    /// The alter-sdk version a `User-Agent` such as `alter-sdk-python/0.29.0` names.
    public static func version(userAgent: String?) -> [Int]? {
        guard let userAgent, let slash = userAgent.firstIndex(of: "/"), userAgent[..<slash].hasPrefix("alter-sdk") else { return nil }
        let numbers = userAgent[userAgent.index(after: slash)...].prefix { $0.isNumber || $0 == "." }
            .split(separator: ".").prefix(3).compactMap { Int($0) }
        return numbers.isEmpty ? nil : numbers + Array(repeating: 0, count: 3 - numbers.count)
    }

    public static func signsV2(userAgent: String?) -> Bool {
        guard let version = version(userAgent: userAgent) else { return false }
        return !version.lexicographicallyPrecedes(firstV2Version)
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

    static func hmacHex(_ message: String, key: SymmetricKey) -> String {
        HMAC<SHA256>.authenticationCode(for: Data(message.utf8), using: key).hexString
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
