import Foundation
import GRDB
import PropertyBased
import Testing
@testable import VaultSimCore

/// Generators of hostile input for every parser: arbitrary bytes, and structured near-misses made
/// of the pieces parsers split on (empty pairs, lone separators, broken percent-escapes, invalid
/// UTF-8, huge numbers). A trap anywhere ends the test process, so a crash fails CI.
enum HostileInput {
    /// Any bytes at all.
    static let bytes = Gen<UInt8>.value(in: 0...255).array(of: 0...300)

    /// The pieces a query, a form, a header or a number is split on, and their near-misses.
    static let fragments: [String] = [
        "=", "&", "==", "&&", "=&", "&=", "a", "b=", "=c", "name", "x=y", "%", "%2", "%ZZ", "%zz", "%00", "%C3", "%C3%28", "%FF%FE",
        "%E2%82", "%F0%9F%98", "%2B", "%26", "%3D", "+", "++", " ", "\t", ";", ",", ":", "::", "/", "//", ".", "..", "-", "--", "[", "]",
        "é", "💥", "\u{0}", "\u{FFFD}", "\r\n", "\n", "\"", "'", "\\", "0", "-1", "99999999999999999999999999", "1e309", "NaN",
        "AWS4-HMAC-SHA256 ", "Credential=", "SignedHeaders=", "Signature=", "Basic ", "Bearer ", "/24", "/129", "09:00", "24:00",
    ]

    /// Strings of those pieces, and the same with raw bytes mixed in.
    static let nearMiss = pick(fragments).array(of: 0...24).map { $0.joined() }

    /// Invalid UTF-8 sequences spliced between separators.
    static let invalidUTF8 = pick([[0xC3], [0xC3, 0x28], [0xFF], [0xFE, 0xFF], [0xE2, 0x82], [0xF0, 0x9F, 0x98], [0xED, 0xA0, 0x80],
                                   [0x80], [0xC0, 0xAF]] as [[UInt8]])
        .array(of: 1...6).map { chunks in chunks.flatMap { $0 + Array("=&%".utf8) } }

    /// One of `items` (never empty), shrinking towards the first.
    static func pick<T: Sendable>(_ items: [T]) -> Generator<T, Shrink.Integer<Int>> {
        Gen<Int>.int(in: 0...(items.count - 1)).map { items[$0] }
    }
}

struct QueryStringPropertyTests {
    @Test func everyByteSequenceDecodes() async {
        await propertyCheck(count: 2000, input: HostileInput.bytes) { bytes in
            let pairs = QueryString.pairs(bytes)
            #expect(pairs.count <= QueryString.Limits.standard.maxPairs)
            _ = QueryString.decode(bytes)
            _ = QueryString.decodeComponent(bytes)
            _ = QueryString.check(bytes)
        }
    }

    @Test func nearMissesDecode() async {
        await propertyCheck(count: 3000, input: HostileInput.nearMiss) { text in
            let pairs = QueryString.pairs(text)
            // Every non-empty piece between `&` gives one pair; nothing else does.
            let pieces = text.utf8.split(separator: UInt8(ascii: "&"), omittingEmptySubsequences: true)
            #expect(pairs.count == min(pieces.count, QueryString.Limits.standard.maxPairs))
            _ = QueryString.decode(text)
            _ = QueryString.percentDecoded(text)
            _ = QueryString.values(of: "a", in: text)
        }
        await propertyCheck(count: 1000, input: HostileInput.invalidUTF8) { bytes in
            _ = QueryString.pairs(bytes)
            _ = QueryString.decodeComponent(bytes, plusAsSpace: false)
        }
    }

    @Test func theEdgeCasesHaveOneMeaning() {
        #expect(QueryString.pairs("=").map { [$0.name, $0.value] } == [["", ""]])
        #expect(QueryString.pairs("&&=&").map { [$0.name, $0.value] } == [["", ""]])
        #expect(QueryString.pairs("a").map { [$0.name, $0.value] } == [["a", ""]])
        #expect(QueryString.pairs("a==b").map { [$0.name, $0.value] } == [["a", "=b"]])
        #expect(QueryString.decode("a=%ZZ%&b=%C3%28&c=x+y%2B") == ["a": "%ZZ%", "b": "\u{FFFD}(", "c": "x y+"])
        #expect(QueryString.percentDecoded("a+b%20c%") == "a+b c%")
    }

    @Test func encodingThenDecodingGivesThePairsBack() async {
        let text = HostileInput.pick(HostileInput.fragments).array(of: 0...6).map { $0.joined() }
        await propertyCheck(count: 1000, input: zip(text, text).array(of: 0...8)) { pairs in
            let decoded = QueryString.pairs(QueryString.encode(pairs)).map { [$0.name, $0.value] }
            // Text with invalid scalars cannot occur in a Swift String, so the round trip is exact.
            #expect(decoded == pairs.map { [$0.0, $0.1] })
        }
    }

    @Test func limitsAreCheckedBeforeAnythingIsBuilt() {
        let many = Array(String(repeating: "a=b&", count: 5000).utf8)
        #expect(QueryString.check(many) == .tooManyPairs(limit: 1000))
        #expect(QueryString.pairs(many).count == 1000)
        let large = [UInt8](repeating: UInt8(ascii: "a"), count: (1 << 20) + 1)
        #expect(QueryString.check(large) == .tooLarge(bytes: (1 << 20) + 1, limit: 1 << 20))
        #expect(QueryString.check(Array("a=1&b=2".utf8)) == nil)
    }
}

/// The other parsers of Core, fed the same inputs: none may trap, and the ones that refuse say
/// so with nil rather than a wrong value.
struct CoreParserPropertyTests {
    @Test func cidrAndPolicyClocksAreTotal() async {
        await propertyCheck(count: 2000, input: HostileInput.nearMiss) { text in
            _ = CIDR(text)
            _ = AccessPolicy.parseHours(text)
            _ = AccessPolicy.parseWeekdays(text.split(separator: ",").map(String.init))
        }
        #expect(CIDR("10.0.0.0/8") != nil)
        #expect(CIDR("/") == nil)
        #expect(CIDR("10.0.0.0/") == nil)
        #expect(AccessPolicy.parseHours("09:00-17:00")?.from == 540)
        #expect(AccessPolicy.parseHours(":-:") == nil)
    }

    @Test func jsonIsTotalOverBytes() async {
        await propertyCheck(count: 2000, input: HostileInput.bytes) { bytes in
            _ = JSONValue.parse(Data(bytes))
        }
        let json = HostileInput.pick(["{", "}", "[", "]", "\"", ":", ",", "1e999", "-", "null", "tru", "\"\\u00", "\\", "0", "{\"a\":"])
            .array(of: 0...30).map { $0.joined() }
        await propertyCheck(count: 2000, input: json) { text in
            if let value = JSONValue.parse(text) { _ = value.jsonText }
        }
    }

    @Test func signatureHeadersAreTotal() async {
        let verifier = HMACVerifier()
        await propertyCheck(count: 1000, input: HostileInput.nearMiss, HostileInput.nearMiss) { timestamp, signature in
            let headers = ["x-alter-timestamp": timestamp, "x-alter-nonce": signature, "x-alter-content-sha256": signature,
                           "x-alter-signature": signature]
            #expect(throws: SignatureFailure.self) {
                try verifier.verify(method: "POST", path: "/sdk/token", body: Data(), headers: headers, apiKey: "alter_key_x")
            }
        }
    }

    @Test func journalRowsOfAnyContentDecode() async throws {
        let store = try VaultStore.inMemory()
        await propertyCheck(count: 500, input: HostileInput.nearMiss, HostileInput.nearMiss) { query, body in
            let exchange = Exchange(
                caller: .sdk, service: "google",
                request: .init(method: "GET", scheme: "https", host: "www.googleapis.com", path: "/", query: query,
                               headers: Exchange.fields([("x", body), ("x", query)]), body: Data(body.utf8)),
                response: .init(status: 200, headers: Exchange.fields([("a", body)]), body: Data(body.utf8)),
                answeredBy: "provider", startedAt: Date(), seconds: 0, virtualTime: Date(timeIntervalSince1970: 0))
            _ = exchange.json
            _ = exchange.queryItems
            // A row written by hand (an older VaultSim, a damaged file) decodes too.
            try? store.writer.write { db in
                try db.execute(sql: """
                    INSERT INTO exchanges (received_at, started_at, seconds, caller, service, method, scheme, host, path, query,
                      request_headers, request_body, request_body_size, status, response_headers, response_body, response_body_size, answered_by)
                    VALUES (0, 0, 0, ?, 'google', 'GET', 'https', 'h', '/', ?, ?, ?, 0, 200, ?, ?, 0, ?)
                    """, arguments: [query, query, body, Data(body.utf8), query, Data(query.utf8), body])
            }
            for row in (try? store.exchanges()) ?? [] { _ = row.json }
            try? store.writer.write { try $0.execute(sql: "DELETE FROM exchanges") }
        }
    }
}
