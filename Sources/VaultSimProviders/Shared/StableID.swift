import Crypto
import Foundation

/// Ids derived from a name, so an account made up for a login looks the same in every run.
enum StableID {
    /// `count` decimal digits (the first never 0) from the SHA-256 of `seed`.
    static func digits(_ seed: String, count: Int) -> String {
        let bytes = Array(SHA256.hash(data: Data(seed.utf8)))
        let digits = (0..<count).map { i in Character(String(Int(bytes[i % bytes.count] &+ UInt8(truncatingIfNeeded: i / bytes.count)) % 10)) }
        var text = String(digits)
        if text.first == "0" { text = "1" + text.dropFirst() }
        return text
    }

    /// `count` characters from `[A-Z0-9]` from the SHA-256 of `seed`.
    static func upperAlphanumerics(_ seed: String, count: Int) -> String {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
        let bytes = Array(SHA256.hash(data: Data(seed.utf8)))
        return String((0..<count).map { alphabet[Int(bytes[$0 % bytes.count]) % alphabet.count] })
    }
}

/// Escapes text for HTML element content and attribute values.
enum HTMLEscape {
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.count)
        for ch in text {
            switch ch {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(ch)
            }
        }
        return out
    }
}
