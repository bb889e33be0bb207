import Foundation
#if canImport(Glibc)
import Glibc
#endif
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

        // Free ports only, the proxy's too: the test passes beside a developer's running serve.
        let result = try await Subprocess.run(
            .path(FilePath(binary)), arguments: ["serve", "--port", "0", "--proxy-port", "0", "--db", dir.appendingPathComponent("serve.sqlite").path,
                                                 "--record", dir.appendingPathComponent("serve.har").path],
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .sequence
        ) { execution in
            async let errors = Self.collect(execution.standardError)
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
            return (welcome, app.standardOutput, app.standardError, await errors)
        }
        let (welcome, appOutput, appErrors, serveErrors) = result.closureResult
        #expect(welcome.contains("export ALTER_API_KEY=alter_key_"), "serve's stderr: \(serveErrors)")
        #expect(welcome.contains("Sign-in: vault.authenticate() opens the identity provider's page in a browser; sign in as alice"))
        #expect(appOutput.contains("2026-12-03T14:00:00+01:00: Quarterly review"), "app stderr: \(appErrors)")
        #expect(appOutput.hasSuffix("Alice (work)\n"))
        #expect(result.terminationStatus == .exited(0), "serve's stderr: \(serveErrors)")

        // --record: the app's exchanges since serve started (not the seeding before), redacted.
        let apiKey = welcome.firstMatch(of: /ALTER_API_KEY=alter_key_(\S+)/).map { String($0.output.1) } ?? "(no key)"
        let transcript = try TranscriptReader.read(contentsOf: dir.appendingPathComponent("serve.har").path, requireOps: false)
        let targets = transcript.log.entries.map { "\($0.vaultsim?.caller ?? "?") \($0.request.method) \($0.request.url)" }
        #expect(targets.contains { $0.hasPrefix("sdk POST ") && $0.hasSuffix("/sdk/token") }, "\(targets)")
        #expect(targets.contains { $0.hasPrefix("sdk GET https://www.googleapis.com/calendar/v3/") }, "\(targets)")
        #expect(!targets.contains { $0.hasPrefix("vault POST https://oauth2.googleapis.com/token") }, "the seeding is not in it: \(targets)")
        let text = try String(contentsOf: dir.appendingPathComponent("serve.har"), encoding: .utf8)
        #expect(!text.contains(apiKey) && apiKey.count > 20)
        #expect(text.contains("<<access_token:1>>"))
    }

    @Test func recordRefusesAFolderOrAFolderItCannotMakeBeforeStarting() async throws {
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let file = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-record-\(UUID().uuidString)")
        try Data().write(to: file)
        defer { try? FileManager.default.removeItem(at: file) }
        for (path, message) in [("/tmp", "is a folder"), (file.path + "/serve.har", "cannot make the folder")] {
            let result = try await Subprocess.run(.path(FilePath(binary)), arguments: ["serve", "--port", "0", "--record", path],
                                                  output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
            #expect(result.terminationStatus == .exited(2), "\(result.standardError)")
            #expect(result.standardError.contains(message), "\(result.standardError)")
        }
    }

    /// `bench serve` starts serve as a process of its own and prints each figure it promises,
    /// from requests that were all answered 200.
    @Test func benchServeMeasuresASeparateServeProcess() async throws {
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let result = try await Subprocess.run(.path(FilePath(binary)), arguments: ["bench", "serve", "--seconds", "1", "--starts", "2", "--concurrency", "4"],
                                              output: .string(limit: 1 << 16), error: .string(limit: 1 << 16))
        let out = result.standardOutput ?? ""
        #expect(result.terminationStatus == .exited(0), "\(out)\n\(result.standardError ?? "")")
        for expected in ["debug build", "start 1: ", "start 2: ", "reopening the database (1 starts)", "idle RSS: ", "after the token load: ",
                         "signed POST /sdk/token", "GET /_vaultsim/health", "0 not as expected)", "token / health throughput: "] {
            #expect(out.contains(expected), "missing '\(expected)' in:\n\(out)")
        }
        #expect(!out.contains(" 0 requests,"), "\(out)")
    }

    static func collect(_ lines: SubprocessOutputSequence) async -> String {
        var text = ""
        do {
            for try await line in lines.strings() { text += line + "\n" }
        } catch {
            text += "(stderr unreadable: \(error))"
        }
        return text
    }

    /// Runs `vaultsim serve ARGS` until it prints its banner (then stops it with Ctrl-C) or exits.
    func serve(_ arguments: [String], environment: [String: String] = [:]) async throws -> (banner: String, errors: String, status: TerminationStatus) {
        let binary = EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path
        let result = try await Subprocess.run(
            .path(FilePath(binary)), arguments: Arguments(["serve"] + arguments),
            environment: .inherit.updating(environment.reduce(into: [:]) { $0[Environment.Key(rawValue: $1.key)!] = $1.value }),
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .sequence
        ) { execution in
            async let errors = Self.collect(execution.standardError)
            var banner = ""
            for try await line in execution.standardOutput.strings() {
                banner += line + "\n"
                if line.hasPrefix("Control API:") {
                    try execution.send(signal: .interrupt)
                    break
                }
            }
            return (banner, await errors)
        }
        return (result.closureResult.0, result.closureResult.1, result.terminationStatus)
    }

    @Test func startupProblemsExitWith2AndSayWhatToDo() async throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-serve-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let db = dir.appendingPathComponent("serve.sqlite").path
        // A port someone else listens on.
        let listener = try LocalListener()
        defer { listener.close() }
        let busy = try await serve(["--port", String(listener.port), "--proxy-port", "0", "--db", db])
        #expect(busy.status == .exited(2), "\(busy.errors)")
        #expect(busy.errors.contains("127.0.0.1:\(listener.port) is already in use"), "\(busy.errors)")
        #expect(busy.errors.contains("--port picks another port"), "\(busy.errors)")
        let busyProxy = try await serve(["--port", "0", "--proxy-port", String(listener.port), "--db", db])
        #expect(busyProxy.status == .exited(2), "\(busyProxy.errors)")
        #expect(busyProxy.errors.contains("is already in use"), "\(busyProxy.errors)")

        // An empty CA folder made ready for it (mktemp -d) is used, not refused.
        let emptyCA = dir.appendingPathComponent("ca-empty")
        try FileManager.default.createDirectory(at: emptyCA, withIntermediateDirectories: true)
        let started = try await serve(["--port", "0", "--proxy-port", "0", "--db", db], environment: ["VAULTSIM_CA_DIR": emptyCA.path])
        #expect(started.banner.contains("SSL_CERT_FILE=\(emptyCA.path)/ca-cert.pem"), "\(started.banner)\n\(started.errors)")
        #expect(started.status == .exited(0), "\(started.errors)")

        // A folder holding something else is not VaultSim's to fill: the message names it and the fix.
        let occupied = dir.appendingPathComponent("ca-occupied")
        try FileManager.default.createDirectory(at: occupied, withIntermediateDirectories: true)
        try Data("x".utf8).write(to: occupied.appendingPathComponent("notes.txt"))
        let refused = try await serve(["--port", "0", "--proxy-port", "0", "--db", db], environment: ["VAULTSIM_CA_DIR": occupied.path])
        #expect(refused.status == .exited(2), "\(refused.errors)")
        #expect(refused.errors.contains("\(occupied.path) is not an empty folder"), "\(refused.errors)")
        #expect(refused.errors.contains("VAULTSIM_CA_DIR"), "\(refused.errors)")
    }
}

/// A TCP socket listening on a free loopback port, to make a port busy.
struct LocalListener {
    let descriptor: Int32
    let port: Int

    init() throws {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        self.descriptor = descriptor
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, length) == 0 && getsockname(descriptor, $0, &length) == 0 }
        }
        guard bound, listen(descriptor, 1) == 0 else { throw CocoaError(.fileWriteUnknown) }
        port = Int(UInt16(bigEndian: address.sin_port))
    }

    func close() { _ = Glibc.close(descriptor) }
}
