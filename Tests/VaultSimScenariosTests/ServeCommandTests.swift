import Foundation
import Subprocess
import Testing
@testable import VaultSimScenarios
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim serve` as a developer uses it: start it, export what it prints, run the guide's
/// example with the real SDK, stop it with Ctrl-C.
struct ServeCommandTests {
    @Test func theGuidesExampleRunsAgainstVaultsimServe() async throws {
        let python = try await EndToEnd.pythonDriver.value.executable
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-serve-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let example = EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/drivers/guide_example.py").path

        let result = try await Subprocess.run(
            .path(FilePath(binary)), arguments: ["serve", "--port", "0", "--db", dir.appendingPathComponent("serve.sqlite").path],
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .discarded
        ) { execution in
            var welcome = ""
            for try await line in execution.standardOutput.strings() {
                welcome += line + "\n"
                if line.hasPrefix("Control API:") { break }
            }
            func value(_ pattern: String) -> String? {
                (try? Regex(pattern)).flatMap { welcome.firstMatch(of: $0) }.map { String($0.output[1].substring ?? "") }
            }
            let baseURL = value(#"ALTER_BASE_URL=(\S+)"#) ?? ""
            let apiKey = value(#"ALTER_API_KEY=(\S+)"#) ?? ""
            let grantID = value(#"([0-9a-f-]{36})  google"#) ?? ""
            let google = value(#"-> (\S+/hosts/www\.googleapis\.com)/"#) ?? ""
            let app = try await Subprocess.run(.path(FilePath(python)), arguments: [example, baseURL, apiKey, grantID, google],
                                               output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
            try execution.send(signal: .interrupt)
            return (welcome, app.standardOutput, app.standardError)
        }
        let (welcome, appOutput, appErrors) = result.closureResult
        #expect(welcome.contains("export ALTER_API_KEY=alter_key_"))
        #expect(appOutput.contains("2026-12-03T14:00:00+01:00: Quarterly review"), "app stderr: \(appErrors)")
        #expect(appOutput.hasSuffix("Alice (work)\n"))
        #expect(result.terminationStatus == .exited(0))
    }
}
