import Foundation

/// Makes the random values the vault and fake providers hand out.
public enum SecretGenerator {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789")

    /// `count` characters from `[A-Za-z0-9]`.
    public static func token(_ count: Int) -> String {
        var rng = SystemRandomNumberGenerator()
        return String((0..<count).map { _ in alphabet[Int(rng.next(upperBound: UInt64(alphabet.count)))] })
    }

    /// An API key every SDK version accepts: `alter_key_` plus 40 characters.
    public static func apiKey() -> String { "alter_key_" + token(40) }

    /// A Google-style access token (`ya29.` prefix), unique per call.
    public static func accessToken(prefix: String) -> String { prefix + token(48) }

    /// A canonical lowercase UUID, the form every SDK version accepts for grant ids.
    public static func uuid() -> String { UUID().uuidString.lowercased() }
}
