import Foundation
import VaultSimCore
import VaultSimScenarios
import VaultSimServer

/// `vaultsim serve --record FILE`: the default app's exchanges since serve started, as one
/// redacted transcript, rewritten every few seconds while something new happened and once more
/// at shutdown, so a developer's session with the guide's code becomes a transcript and a crash
/// loses at most the last few seconds.
struct ServeRecorder: Sendable {
    let file: URL
    let sandbox: Sandbox
    let writer: TranscriptWriter
    /// The newest exchange before serve started: the transcript holds only what came after.
    let startAfter: Int64?

    init(file: URL, sandbox: Sandbox, server: VaultSimServer, serverURL: String) throws {
        self.file = file
        self.sandbox = sandbox
        writer = TranscriptWriter(server: server, hostMap: HostMap(serverURL: serverURL, sandboxID: sandbox.id))
        startAfter = try sandbox.store.lastExchangeID()
    }

    /// Before serve starts: the transcript's folder, made if needed (like `--db`'s); nil when
    /// the transcript can be written there, else what is wrong.
    static func prepare(_ path: String) -> String? {
        let url = URL(fileURLWithPath: path)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "--record \(path) is a folder: name the transcript file (e.g. \(path)/serve.har)"
        }
        let folder = url.deletingLastPathComponent()
        do {
            try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        } catch {
            return "--record \(path): cannot make the folder \(folder.path): \((error as NSError).localizedDescription)"
        }
        guard FileManager.default.isWritableFile(atPath: folder.path) else { return "--record \(path): the folder \(folder.path) is not writable" }
        return nil
    }

    /// Writes the transcript; returns how many entries it holds.
    @discardableResult
    func write() throws -> Int {
        let exchanges = try sandbox.store.exchanges(afterID: startAfter)
        // No driver ops: the app's own code made these calls (replay re-drives ops; this is a record to read).
        let info = HAR.TranscriptInfo()
        let written = try writer.transcript(of: sandbox, exchanges: exchanges, info: info, name: file.lastPathComponent)
        guard written.leaks.isEmpty else {
            // Never write a secret to disk: say what would have leaked and keep the last good file.
            throw RecordError(message: "the transcript would hold a secret (\(written.leaks.map { $0.description }.joined(separator: "; "))); not written")
        }
        try TranscriptWriter.write(written.data, to: file)
        return written.entries
    }

    /// Rewrites the transcript every `interval` while new exchanges arrive, until cancelled.
    func run(every interval: Duration = .seconds(5), report: @escaping @Sendable (String) -> Void) async {
        var written: Int64? = startAfter
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let last = try? sandbox.store.lastExchangeID(), last != written else { continue }
            do {
                try write()
                written = last
            } catch {
                report("vaultsim: --record: \(error)")
            }
        }
    }

    struct RecordError: Error, CustomStringConvertible {
        var message: String
        var description: String { message }
    }
}
