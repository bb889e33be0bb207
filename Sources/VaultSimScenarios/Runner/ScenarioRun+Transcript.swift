import Foundation
import VaultSimCore
import VaultSimProviders
import VaultSimServer

extension ScenarioRun {
    /// With `--record DIR`: writes the scenario's exchanges, in the order they happened, and its
    /// driver ops as `DIR/<scenario id>.har`, every secret replaced by a placeholder. A transcript
    /// that cannot be written is a finding of its own (the run goes on).
    mutating func writeTranscript(sandbox: Sandbox, hostMap: HostMap) {
        guard let directory = runner.options.recordDirectory, skipReason == nil else { return }
        let file = URL(fileURLWithPath: directory).appendingPathComponent(scenario.id + ".har")
        do {
            let written = try TranscriptWriter(server: runner.server, hostMap: hostMap)
                .transcript(of: sandbox, exchanges: try sandbox.store.exchanges(), info: transcriptInfo(sandbox: sandbox),
                            name: file.lastPathComponent)
            for leak in written.leaks { add(.leak, "token leak: \(leak)") }
            try TranscriptWriter.write(written.data, to: file)
            transcriptPath = file.path
            exchangeLines = ExchangeLine.lines(of: written.har)
        } catch {
            findings.append(Finding(kind: .setup, message: "record: cannot write the transcript \(file.path): \(error)"))
        }
    }

    /// What replay needs to drive the same client again: the SDK, the `init` parameters besides
    /// the vault's address and key, the vault's address when recorded, and the ops.
    private func transcriptInfo(sandbox: Sandbox) -> HAR.TranscriptInfo {
        let client = scenario.given.client
        var parameters: JSONObject = [
            "api_key": .string(client.apiKey.rawValue), "vault": .string(client.vault.rawValue),
            "timeout": .number(client.timeout ?? runner.options.sdkTimeout),
            "vault_url": .string(vaultURL), "sandbox": .string(sandbox.id),
        ]
        // A wrong key belongs to no sandbox: replay sends the same one, so the answer naming it matches.
        if let wrongAPIKey { parameters["wrong_api_key"] = .string(wrongAPIKey) }
        if let caller = client.caller { parameters["caller"] = .string(caller) }
        if let callerType = client.callerType { parameters["caller_type"] = .string(callerType) }
        if let basePath = client.basePath { parameters["base_path"] = .string(basePath) }
        if client.contextManager { parameters["context_manager"] = true }
        // The getter's token as the client had it (replay answers from the recording, so it is not checked again).
        if let token = client.userToken { parameters["user_token"] = .string(Placeholders.substitute(.string(token), bindings).stringValue ?? token) }
        return HAR.TranscriptInfo(
            format: HAR.transcriptFormat, scenario: scenario.id, scenarioFile: Self.relative(scenario.location.file),
            sdk: sdkInfo?["sdk"]?.stringValue, sdkVersion: sdkInfo?["version"]?.stringValue, client: .object(parameters),
            proxy: runner.options.proxy != nil, ops: ops, placeholders: [])
    }

    /// A path relative to the working directory when it is under it (a transcript is committed).
    static func relative(_ path: String) -> String {
        let here = FileManager.default.currentDirectoryPath + "/"
        return path.hasPrefix(here) ? String(path.dropFirst(here.count)) : path
    }
}

extension HostMap {
    /// A text with every gateway URL of this sandbox (raw or URL-encoded) written as the real URL.
    public func realURLs(inText text: String) -> String {
        let prefix = "\(serverURL)\(ProviderRoutes.mountPrefix)/\(sandboxID)/hosts/"
        guard text.contains(prefix) || text.contains("%2F") else { return text }
        var text = text.replacingOccurrences(of: prefix, with: "https://")
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        if let encoded = prefix.addingPercentEncoding(withAllowedCharacters: unreserved) {
            text = text.replacingOccurrences(of: encoded, with: "https%3A%2F%2F")
        }
        return text
    }

    /// A text with every real URL of a faked host written as this sandbox's gateway URL (raw or URL-encoded).
    public func fakeURLs(inText text: String) -> String {
        var text = text
        let unreserved = CharacterSet(charactersIn: "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~")
        for host in ProviderCatalog.all.flatMap(\.hosts) where text.contains(host) {
            let gateway = "\(serverURL)\(ProviderRoutes.mountPrefix)/\(sandboxID)/hosts/\(host)"
            text = text.replacingOccurrences(of: "https://\(host)", with: gateway)
            if let encoded = gateway.addingPercentEncoding(withAllowedCharacters: unreserved) {
                text = text.replacingOccurrences(of: "https%3A%2F%2F\(host)", with: encoded)
            }
        }
        return text
    }
}
