import Foundation
import VaultSimCore
import VaultSimServer

/// Makes a sandbox's exchanges a redacted transcript, and checks it as the app's output is
/// checked: no secret the sandbox issued or an exchange carried may remain, in any form.
public struct TranscriptWriter: Sendable {
    /// A transcript ready to write, and the secrets found in it all the same (none, normally).
    public struct Written: Sendable {
        public var data: Data
        public var har: HAR
        public var entries: Int { har.log.entries.count }
        public var leaks: [LeakScanner.Finding]
    }

    public let server: VaultSimServer
    public let hostMap: HostMap

    public init(server: VaultSimServer, hostMap: HostMap) {
        self.server = server
        self.hostMap = HostMap(serverURL: hostMap.serverURL, sandboxID: hostMap.sandboxID, mapsBack: true)
    }

    /// The transcript of `exchanges` (the sandbox's, in the order they happened).
    public func transcript(of sandbox: Sandbox, exchanges: [Exchange], info: HAR.TranscriptInfo, name: String) throws -> Written {
        let map = hostMap
        return try Self.transcript(exchanges: exchanges, secrets: try server.redactionSecrets(sandbox), realURLs: { map.realURLs(inText: $0) },
                                   info: info, name: name)
    }

    /// The transcript of `exchanges` with `secrets` (and those found where they stand) redacted.
    public static func transcript(exchanges: [Exchange], secrets: [RedactionSecret], realURLs: @escaping @Sendable (String) -> String = { $0 },
                                  info: HAR.TranscriptInfo, name: String) throws -> Written {
        let har = TranscriptBuilder(secrets: secrets, realURLs: realURLs).build(exchanges: exchanges, info: info)
        let data = try har.encoded()
        let scanner = LeakScanner(secrets: (secrets + TranscriptBuilder.discoveredSecrets(in: exchanges))
            .filter { $0.value.count >= Redactor.shortest }
            .map { LeakScanner.Secret(label: $0.kind.rawValue.replacingOccurrences(of: "_", with: " "), value: $0.value) })
        let leaks = scanner.scan([("the transcript \(name)", String(decoding: data, as: UTF8.self))])
        return Written(data: data, har: har, leaks: leaks)
    }

    /// Writes a transcript atomically, making its folder when needed.
    public static func write(_ data: Data, to file: URL) throws {
        try FileManager.default.createDirectory(at: file.deletingLastPathComponent(), withIntermediateDirectories: true)
        try data.write(to: file, options: .atomic)
    }
}
