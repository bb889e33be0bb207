import Foundation
import VaultSimCore

/// Provider fixture data from `Fixtures/providers/<provider>/*.json`: each file is one top-level
/// key of the provider's data (`calendar.json` → `data["calendar"]`).
public struct FixtureLibrary: Sendable {
    public let root: URL
    private let data: [String: JSONValue]

    /// Loads every provider's fixtures. Throws, naming the file, on a file that is not JSON.
    public init(root: URL) throws {
        self.root = root
        var data: [String: JSONValue] = [:]
        let fm = FileManager.default
        let providersDir = root.appendingPathComponent("providers")
        for provider in (try? fm.contentsOfDirectory(atPath: providersDir.path)) ?? [] {
            var members: [String: JSONValue] = [:]
            let dir = providersDir.appendingPathComponent(provider)
            for file in (try? fm.contentsOfDirectory(atPath: dir.path)) ?? [] where file.hasSuffix(".json") {
                let url = dir.appendingPathComponent(file)
                guard let value = JSONValue.parse(try Data(contentsOf: url)) else {
                    throw FixtureError(message: "\(url.path): not valid JSON")
                }
                members[String(file.dropLast(5))] = value
            }
            data[provider] = .object(members)
        }
        self.data = data
    }

    /// An empty library (tests that bring their own data).
    public init() {
        self.root = URL(fileURLWithPath: "/nonexistent")
        self.data = [:]
    }

    /// The provider's data as one sandbox sees it: fixtures deep-merged with its overrides.
    public func data(provider: String, in sandbox: Sandbox) -> JSONValue {
        let base = data[provider] ?? .object([:])
        return sandbox.dataOverride(provider: provider).map { base.merging($0) } ?? base
    }
}

public struct FixtureError: Error, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}
