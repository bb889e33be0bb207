import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios

struct PatternTests {
    func pattern(_ yaml: String, bindings: Set<String> = []) throws -> Pattern {
        try Pattern.parse(try YAMLNode.parse(yaml, file: "p.yaml"), bindings: bindings)
    }

    static let record: JSONValue = [
        "status": 200, "headers": ["Content-Type": "application/json"],
        "items": [["id": "a", "n": 1], ["id": "b", "n": 2]], "note": "hello world",
    ]

    @Test func subsetObjectMatches() throws {
        #expect(try pattern("{status: 200, items: [{id: a}, {id: b}]}").matches(Self.record))
    }

    @Test func wrongScalarIsReportedWithItsPath() throws {
        let mismatches = try pattern("{items: [{id: a}, {id: c}]}").mismatches(Self.record, at: "result")
        #expect(mismatches == [Mismatch(path: "result.items[1].id", message: "expected \"c\", got \"b\"", expected: "\"c\"", actual: "\"b\"")])
    }

    @Test func listLengthMustMatch() throws {
        #expect(!(try pattern("{items: [{id: a}]}").matches(Self.record)))
    }

    @Test func headerNamesCompareWithoutCase() throws {
        #expect(try pattern("{headers: {content-type: application/json}}").matches(Self.record))
    }

    @Test(arguments: [
        ("{note: {$contains: world}}", true), ("{note: {$contains: moon}}", false),
        ("{note: {$matches: '^hel+o'}}", true), ("{missing: {$absent: true}}", true), ("{note: {$absent: true}}", false),
        ("{note: {$present: true}}", true), ("{items: {$len: 2}}", true), ("{items: {$len: 3}}", false),
        ("{items: {$each: {n: {$gte: 1}}}}", true), ("{items: {$each: {n: {$gt: 1}}}}", false),
        ("{items: {$contains: [{id: b}]}}", true), ("{items: {$contains: [{id: z}]}}", false),
        ("{status: {$one_of: [200, 201]}}", true), ("{status: {$type: string}}", false), ("{note: {$not: x}}", true),
        ("{note: {$not_contains: world}}", false), ("{status: {$any: true}}", true),
    ])
    func operatorsHold(_ yaml: String, expected: Bool) throws {
        #expect(try pattern(yaml).matches(Self.record) == expected)
    }

    @Test func placeholdersAreSubstituted() throws {
        let p = try pattern("{id: '${grants.a}'}", bindings: ["grants.a"])
        #expect(p.matches(["id": "g-1"], bindings: ["grants.a": "g-1"]))
        #expect(!p.matches(["id": "g-2"], bindings: ["grants.a": "g-1"]))
    }

    @Test func containsReportsTheClosestItem() throws {
        let mismatches = try pattern("{items: {$contains: [{id: b, n: 3}]}}").mismatches(Self.record)
        #expect(mismatches.count == 1)
        #expect(mismatches[0].message.contains("the closest, item 1"))
        #expect(mismatches[0].message.contains("expected 3, got 2"))
    }
}
