import Foundation
import Subprocess
import Testing
@testable import VaultSimScenarios
import VaultSimServer
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// `vaultsim record --upstream` between the guide's example and a vault backend: VaultSim's own
/// `serve` stands in for the real one (there is no internet here).
struct RecordUpstreamTests {
    static var binary: String { EndToEnd.root.appendingPathComponent(".build/debug/vaultsim").path }

    @Test func theGuidesExampleThroughTheRecorderIsForwardedAndRecordedRedacted() async throws {
        let python = try await EndToEnd.pythonDriver.value.executable
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-record-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: dir) }
        let example = EndToEnd.root.appendingPathComponent("Tests/VaultSimScenariosTests/drivers/guide_example.py").path
        let transcriptFile = dir.appendingPathComponent("out/upstream.har")

        // The upstream: a serve on free ports, without the proxy (the app calls the gateway URLs).
        let upstream = try await Subprocess.run(
            .path(FilePath(Self.binary)), arguments: ["serve", "--port", "0", "--no-proxy", "--db", dir.appendingPathComponent("serve.sqlite").path],
            workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .sequence
        ) { serve in
            async let serveErrors = ServeCommandTests.collect(serve.standardError)
            var welcome = ""
            for try await line in serve.standardOutput.strings() {
                welcome += line + "\n"
                if line.hasPrefix("Control API:") { break }
            }
            func value(_ pattern: String, in text: String) -> String {
                (try? Regex(pattern)).flatMap { text.firstMatch(of: $0) }.map { String($0.output[1].substring ?? "") } ?? ""
            }
            let vaultURL = value(#"ALTER_BASE_URL=(\S+)"#, in: welcome)
            let apiKey = value(#"ALTER_API_KEY=(\S+)"#, in: welcome)
            let grantID = value(#"([0-9a-f-]{36})  google"#, in: welcome)
            let google = value(#"-> (\S+/hosts/www\.googleapis\.com)/"#, in: welcome)

            // The recorder in front of it; its proxy forwards provider calls to serve's gateway
            // (--provider-base) where it would otherwise go to the real hosts.
            let providerBase = String(google.dropLast("/www.googleapis.com".count))
            let recorded = try await Subprocess.run(
                .path(FilePath(Self.binary)), arguments: ["record", "--upstream", vaultURL, "--port", "0", "--out", transcriptFile.path,
                                                          "--forward-providers", "--proxy-port", "0", "--provider-base", providerBase],
                workingDirectory: FilePath(EndToEnd.root.path), input: .none, output: .sequence, error: .sequence
            ) { record in
                async let recordErrors = ServeCommandTests.collect(record.standardError)
                var banner = ""
                var lines = record.standardOutput.strings().makeAsyncIterator()
                while let line = try await lines.next() {
                    banner += line + "\n"
                    if line.hasPrefix("Writing the redacted transcript") { break }
                }
                let recorderURL = value(#"export ALTER_BASE_URL=(\S+)"#, in: banner)
                var environment: [Environment.Key: String] = [:]
                for name in ["HTTPS_PROXY", "HTTP_PROXY", "SSL_CERT_FILE", "NO_PROXY"] {
                    environment[Environment.Key(rawValue: name)!] = value("export \(name)=(\\S+)", in: banner)
                }
                let app = try await Subprocess.run(.path(FilePath(python)), arguments: [example, recorderURL, apiKey, grantID, "https://www.googleapis.com"],
                                                   environment: .inherit.updating(environment),
                                                   output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
                try record.send(signal: .interrupt)
                var rest = ""
                while let line = try await lines.next() { rest += line + "\n" }
                return (banner, rest, app.standardOutput, app.standardError, await recordErrors)
            }
            try serve.send(signal: .interrupt)
            return (recorded, apiKey, vaultURL, await serveErrors)
        }
        let (recorded, apiKey, vaultURL, serveErrors) = upstream.closureResult
        let (banner, rest, appOutput, appErrors, recordErrors) = recorded.closureResult
        #expect(banner.contains("the only mode in which VaultSim sends anything off the machine"), "\(banner)")
        #expect(banner.contains("forwarding every request to \(vaultURL), and every provider call to its real host."), "\(banner)")
        #expect(banner.contains("export HTTPS_PROXY=http://"), "\(banner)")
        // The app ran unchanged through the recorder: signed requests forwarded as they came.
        #expect(appOutput.contains("2026-12-03T14:00:00+01:00: Quarterly review"), "app: \(appErrors)\nrecord: \(recordErrors)\nserve: \(serveErrors)")
        #expect(recorded.terminationStatus == .exited(0), "\(recordErrors)")
        #expect(rest.contains("vaultsim: wrote "), "\(rest)")

        let transcript = try TranscriptReader.read(contentsOf: transcriptFile.path, requireOps: false)
        let tokenCall = try #require(transcript.log.entries.first { $0.request.url == "\(vaultURL)/sdk/token" },
                                     "\(transcript.log.entries.map(\.request.url))")
        #expect(tokenCall.response.status == 200)
        #expect(tokenCall.vaultsim?.answeredBy == "upstream")
        #expect(tokenCall.request.headers.contains { $0.name.lowercased() == "x-api-key" && $0.value == "alter_key_<<api_key:1>>" })
        #expect(tokenCall.request.headers.contains { $0.name.lowercased() == "x-alter-signature" && $0.value.hasPrefix("<<hmac_signature:") })
        #expect(tokenCall.response.content.text?.contains(#""access_token":"<<access_token:1>>""#) == true, "\(tokenCall.response.content.text ?? "")")
        // The provider call went through the recording proxy, at its real URL, the token redacted.
        let calendar = try #require(transcript.log.entries.first { $0.request.url.hasPrefix("https://www.googleapis.com/calendar/v3/") },
                                    "\(transcript.log.entries.map(\.request.url))")
        #expect(calendar.vaultsim?.service == "google")
        #expect(calendar.response.status == 200)
        #expect(calendar.request.headers.contains { $0.name.lowercased() == "authorization" && $0.value == "Bearer <<access_token:1>>" },
                "\(calendar.request.headers)")
        #expect(calendar.response.content.text?.contains("Quarterly review") == true)
        let text = try String(contentsOf: transcriptFile, encoding: .utf8)
        #expect(apiKey.hasPrefix("alter_key_") && !text.contains(String(apiKey.dropFirst("alter_key_".count))))

        // Replay refuses it, saying why: the app's own calls, no driver ops.
        let replay = try await Subprocess.run(.path(FilePath(Self.binary)), arguments: ["replay", transcriptFile.path],
                                              workingDirectory: FilePath(EndToEnd.root.path),
                                              output: .string(limit: 1 << 20), error: .string(limit: 1 << 20))
        #expect(replay.terminationStatus == .exited(2))
        #expect(replay.standardError.contains("vaultsim record --upstream"), "\(replay.standardError)")
    }

    @Test func anUpstreamMustBeAnAbsoluteHTTPURL() {
        for bad in ["api.alterauth.com", "ftp://x.example", "https://x.example/?a=1", "https://"] {
            guard case .failure(let error) = UpstreamRecorder.parseUpstream(bad) else {
                Issue.record("\(bad) was accepted")
                continue
            }
            #expect(error.message.contains(bad), "\(error.message)")
        }
        #expect((try? UpstreamRecorder.parseUpstream("https://vault.example.com/base/").get())?.absoluteString == "https://vault.example.com/base")
    }
}
