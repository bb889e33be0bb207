import Foundation
import VaultSimScenarios

/// The report files a command writes (JUnit, JSON, HTML), checked before anything runs and
/// written from one run record at the end.
struct ReportOutputs {
    var junit: String?
    var json: String?
    var html: String?

    /// Bazel's test environment names where reports go when the options do not: JUnit to
    /// `XML_OUTPUT_FILE`, the JSON and HTML reports into `TEST_UNDECLARED_OUTPUTS_DIR`.
    mutating func fillFromBazel(_ environment: [String: String]) {
        if junit == nil, let file = environment["XML_OUTPUT_FILE"], !file.isEmpty { junit = file }
        if let folder = environment["TEST_UNDECLARED_OUTPUTS_DIR"], !folder.isEmpty {
            if json == nil { json = (folder as NSString).appendingPathComponent("vaultsim-report.json") }
            if html == nil { html = (folder as NSString).appendingPathComponent("vaultsim-report.html") }
        }
    }

    /// Every problem with the paths, found before anything runs (not after the whole suite did).
    func problems() -> [String] {
        [("JUnit", junit), ("JSON", json), ("HTML", html)].compactMap { kind, path in
            guard let path, let problem = Self.problem(at: path) else { return nil }
            return "cannot write the \(kind) report to \(path): \(problem)"
        }
    }

    func write(_ record: RunRecord) throws(UserError) {
        let renderings: [(String?, () throws -> String)] = [
            (junit, { JUnitReport.xml(record) }), (json, { try record.json() }), (html, { HTMLReport.page(record) }),
        ]
        for (path, render) in renderings {
            guard let path else { continue }
            do {
                try render().write(toFile: path, atomically: true, encoding: .utf8)
            } catch {
                throw UserError.badInput("cannot write the report to \(path): \(Self.shortReason(error))")
            }
        }
    }

    /// Why a report could not be written at `path`, in a few words; nil when it can. Reports are
    /// written atomically (a temporary file in the same folder, then a rename), so what matters
    /// is that the folder exists and takes a new file: a probe file is made and removed.
    static func problem(at path: String) -> String? {
        guard !path.isEmpty else { return "the path is empty" }
        let fm = FileManager.default
        var isDirectory: ObjCBool = false
        if path.hasSuffix("/") || (fm.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue) {
            return "it is a folder; name a file in it"
        }
        let parent = (path as NSString).deletingLastPathComponent
        let folder = parent.isEmpty ? "." : parent
        guard fm.fileExists(atPath: folder, isDirectory: &isDirectory) else { return "the folder \(folder) does not exist" }
        guard isDirectory.boolValue else { return "\(folder) is not a folder" }
        let probe = (folder as NSString).appendingPathComponent(".vaultsim-report-probe-\(UUID().uuidString)")
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return String(cString: strerror(errno)) }
        _ = close(descriptor)
        _ = unlink(probe)
        return nil
    }

    /// The POSIX reason inside a Foundation file error ("Permission denied"), not its whole dump.
    static func shortReason(_ error: any Error) -> String {
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            return String(cString: strerror(Int32(truncatingIfNeeded: underlying.code)))
        }
        if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(truncatingIfNeeded: nsError.code))) }
        return nsError.localizedDescription
    }

    /// The exit code of a run's verdicts: 1 when a scenario failed, 3 when none failed but one
    /// could not be judged (infrastructure), 0 otherwise.
    static func exitCode(_ record: RunRecord) -> Int32 {
        if record.count(.failed) > 0 { return 1 }
        if record.count(.errored) > 0 { return 3 }
        return 0
    }
}
