import Foundation
import VaultSimCore

/// Replaces every secret a sandbox issued by a stable placeholder (`<<access_token:1>>`): the
/// same secret gets the same placeholder everywhere in one transcript. A secret is found raw,
/// URL-encoded and base64-encoded; `Authorization: Basic` credentials are decoded, redacted and
/// encoded again; HMAC and SigV4 signatures are replaced where they stand.
public struct Redactor: Sendable {
    private let secrets: [RedactionSecret]
    private var assigned: [String: String] = [:]
    private var counters: [RedactionSecret.Kind: Int] = [:]
    /// Placeholders in the order first used.
    public private(set) var placeholders: [String] = []

    /// Secrets shorter than this are not searched for (they would match ordinary text).
    static let shortest = 4

    public init(secrets: [RedactionSecret]) {
        var seen = Set<String>()
        // Longest first, so a secret that contains another is replaced whole.
        self.secrets = secrets.filter { $0.value.count >= Self.shortest && seen.insert($0.value).inserted }
            .sorted { $0.value.count > $1.value.count }
    }

    /// The placeholder of a value, given on first use.
    public mutating func placeholder(for value: String, kind: RedactionSecret.Kind) -> String {
        if let known = assigned[value] { return known }
        let number = (counters[kind] ?? 0) + 1
        counters[kind] = number
        let placeholder = "<<\(kind.rawValue):\(number)>>"
        assigned[value] = placeholder
        placeholders.append(placeholder)
        return placeholder
    }

    /// A text with every known secret replaced, in every form it is searched in.
    public mutating func redact(_ text: String) -> String {
        var text = text
        for secret in secrets {
            for form in Self.forms(of: secret.value) where text.contains(form) {
                let placeholder = placeholder(for: secret.value, kind: secret.kind)
                text = text.replacingOccurrences(of: form, with: placeholder)
            }
        }
        return text
    }

    /// A header's value: signatures replaced whole, Basic credentials redacted inside, then as text.
    public mutating func redact(header name: String, value: String) -> String {
        switch name.lowercased() {
        case "x-alter-signature", "x-alter-signature-v2":
            return placeholder(for: value, kind: .hmacSignature)
        case "authorization":
            // A credential the vault handed out whole (a managed secret injected as `Basic {token}`)
            // is replaced whole; only a credential made of parts is decoded and redacted inside.
            let whole = redact(value)
            if whole != value { return whole }
            if value.lowercased().hasPrefix("basic "), let decoded = Data(base64Encoded: String(value.dropFirst(6))),
               let text = String(data: decoded, encoding: .utf8) {
                let redacted = redact(text)
                if redacted != text { return "Basic " + Data(redacted.utf8).base64EncodedString() }
            }
            if value.hasPrefix("AWS4-HMAC-SHA256"), let range = value.range(of: "Signature=") {
                let signature = String(value[range.upperBound...].prefix { $0.isHexDigit })
                if !signature.isEmpty {
                    let head = redact(String(value[..<range.upperBound]))
                    return head + placeholder(for: signature, kind: .sigv4Signature) + value[range.upperBound...].dropFirst(signature.count)
                }
            }
            return redact(value)
        default:
            return redact(value)
        }
    }

    /// The forms a secret is searched in: raw, URL-encoded, base64 and base64url (padded or not).
    static func forms(of value: String) -> [String] {
        var forms = [value]
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        if let encoded = value.addingPercentEncoding(withAllowedCharacters: unreserved), encoded != value { forms.append(encoded) }
        let base64 = Data(value.utf8).base64EncodedString()
        let unpadded = base64.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        let url = unpadded.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
        for form in [base64, unpadded, url] where !forms.contains(form) { forms.append(form) }
        return forms
    }
}
