import Foundation
import VaultSimCore
import VaultSimProviders

/// Maps the real provider URLs scenarios are written with (`https://www.googleapis.com/...`) to
/// the fake providers of one sandbox, and back. Today the runner rewrites URLs before the driver
/// sees them; an intercepting proxy can later take this job without changing scenario text.
public struct HostMap: Sendable {
    public struct UnknownHost: Error, CustomStringConvertible {
        public var url: String
        public var description: String {
            let hosts = ProviderCatalog.all.flatMap { $0.hosts.map(\.host) }.joined(separator: ", ")
            return "no fake provider serves '\(url)' (VaultSim simulates: \(hosts))"
        }
    }

    public struct NoFakeAPI: Error, CustomStringConvertible {
        public var provider: ProviderDescriptor
        public var description: String {
            "\(provider.hosts.map(\.host).joined(separator: ", ")) (\(provider.id)): VaultSim has grants for \(provider.displayName) but no fake API for it yet"
        }
    }

    public let serverURL: String
    public let sandboxID: String

    public init(serverURL: String, sandboxID: String) {
        self.serverURL = serverURL
        self.sandboxID = sandboxID
    }

    /// The provider of a real URL and the rest of the URL after its host (path and query).
    public static func provider(forRealURL url: String) throws -> (provider: ProviderDescriptor, rest: String) {
        let lower = url.lowercased()
        guard let scheme = ["https://", "http://"].first(where: lower.hasPrefix) else { throw UnknownHost(url: url) }
        let afterScheme = url.dropFirst(scheme.count)
        let hostEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let hostAndPort = afterScheme[..<hostEnd]
        let host = hostAndPort.split(separator: ":").first.map(String.init) ?? ""
        guard let provider = ProviderCatalog.descriptor(forHost: host) else { throw UnknownHost(url: url) }
        guard ProviderDirectory.simulatedProviderIDs.contains(provider.id) else { throw NoFakeAPI(provider: provider) }
        var rest = String(afterScheme[hostEnd...])
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return (provider, rest)
    }

    /// The fake URL standing in for a real one.
    public func fakeURL(for realURL: String) throws -> String {
        let (provider, rest) = try Self.provider(forRealURL: realURL)
        return ProviderRoutes.baseURL(serverURL: serverURL, sandboxID: sandboxID, providerID: provider.id) + rest
    }

    /// The real URL a fake one stands for (unchanged when it is not a fake provider URL).
    public func realURL(for fakeURL: String) -> String {
        for provider in ProviderCatalog.all {
            let base = ProviderRoutes.baseURL(serverURL: serverURL, sandboxID: sandboxID, providerID: provider.id)
            guard fakeURL.hasPrefix(base) else { continue }
            let rest = String(fakeURL.dropFirst(base.count))
            let path = rest.isEmpty ? "/" : rest
            let host = provider.hosts.first { path.hasPrefix($0.pathPrefix) }?.host ?? provider.primaryHost
            return "https://\(host)\(path)"
        }
        return fakeURL
    }

    /// Replaces every fake provider URL inside a JSON value by its real URL.
    public func realURLs(in value: JSONValue) -> JSONValue {
        switch value {
        case .string(let s) where s.hasPrefix(serverURL): .string(realURL(for: s))
        case .array(let a): .array(a.map(realURLs))
        case .object(let o): .object(o.mapValues(realURLs))
        default: value
        }
    }
}
