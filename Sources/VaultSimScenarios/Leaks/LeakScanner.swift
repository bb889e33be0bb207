import Foundation

/// The zero-token-leak check: searches text the app could see (driver results, exception
/// messages and attributes, SDK logs) and what the vault stored (audit records) for every
/// secret the sandbox handed out — raw, URL-encoded and base64-encoded.
public struct LeakScanner: Sendable {
    public struct Secret: Sendable {
        public var label: String
        public var value: String
        public init(label: String, value: String) {
            self.label = label
            self.value = value
        }
    }

    public struct Finding: Sendable, Equatable, CustomStringConvertible {
        public var secretLabel: String
        public var encoding: String
        public var source: String
        public var line: Int
        /// The secret's first characters only: a report must not leak it again.
        public var hint: String

        public var description: String {
            "\(secretLabel) (\(hint)…) found \(encoding) in \(source), line \(line)"
        }
    }

    public let secrets: [Secret]

    public init(secrets: [Secret]) {
        self.secrets = secrets.filter { !$0.value.isEmpty }
    }

    /// The forms a secret is searched in.
    static func encodings(of value: String) -> [(name: String, text: String)] {
        var forms: [(String, String)] = [("raw", value)]
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        if let encoded = value.addingPercentEncoding(withAllowedCharacters: unreserved), encoded != value {
            forms.append(("URL-encoded", encoded))
        }
        let base64 = Data(value.utf8).base64EncodedString()
        forms.append(("base64-encoded", base64))
        let base64URL = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .trimmingCharacters(in: CharacterSet(charactersIn: "="))
        if base64URL != base64 { forms.append(("base64url-encoded", base64URL)) }
        let unpadded = base64.trimmingCharacters(in: CharacterSet(charactersIn: "="))
        if unpadded != base64 { forms.append(("base64-encoded", unpadded)) }
        return forms
    }

    /// Every place a secret occurs in the named texts.
    public func scan(_ sources: [(name: String, text: String)]) -> [Finding] {
        var findings: [Finding] = []
        for secret in secrets {
            let forms = Self.encodings(of: secret.value)
            for (name, text) in sources {
                for (lineNumber, line) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
                    if let form = forms.first(where: { line.contains($0.text) }) {
                        findings.append(Finding(secretLabel: secret.label, encoding: form.name, source: name, line: lineNumber + 1,
                                                hint: String(secret.value.prefix(4))))
                    }
                }
            }
        }
        return findings
    }
}
