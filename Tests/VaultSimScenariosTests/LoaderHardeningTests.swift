import Foundation
import Testing
@testable import VaultSimScenarios

/// Scenario files written to hurt (issue 11): aliases that expand without bound, duplicates
/// reported in the wrong place, half-written placeholders, numbers that trap where they are used.
struct LoaderHardeningTests {
    static let valid = ScenarioLoaderTests.valid

    func error(_ text: String) -> ScenarioLoadError? { ScenarioLoaderTests().error(text) }

    // MARK: Anchors and aliases

    /// Nine levels of nine aliases: 9⁹ "lol"s once expanded.
    static let billionLaughs = """
        vaultsim: 1
        a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]
        b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
        c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
        d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
        e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
        f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
        g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
        h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
        i: &i [*h, *h, *h, *h, *h, *h, *h, *h, *h]
        steps:
          - advance_clock: 1s
        """

    @Test(.timeLimit(.minutes(1)))
    func billionLaughsIsRefusedAtItsFirstAnchorBeforeAnythingExpands() {
        let clock = ContinuousClock()
        var e: ScenarioLoadError?
        let elapsed = clock.measure { e = error(Self.billionLaughs) }
        #expect(elapsed < .seconds(10), "took \(elapsed) (expanded, it would take minutes and gigabytes)")
        #expect(e?.location == SourceLocation(file: "bad.yaml", line: 2, column: 4))
        #expect(e?.message.contains("anchors and aliases are not supported") == true, "\(String(describing: e))")
        #expect(e?.message.contains("'&a'") == true)
    }

    @Test func anAliasIsRefusedWhereItIsWritten() {
        let e = error(Self.valid.replacingOccurrences(of: "scopes: [x]}", with: "scopes: *scopes}"))
        #expect(e?.location.line == 4)
        #expect(e?.location.column == 39)
        #expect(e?.message.contains("YAML aliases are not supported in scenarios (found '*scopes')") == true, "\(String(describing: e))")
    }

    @Test func anAnchorOnAKeyIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "  grants:", with: "  &g grants:"))
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("'&g'") == true, "\(String(describing: e))")
    }

    @Test func ampersandsAndAsterisksInTextAreNotAnchors() throws {
        let text = Self.valid.replacingOccurrences(of: "vaultsim: 1\n", with: """
            vaultsim: 1
            title: Tom &Jerry *and* friends # &not *an alias
            tags: ["&quoted", '*single', a&b]

            """).replacingOccurrences(of: "result: {status: 200}", with: """
            result:
                    json:
                      text: |
                        &block *scalar
                      url: https://x.example/?a=1&b=*
            """)
        let scenario = try ScenarioLoader.parse(text, file: "ok.yaml", defaultID: "ok")
        #expect(scenario.title == "Tom &Jerry *and* friends")
        #expect(scenario.tags == ["&quoted", "*single", "a&b"])
    }

    // MARK: Duplicate keys

    @Test func aDuplicateKeyIsReportedAtTheDuplicate() {
        let e = error(Self.valid.replacingOccurrences(of: "vaultsim: 1\n", with: "vaultsim: 1\nid: one\ntitle: t\nid: two\n"))
        #expect(e?.location == SourceLocation(file: "bad.yaml", line: 4, column: 1))
        #expect(e?.message == "duplicate key 'id'")
    }

    @Test func aDuplicateKeyInAFlowMappingIsReportedAtItsColumn() {
        let e = error(Self.valid.replacingOccurrences(of: "alice: {provider: google, scopes: [x]}",
                                                      with: "alice: {provider: google, scopes: [x], provider: slack}"))
        #expect(e?.location == SourceLocation(file: "bad.yaml", line: 4, column: 44))
        #expect(e?.message == "duplicate key 'provider'")
    }

    @Test func theSameKeyInTwoMappingsIsNoDuplicate() {
        let text = Self.valid.replacingOccurrences(of: "alice: {provider: google, scopes: [x]}",
                                                   with: "alice: {provider: google, scopes: [x]}\n    bob: {provider: google, scopes: [x]}")
        #expect(error(text) == nil)
    }

    // MARK: Placeholders

    @Test func anUnterminatedPlaceholderIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {json: {id: \"${grants.alice\"}}"))
        #expect(e?.location.line == 11)
        #expect(e?.message.contains("unterminated placeholder '${grants.alice'") == true, "\(String(describing: e))")
    }

    @Test func anUnterminatedPlaceholderInARequestIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "grant: alice\n", with: "grant: alice\n      query_params: {q: \"x${sandbox.id\"}\n"))
        #expect(e?.location.line == 7)  // the request's parameters
        #expect(e?.message.contains("unterminated placeholder '${sandbox.id'") == true, "\(String(describing: e))")
    }

    @Test func aPlaceholderWithoutANameIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {json: {id: \"${}\"}}"))
        #expect(e?.message.contains("'${' starts no placeholder") == true, "\(String(describing: e))")
    }

    @Test func wellFormedPlaceholdersNextToEachOtherStillLoad() {
        #expect(error(Self.valid.replacingOccurrences(of: "result: {status: 200}",
                                                      with: "result: {json: {id: \"${grants.alice}-${sandbox.id}\"}}")) == nil)
    }

    // MARK: Numbers

    @Test(arguments: ["-1", "0", "3601", "1e300", "-0.5"])
    func aClientTimeoutOutsideAnHourIsRefused(value: String) {
        let e = error(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  client: {timeout: \(value)}\n"))
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("given.client.timeout must be a number of seconds more than 0 and at most 3600") == true,
                "\(String(describing: e))")
    }

    @Test(arguments: [".inf", "-.inf", ".nan", "+.inf"])
    func aNonFiniteClientTimeoutIsRefused(value: String) {
        let e = error(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  client: {timeout: \(value)}\n"))
        #expect(e?.location.line == 3)
        #expect(e?.message.contains("is not a finite number") == true, "\(String(describing: e))")
    }

    @Test func aClientTimeoutWithinAnHourLoads() throws {
        for value in ["0.5", "10", "3600"] {
            let scenario = try ScenarioLoader.parse(Self.valid.replacingOccurrences(of: "given:\n", with: "given:\n  client: {timeout: \(value)}\n"),
                                                    file: "ok.yaml", defaultID: "ok")
            #expect(scenario.given.client.timeout == Double(value))
        }
    }

    @Test func secondsAreReadWithinTheirBounds() throws {
        func read(_ yaml: String) throws(ScenarioLoadError) -> Double? {
            var reader = try MappingReader(try YAMLNode.parse(yaml, file: "t.yaml"), context: "given.client")
            return try reader.seconds("timeout", atMost: 3600)
        }
        #expect(try read("timeout: 2.5") == 2.5)
        #expect(try read("other: 1") == nil)
        for bad in ["timeout: -1", "timeout: 0", "timeout: 3600.5", "timeout: 1e300", "timeout: ten"] {
            #expect(throws: ScenarioLoadError.self, "\(bad)") { _ = try read(bad) }
        }
    }

    @Test func aNonFiniteNumberInAPatternIsRefused() {
        let e = error(Self.valid.replacingOccurrences(of: "result: {status: 200}", with: "result: {json: {n: {$lt: .inf}}}"))
        #expect(e?.location.line == 11)
        #expect(e?.message.contains("'.inf' is not a finite number") == true, "\(String(describing: e))")
    }

    // MARK: Shape

    @Test func nestingBeyondTheLimitIsRefused() {
        let deep = String(repeating: "[", count: 100) + String(repeating: "]", count: 100)
        let e = error(Self.valid.replacingOccurrences(of: "vaultsim: 1\n", with: "vaultsim: 1\ntitle: \(deep)\n"))
        #expect(e?.location.line == 2)
        #expect(e?.message.contains("nest deeper than 64 levels") == true, "\(String(describing: e))")
    }

    @Test func aMappingAsAKeyIsRefusedWhereItIs() {
        let e = error(Self.valid.replacingOccurrences(of: "vaultsim: 1\n", with: "vaultsim: 1\n? {a: 1}\n: x\n"))
        #expect(e?.location.line == 2)
        #expect(e?.message == "mapping keys must be plain strings")
    }

    @Test func aSyntaxErrorIsStillReportedByTheParser() {
        let e = error("vaultsim: 1\nsteps:\n  - request: {method: GET\n")
        #expect(e?.location.line == 4)
        #expect(e?.message.contains("invalid YAML") == true)
    }
}
