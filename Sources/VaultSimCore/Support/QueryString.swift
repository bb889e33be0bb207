import Foundation

/// The one codec for URL query strings and `application/x-www-form-urlencoded` bodies
/// (`a=1&b=x+y`), as the fake providers, the Connect pages, the SigV4 check and the journals read
/// and write them.
///
/// Total by construction: every byte sequence decodes. It works on bytes, never indexes the
/// result of a split, keeps an invalid percent-escape as the literal text it was, and turns
/// invalid UTF-8 into U+FFFD. An empty pair (`&&`), a lone `=`, a name without `=` and a value
/// with more `=` in it all have one meaning (skipped; name `""`; value `""`; the rest of the
/// pair). The work is bounded: `pairs` never builds more than `Limits.maxPairs` pairs, and
/// `check` tells a caller, before anything is built, that an input is over the limits.
public enum QueryString {
    /// How much a query or form may hold before it is refused.
    public struct Limits: Sendable, Equatable {
        /// Name–value pairs at the most.
        public var maxPairs: Int
        /// Bytes at the most.
        public var maxBytes: Int

        public init(maxPairs: Int, maxBytes: Int) {
            self.maxPairs = maxPairs
            self.maxBytes = maxBytes
        }

        /// What every route that reads a query or a form takes: far above what any provider's
        /// form or an SDK's query needs, far below what costs the server memory.
        public static let standard = Limits(maxPairs: 1_000, maxBytes: 1 << 20)
    }

    /// Why an input was refused.
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case tooManyPairs(limit: Int)
        case tooLarge(bytes: Int, limit: Int)

        public var description: String {
            switch self {
            case .tooManyPairs(let limit): "more than \(limit) name=value pairs"
            case .tooLarge(let bytes, let limit): "\(bytes) bytes, over the limit of \(limit)"
            }
        }
    }

    /// Checks an input against the limits without building anything: counts bytes and `&`.
    public static func check(_ raw: some Collection<UInt8>, limits: Limits = .standard) -> Refusal? {
        if raw.count > limits.maxBytes { return .tooLarge(bytes: raw.count, limit: limits.maxBytes) }
        var separators = 0
        for byte in raw where byte == ampersand {
            separators += 1
            if separators >= limits.maxPairs { return .tooManyPairs(limit: limits.maxPairs) }
        }
        return nil
    }

    public static func check(_ raw: String, limits: Limits = .standard) -> Refusal? { check(raw.utf8, limits: limits) }

    /// Every name–value pair in order, repeated names kept (a form's ticked checkboxes); `+` and
    /// percent-escapes decoded (`+` stays a plus unless `plusAsSpace`, as in a SigV4 canonical query).
    /// Empty pairs are skipped; at most `limits.maxPairs` pairs are built.
    public static func pairs(_ raw: some Collection<UInt8>, limits: Limits = .standard, plusAsSpace: Bool = true) -> [(name: String, value: String)] {
        var result: [(name: String, value: String)] = []
        var start = raw.startIndex
        while start != raw.endIndex, result.count < limits.maxPairs {
            let end = raw[start...].firstIndex(of: ampersand) ?? raw.endIndex
            let pair = raw[start..<end]
            if !pair.isEmpty {
                if let equals = pair.firstIndex(of: equalsSign) {
                    result.append((decodeComponent(pair[..<equals], plusAsSpace: plusAsSpace),
                                   decodeComponent(pair[pair.index(after: equals)...], plusAsSpace: plusAsSpace)))
                } else {
                    result.append((decodeComponent(pair, plusAsSpace: plusAsSpace), ""))
                }
            }
            start = end == raw.endIndex ? end : raw.index(after: end)
        }
        return result
    }

    public static func pairs(_ raw: String, limits: Limits = .standard) -> [(name: String, value: String)] {
        pairs(Array(raw.utf8), limits: limits)
    }

    /// Name → value; when a name repeats, the last value wins.
    public static func decode(_ raw: some Collection<UInt8>, limits: Limits = .standard) -> [String: String] {
        var items: [String: String] = [:]
        for pair in pairs(raw, limits: limits) { items[pair.name] = pair.value }
        return items
    }

    public static func decode(_ raw: String, limits: Limits = .standard) -> [String: String] { decode(Array(raw.utf8), limits: limits) }

    /// Every value of one name, in order (`labelIds=A&labelIds=B`).
    public static func values(of name: String, in raw: String) -> [String] {
        pairs(raw).filter { $0.name == name }.map(\.value)
    }

    /// One component (`a%20b+c`) decoded: `+` as a space when `plusAsSpace`, `%XX` as its byte,
    /// any other `%` kept as it is, and invalid UTF-8 replaced by U+FFFD. Never fails.
    public static func decodeComponent(_ raw: some Collection<UInt8>, plusAsSpace: Bool = true) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.count)
        var index = raw.startIndex
        while index != raw.endIndex {
            let byte = raw[index]
            index = raw.index(after: index)
            if byte == plus, plusAsSpace {
                bytes.append(space)
            } else if byte == percent, index != raw.endIndex, let high = hexValue(raw[index]) {
                let next = raw.index(after: index)
                if next != raw.endIndex, let low = hexValue(raw[next]) {
                    bytes.append(high << 4 | low)
                    index = raw.index(after: next)
                } else {
                    bytes.append(byte)
                }
            } else {
                bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A path segment or other URL part decoded: percent-escapes only (`+` stays a plus).
    public static func percentDecoded(_ raw: some StringProtocol) -> String {
        decodeComponent(Array(raw.utf8), plusAsSpace: false)
    }

    /// `application/x-www-form-urlencoded` text of the pairs, in order, every byte but RFC 3986's
    /// unreserved characters escaped.
    public static func encode(_ pairs: [(String, String)]) -> String {
        pairs.map { "\(escape($0.0))=\(escape($0.1))" }.joined(separator: "&")
    }

    /// Percent-encodes every byte of the UTF-8 text but RFC 3986's unreserved characters
    /// (`A–Z a–z 0–9 - . _ ~`), with upper-case hex digits.
    public static func escape(_ text: some StringProtocol) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out += [percent, hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    // MARK: bytes

    private static let ampersand = UInt8(ascii: "&")
    private static let equalsSign = UInt8(ascii: "=")
    private static let plus = UInt8(ascii: "+")
    private static let space = UInt8(ascii: " ")
    private static let percent = UInt8(ascii: "%")
    private static let hexDigits = Array("0123456789ABCDEF".utf8)

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
             UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
