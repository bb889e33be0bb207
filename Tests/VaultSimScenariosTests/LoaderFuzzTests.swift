import Foundation
import Testing
@testable import VaultSimScenarios

/// The bundled scenarios, mutated thousands of times (lines dropped, duplicated or swapped,
/// characters changed, strange values spliced in): the loader either reads a scenario or
/// refuses it with a located error, and never crashes or hangs. Seeded, so failures repeat.
struct LoaderFuzzTests {
    static let mutationCount = 2000

    /// Async, and yielding every few mutants: a long synchronous loop would hold one of the two
    /// cooperative threads of this machine for its whole run, starving the servers that other
    /// tests run in the same process (their provider calls then miss their deadlines).
    @Test func mutatedScenariosAreReadOrRefusedNeverCrashed() async throws {
        let files = try FileManager.default.subpathsOfDirectory(atPath: EndToEnd.layout.scenarios.path)
            .filter { $0.hasSuffix(".yaml") }.sorted()
        let texts = try files.map { try String(contentsOfFile: EndToEnd.layout.scenarios.appendingPathComponent($0).path, encoding: .utf8) }
        #expect(texts.count >= 40)
        var rng = LoaderMutationRNG(state: 0xBADC_0FFE)
        let splices = ["{", "}", "[", "]", ": ", "- ", "\t", "&a", "*a", "!!binary", "${grants.", "${", "1e400", "-1", ".inf", ".nan",
                       "9223372036854775808", "\"", "'", "#", "|", ">", "? ", "---", "...", "\u{0}", "💥", "token_lifetime: -5",
                       "advance_clock: 1e300", "times: 0", "status: 1000", "ttl: -1h", "concurrently: {times: 1000000, step: {advance_clock: 1s}}"]
        var outcomes = (read: 0, refused: 0)
        let start = ContinuousClock.now
        for index in 0..<Self.mutationCount {
            if index % 20 == 0 { await Task.yield() }
            var lines = texts[Int(rng.next() % UInt64(texts.count))].components(separatedBy: "\n")
            for _ in 0...(rng.next() % 3) {
                let at = Int(rng.next() % UInt64(max(lines.count, 1)))
                switch rng.next() % 5 {
                case 0 where lines.count > 1: lines.remove(at: at)
                case 1: lines.insert(lines[at], at: at)
                case 2: lines.swapAt(at, Int(rng.next() % UInt64(lines.count)))
                case 3:
                    var characters = Array(lines[at])
                    let splice = Array(splices[Int(rng.next() % UInt64(splices.count))])
                    characters.insert(contentsOf: splice, at: characters.isEmpty ? 0 : Int(rng.next() % UInt64(characters.count)))
                    lines[at] = String(characters)
                default: lines[at] = String(repeating: " ", count: Int(rng.next() % 6)) + splices[Int(rng.next() % UInt64(splices.count))]
                }
            }
            do {
                _ = try ScenarioLoader.parse(lines.joined(separator: "\n"), file: "mutant-\(index).yaml", defaultID: "mutant")
                outcomes.read += 1
            } catch {
                outcomes.refused += 1
                #expect(error.location.file == "mutant-\(index).yaml")
                #expect(!error.message.isEmpty)
            }
        }
        let elapsed = ContinuousClock.now - start
        print("loader fuzz: \(Self.mutationCount) mutants, \(outcomes.read) read, \(outcomes.refused) refused, in \(elapsed)")
        #expect(outcomes.refused > Self.mutationCount / 10)
        // A guard against a hang, not a speed goal: it shares two cores with the whole test run.
        #expect(elapsed < .seconds(180))
    }
}

struct LoaderMutationRNG {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
