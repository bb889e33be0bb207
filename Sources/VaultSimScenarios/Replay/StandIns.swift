import Foundation
import VaultSimCore

/// The values placeholders stand for during a replay: each `<<kind:N>>` of a transcript gets a
/// fresh value (the API key's is the replay sandbox's own key), put into what replay serves and
/// taken back out of what the SDK sends, so requests compare with the recorded placeholders.
/// Vault and gateway addresses are mapped the same way.
public struct StandIns: Sendable {
    private var values: [(placeholder: String, value: String)] = []
    /// Recorded → replay text replacements applied to what is served, and their reverse.
    private var addresses: [(recorded: String, replay: String)] = []
    let hostMap: HostMap?

    /// - Parameters:
    ///   - apiKeySecret: the replay sandbox's API key without `alter_key_` (the stand-in of `<<api_key:1>>`).
    ///   - hostMap: the replay sandbox's gateway, when the SDK reaches providers through it (no proxy).
    public init(placeholders: [String], apiKeySecret: String, recordedVault: (url: String, sandbox: String)?,
                replayVault: (url: String, sandbox: String), hostMap: HostMap?) {
        for placeholder in placeholders {
            let inner = placeholder.dropFirst(2).dropLast(2)
            let kind = inner.split(separator: ":").first.map(String.init) ?? "secret"
            let value = kind == "api_key" ? apiKeySecret
                : "vsr" + kind.replacingOccurrences(of: "_", with: "") + String(inner.split(separator: ":").last ?? "") + "x" + SecretGenerator.token(16)
            values.append((placeholder, value))
        }
        if let recordedVault {
            addresses.append(("\(recordedVault.url)/sandboxes/\(recordedVault.sandbox)/", "\(replayVault.url)/sandboxes/\(replayVault.sandbox)/"))
            addresses.append((recordedVault.url, replayVault.url))
        }
        self.hostMap = hostMap
    }

    /// A recorded text as replay serves it: stand-ins for placeholders, this server's addresses.
    public func apply(_ text: String) -> String {
        var text = text
        if text.contains("<<") {
            for (placeholder, value) in values where text.contains(placeholder) {
                text = text.replacingOccurrences(of: placeholder, with: value)
            }
        }
        for (recorded, replay) in addresses where text.contains(recorded) {
            text = text.replacingOccurrences(of: recorded, with: replay)
        }
        if let hostMap { text = hostMap.fakeURLs(inText: text) }
        return text
    }

    /// What the SDK sent, as the transcript would show it: placeholders for stand-ins, the recorded addresses.
    public func restore(_ text: String) -> String {
        var text = text
        if let hostMap { text = hostMap.realURLs(inText: text) }
        for (recorded, replay) in addresses where text.contains(replay) {
            text = text.replacingOccurrences(of: replay, with: recorded)
        }
        for (placeholder, value) in values where text.contains(value) {
            text = text.replacingOccurrences(of: value, with: placeholder)
        }
        return text
    }

    public func apply(_ value: JSONValue) -> JSONValue { map(value, apply) }
    public func restore(_ value: JSONValue) -> JSONValue { map(value, restore) }

    private func map(_ value: JSONValue, _ transform: (String) -> String) -> JSONValue {
        switch value {
        case .string(let text): .string(transform(text))
        case .array(let items): .array(items.map { map($0, transform) })
        case .object(let members): .object(members.mapValues { map($0, transform) })
        default: value
        }
    }
}
