import Foundation
import Testing
import VaultSimCore

struct JSONValueTests {
    @Test func objectsKeepTheirMemberOrderInText() {
        let value: JSONValue = ["tool": "read_calendar", "run_id": "run-42", "a": [1, true, nil]]
        #expect(value.jsonText == #"{"tool":"read_calendar","run_id":"run-42","a":[1,true,null]}"#)
    }

    @Test func objectsCompareRegardlessOfOrder() {
        let a: JSONValue = ["x": 1, "y": 2]
        let b: JSONValue = ["y": 2, "x": 1]
        #expect(a == b)
        #expect(Set([a, b]).count == 1)
        #expect(a != ["x": 1, "y": 3])
    }

    @Test func stringsAreEscaped() {
        let text = JSONValue.string("quote \" backslash \\ newline \n bell \u{07} é").jsonText
        #expect(text == #""quote \" backslash \\ newline \n bell \u0007 é""#)
        #expect(JSONValue.parse(text) == .string("quote \" backslash \\ newline \n bell \u{07} é"))
    }

    @Test func numbersRoundTrip() {
        #expect(JSONValue.number(3).jsonText == "3")
        #expect(JSONValue.number(0.25).jsonText == "0.25")
        #expect(JSONValue.parse("[1e20, -2.5]") == [.number(1e20), .number(-2.5)])
    }

    @Test func deepMergeReplacesAllButObjects() {
        let base: JSONValue = ["a": ["b": 1, "c": [1, 2]], "d": "x"]
        let merged = base.merging(["a": ["c": [3]], "e": true])
        #expect(merged == ["a": ["b": 1, "c": [3]], "d": "x", "e": true])
    }
}
