import Foundation
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An IPv4 or IPv6 network in CIDR notation (`203.0.113.0/24`, `2001:db8::/32`); a bare
/// address is a /32 or /128. Addresses are parsed with the C library's `inet_pton`.
public struct CIDR: Sendable, Equatable, CustomStringConvertible {
    public let bytes: [UInt8]
    public let prefixLength: Int
    public let description: String

    public init?(_ text: String) {
        let parts = text.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        guard let address = Self.address(parts[0]) else { return nil }
        let maximum = address.count * 8
        var length = maximum
        if parts.count == 2 {
            guard let value = Int(parts[1]), (0...maximum).contains(value) else { return nil }
            length = value
        }
        // Keep only the network part, so 203.0.113.7/24 means 203.0.113.0/24.
        var masked = address
        for index in masked.indices {
            let keep = max(0, min(8, length - index * 8))
            masked[index] &= keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
        }
        bytes = masked
        prefixLength = length
        description = text
    }

    /// Whether `address` (4 or 16 bytes) is in this network; an IPv4 address matches an IPv6
    /// network only in its mapped form (::ffff:a.b.c.d).
    public func contains(_ address: [UInt8]) -> Bool {
        var candidate = address
        if bytes.count == 16, address.count == 4 { candidate = Array(repeating: 0, count: 10) + [0xFF, 0xFF] + address }
        if bytes.count == 4, address.count == 16, address[0..<12] == [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xFF, 0xFF][...] {
            candidate = Array(address[12...])
        }
        guard candidate.count == bytes.count else { return false }
        for index in bytes.indices {
            let keep = max(0, min(8, prefixLength - index * 8))
            let mask: UInt8 = keep == 8 ? 0xFF : UInt8(truncatingIfNeeded: 0xFF << (8 - keep))
            if candidate[index] & mask != bytes[index] { return false }
        }
        return true
    }

    /// The bytes of an IPv4 or IPv6 address (brackets allowed around IPv6), or nil.
    public static func address(_ text: String) -> [UInt8]? {
        var text = text.trimmingCharacters(in: .whitespaces)
        if text.hasPrefix("["), text.hasSuffix("]") { text = String(text.dropFirst().dropLast()) }
        guard !text.isEmpty, text.count <= 64 else { return nil }
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 {
            return withUnsafeBytes(of: &v4) { Array($0) }
        }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 {
            return withUnsafeBytes(of: &v6) { Array($0) }
        }
        return nil
    }
}
