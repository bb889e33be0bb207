import Foundation
import Subprocess
import Testing
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim run --record` then `vaultsim replay`, as a user runs them, with the real alter-sdk.
@Suite(.serialized)
struct ReplayTests {
    static var binary: String { EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path }

    static func vaultsim(_ arguments: [String], environment: Environment = .inherit) async throws
        -> (status: TerminationStatus, output: String, errors: String) {
        let result = try await Subprocess.run(.path(FilePath(binary)), arguments: Arguments(arguments), environment: environment,
                                              workingDirectory: FilePath(EndToEnd.root.path),
                                              output: .string(limit: 16 << 20), error: .string(limit: 16 << 20))
        return (result.terminationStatus, result.standardOutput, result.standardError)
    }

    static func temporaryFolder(_ name: String) throws -> URL {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-\(name)-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        return dir
    }

    /// Every bundled scenario recorded, then every transcript replayed against the same SDK: all green.
    @Test func everyBundledScenarioRoundTrips() async throws {
        _ = try await EndToEnd.pythonDriver.value
        let dir = try Self.temporaryFolder("roundtrip")
        defer { try? FileManager.default.removeItem(at: dir) }
        // Every scenario that applies to alter-sdk 0.11.0 (those of the App generation are skipped).
        let (scenarios, errors) = ScenarioLoader.load(paths: [EndToEnd.layout.scenarios.path])
        #expect(errors.isEmpty, "\(errors)")
        let scenarioCount = scenarios.filter { $0.sdkRange?.contains("0.11.0") ?? true }.count
        #expect(scenarioCount >= 99)

        // A token the transcript kept would be a leak finding, and the run would fail.
        // One scenario at a time: the other suites' servers share these two cores, and their
        // vault waits 10 s at most for a provider.
        let recorded = try await Self.vaultsim(["run", "--jobs", "1", "--record", dir.path])
        #expect(recorded.status == .exited(0), "\(recorded.output.suffix(3000))\n\(recorded.errors.suffix(3000))")
        let files = (FileManager.default.enumerator(atPath: dir.path)?.compactMap { $0 as? String } ?? []).filter { $0.hasSuffix(".har") }
        #expect(files.count == scenarioCount)

        // Independently of the run's own scan: no provider token or API key shape in any exchange.
        // (In Python, in a process of its own: four megabytes through regular expressions would
        // hold one of the two threads the other tests' servers answer on.)
        let script = """
            import json, re, sys
            shapes = [r"ya29\\.a0[A-Za-z0-9_\\-]{24,}", r"1//0[A-Za-z0-9_\\-]{24,}", r"xox[be]-[A-Za-z0-9\\-]{24,}",
                      r"gh[ur]_[A-Za-z0-9]{24,}", r"alter_key_[A-Za-z0-9]{24,}"]
            placeholders = 0
            for path in sys.argv[1:]:
                log = json.load(open(path))["log"]
                entries = json.dumps(log["entries"])
                for shape in shapes:
                    if re.search(shape, entries):
                        print(f"{path}: a string shaped like {shape}")
                placeholders += len(log["_vaultsim"]["placeholders"])
            print(f"placeholders {placeholders}")
            """
        let scan = try await Subprocess.run(.name("python3"), arguments: Arguments(["-c", script] + files.map { dir.appendingPathComponent($0).path }),
                                            output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(scan.terminationStatus == .exited(0), "\(scan.standardError)")
        let scanned = scan.standardOutput.split(separator: "\n").map(String.init)
        #expect(scanned.filter { !$0.hasPrefix("placeholders ") }.isEmpty, "\(scanned)")
        let placeholders = scanned.last.flatMap { Int($0.dropFirst("placeholders ".count)) } ?? 0
        #expect(placeholders > 2 * scenarioCount, "every transcript's secrets became placeholders: \(scanned)")
        // Each is HAR 1.2 as viewers read it: every required field, custom fields only as `_…`.
        let urls = files.map { dir.appendingPathComponent($0) }
        let invalid = try await SchemaCheck.problems(urls[0], schema: "har-1.2.schema.json", more: Array(urls.dropFirst()))
        #expect(invalid.isEmpty, "\(invalid)")

        let replayed = try await Self.vaultsim(["replay", "--jobs", "1", dir.path])
        #expect(replayed.status == .exited(0), "\(replayed.output.suffix(6000))\n\(replayed.errors.suffix(2000))")
        #expect(replayed.output.contains("vaultsim: \(scenarioCount) replayed, 0 diverged"), "\(replayed.output.suffix(2000))")
    }

    /// An SDK patched to stop sending `X-Alter-Context` (a copy of alter_sdk ahead of the real one
    /// on PYTHONPATH): the report names the first request that differs and the header.
    @Test func aPatchedSDKIsNamedAtTheFirstDifferingRequestAndField() async throws {
        let driver = try await EndToEnd.pythonDriver.value
        let dir = try Self.temporaryFolder("patched")
        defer { try? FileManager.default.removeItem(at: dir) }
        let scenario = EndToEnd.layout.scenarios.appendingPathComponent("google/gmail-list-messages.yaml").path
        let recorded = try await Self.vaultsim(["run", "--record", dir.appendingPathComponent("rec").path, scenario])
        #expect(recorded.status == .exited(0), "\(recorded.output)\n\(recorded.errors)")
        let transcript = dir.appendingPathComponent("rec/gmail-list-messages.har").path

        // The unpatched SDK replays green.
        let green = try await Self.vaultsim(["replay", transcript])
        #expect(green.status == .exited(0), "\(green.output)\n\(green.errors)")

        // The patched copy.
        let probe = try await Subprocess.run(.path(FilePath(driver.executable)), arguments: ["-c", "import alter_sdk, os; print(os.path.dirname(alter_sdk.__file__))"],
                                             output: .string(limit: 4096), error: .string(limit: 4096))
        let original = URL(fileURLWithPath: probe.standardOutput.trimmingCharacters(in: .whitespacesAndNewlines))
        let patched = dir.appendingPathComponent("patched/alter_sdk")
        try FileManager.default.createDirectory(at: patched.deletingLastPathComponent(), withIntermediateDirectories: true)
        try FileManager.default.copyItem(at: original, to: patched)
        let client = patched.appendingPathComponent("client.py")
        let source = try String(contentsOf: client, encoding: .utf8)
        let line = #"headers["X-Alter-Context"] = context_json"#
        #expect(source.contains(line))
        try source.replacingOccurrences(of: line, with: "pass  # patched: no context header").write(to: client, atomically: true, encoding: .utf8)

        let command = (["env", "PYTHONPATH=\(patched.deletingLastPathComponent().path)", driver.executable] + driver.arguments).joined(separator: " ")
        let diverged = try await Self.vaultsim(["replay", "--driver", command, transcript])
        #expect(diverged.status == .exited(1), "\(diverged.output)\n\(diverged.errors)")
        let report = diverged.output
        #expect(report.contains("DIVERGED"), "\(report)")
        // The first divergence is the token call, the header named with its recorded value.
        let first = report.components(separatedBy: "\n  1. ").dropFirst().first ?? ""
        #expect(first.hasPrefix("unexpected request in step 'list unread inbox messages': POST vault /sdk/token"), "\(report)")
        #expect(first.contains("closest recorded: entry"), "\(report)")
        #expect(first.contains(#"differs: header x-alter-context: recorded "{"agent":"email-assistant-v2","tool":"read_emails"}", sent (absent)"#), "\(report)")
        #expect(first.contains("it would have answered: 200"), "\(report)")
        #expect(report.contains("request not made"), "the recorded call it no longer makes is named: \(report)")
    }

    /// The committed transcripts are HAR 1.2 (docs/har-1.2.schema.json, from the spec), and the
    /// schema is no rubber stamp: an entry without its timings is refused.
    @Test func theFixturesAreHAR12() async throws {
        let folder = EndToEnd.root.appendingPathComponent("Fixtures/transcripts")
        let files = try FileManager.default.contentsOfDirectory(atPath: folder.path).filter { $0.hasSuffix(".har") }.sorted()
            .map { folder.appendingPathComponent($0) }
        #expect(files.count >= 8)
        let problems = try await SchemaCheck.problems(files[0], schema: "har-1.2.schema.json", more: Array(files.dropFirst()))
        #expect(problems.isEmpty, "\(problems)")

        let dir = try Self.temporaryFolder("har")
        defer { try? FileManager.default.removeItem(at: dir) }
        var json = try JSONSerialization.jsonObject(with: Data(contentsOf: files[0])) as? [String: Any] ?? [:]
        var log = json["log"] as? [String: Any] ?? [:]
        var entries = log["entries"] as? [[String: Any]] ?? []
        entries[0]["timings"] = nil
        entries[0]["vaultsim"] = "a custom field without its underscore"
        log["entries"] = entries
        json["log"] = log
        let broken = dir.appendingPathComponent("broken.har")
        try JSONSerialization.data(withJSONObject: json).write(to: broken)
        let refused = try await SchemaCheck.problems(broken, schema: "har-1.2.schema.json")
        #expect(refused.contains("entries/0: 'timings' is a required property"), "\(refused)")
        #expect(refused.contains("'vaultsim' does not match any of the regexes: '^_'"), "\(refused)")
    }

    /// The committed fixtures' SDK requests sent to VaultSim's own simulation: the happy path
    /// answers the same; the policy refusal differs where the policy was not seeded, entry and field named.
    @Test func aTranscriptAgainstTheSimulatorNamesEachDifferingAnswer() async throws {
        let fixtures = EndToEnd.root.appendingPathComponent("Fixtures/transcripts")
        let result = try await Self.vaultsim(["replay", "--against-simulator", fixtures.appendingPathComponent("happy-path.har").path,
                                              fixtures.appendingPathComponent("policy-refusal.har").path])
        #expect(result.status == .exited(1), "\(result.output)\n\(result.errors)")
        #expect(result.output.contains("SAME  \(fixtures.path)/happy-path.har  (2 SDK requests sent again, 0 answered otherwise"), "\(result.output)")
        #expect(result.output.contains("DIFFERS  \(fixtures.path)/policy-refusal.har"), "\(result.output)")
        #expect(result.output.contains("entry 5 POST /sdk/token: recorded 403, VaultSim 200"), "\(result.output)")
        #expect(result.output.contains(#"body.detail: recorded {"details":{"local_time":"<date>","policy":"business-hours""#), "\(result.output)")
        #expect(result.output.contains("vaultsim: 1 answered the same, 1 differ"), "\(result.output)")
    }

    /// A bad transcript: exit 2, the entry and the field named, nothing replayed.
    @Test func aBadTranscriptIsRefusedWithItsEntry() async throws {
        let dir = try Self.temporaryFolder("bad")
        defer { try? FileManager.default.removeItem(at: dir) }
        let good = try TranscriptReader.read(contentsOf: EndToEnd.root.appendingPathComponent("Fixtures/transcripts/happy-path.har").path)
        var broken = good
        broken.log.entries[1].vaultsim?.caller = "robot"
        let file = dir.appendingPathComponent("broken.har")
        try JSONEncoder().encode(broken).write(to: file)
        let result = try await Self.vaultsim(["replay", file.path])
        #expect(result.status == .exited(2), "\(result.output)\n\(result.errors)")
        #expect(result.errors.contains("entry 1 (log.entries[1]): _vaultsim.caller is \"robot\""), "\(result.errors)")
        #expect(!result.output.contains("REPLAYED"))

        // A missing field is named by its path.
        var text = String(decoding: try JSONEncoder().encode(good), as: UTF8.self)
        text = text.replacingOccurrences(of: #""startedDateTime""#, with: #""started""#)
        #expect(throws: TranscriptReader.Problem.self) { try TranscriptReader.read(Data(text.utf8), name: "x.har") }
        do {
            _ = try TranscriptReader.read(Data(text.utf8), name: "x.har")
        } catch {
            #expect(error.message == "entry 0: log.entries[0].startedDateTime is missing", "\(error.message)")
        }
    }
}
