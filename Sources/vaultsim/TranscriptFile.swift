import Foundation
import VaultSimCore
import VaultSimScenarios
import VaultSimServer

/// A transcript kept on disk while exchanges arrive (`serve --record`, `record --upstream`):
/// rewritten every few seconds while something new happened and once more at shutdown, so a
/// crash loses at most the last few seconds. A transcript that would hold a secret is never
/// written: the error says which, and the last good file stays.
struct TranscriptFile: Sendable {
    let file: URL
    /// Changes whenever a new exchange arrives (a row id, a count).
    let version: @Sendable () throws -> Int64?
    let make: @Sendable () throws -> TranscriptWriter.Written

    /// Before anything starts: the transcript's folder, made if needed (like `--db`'s); nil when
    /// the transcript can be written there, else what is wrong.
    static func prepare(_ path: String, option: String = "--record") -> String? {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(option) \(path) is a folder: name the transcript file (e.g. \(path)/transcript.har)"
        }
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            return "\(option) \(path): cannot make the folder \(folder.path): \((error as NSError).localizedDescription)"
        }
        guard FileManager.default.isWritableFile(atPath: folder.path) else { return "\(option) \(path): the folder \(folder.path) is not writable" }
        return nil
    }

    /// Writes the transcript; returns how many entries it holds.
    @discardableResult
    func write() throws -> Int {
        let written = try make()
        guard written.leaks.isEmpty else {
            throw RecordError(message: "the transcript would hold a secret (\(written.leaks.map { $0.description }.joined(separator: "; "))); not written")
        }
        try TranscriptWriter.write(written.data, to: file)
        return written.entries
    }

    /// Rewrites the transcript every `interval` while new exchanges arrive, until cancelled.
    func run(every interval: Duration = .seconds(5), report: @escaping @Sendable (String) -> Void) async {
        var written = try? version()
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let current = try? version(), current != written else { continue }
            do {
                try write()
                written = current
            } catch {
                report("vaultsim: \(file.lastPathComponent): \(error)")
            }
        }
    }

    struct RecordError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}

extension TranscriptFile {
    /// `vaultsim serve --record FILE`: the default app's exchanges since serve started. No driver
    /// ops (the app's own code made the calls): a transcript to read, not to replay.
    static func serve(file: URL, sandbox: Sandbox, server: VaultSimServer, serverURL: String) throws -> TranscriptFile {
        let writer = TranscriptWriter(server: server, hostMap: HostMap(serverURL: serverURL, sandboxID: sandbox.id))
        let startAfter = try sandbox.store.lastExchangeID()
        return TranscriptFile(file: file, version: { try sandbox.store.lastExchangeID() }, make: {
            try writer.transcript(of: sandbox, exchanges: try sandbox.store.exchanges(afterID: startAfter), info: HAR.TranscriptInfo(),
                                  name: file.lastPathComponent)
        })
    }
}
