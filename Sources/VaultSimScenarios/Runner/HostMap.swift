import Foundation
import VaultSimCore
import VaultSimProviders

/// Maps the real provider URLs scenarios are written with (`https://www.googleapis.com/...`) to
/// the provider gateway of one sandbox (`http://127.0.0.1:P/sandboxes/<id>/hosts/www.googleapis.com/...`),
/// and back. The gateway dispatches by the real host name, so the mapping is the same for every
/// provider. This is the `--no-proxy` fallback: by default the intercepting proxy takes the
/// real URLs as they are, and nothing is mapped.
public struct HostMap: Sendable {
    /// Whether a URL is `http://` or `https://` (any case): only those are mapped or served.
    public static func isWebURL(_ url: String) -> Bool {
        let lower = url.lowercased()
        return lower.hasPrefix("http://") || lower.hasPrefix("https://")
    }

    public struct UnknownHost: Error, CustomStringConvertible {
        public var url: String
        public var description: String {
            let hosts = ProviderCatalog.all.flatMap(\.hosts).joined(separator: ", ")
            return "no fake provider serves '\(url)' (VaultSim simulates: \(hosts))"
        }
    }

    public let serverURL: String
    public let sandboxID: String
    /// Whether results are mapped back (`--no-proxy`); through the proxy the app only ever saw
    /// the real URLs, and results are judged as they came.
    public let mapsBack: Bool

    public init(serverURL: String, sandboxID: String, mapsBack: Bool = true) {
        self.serverURL = serverURL
        self.sandboxID = sandboxID
        self.mapsBack = mapsBack
    }

    /// The provider of a real URL, its host, and the rest of the URL after the host (path and query).
    public static func provider(forRealURL url: String) throws -> (provider: ProviderDescriptor, host: String, rest: String) {
        let lower = url.lowercased()
        guard let scheme = ["https://", "http://"].first(where: lower.hasPrefix) else { throw UnknownHost(url: url) }
        let afterScheme = url.dropFirst(scheme.count)
        let hostEnd = afterScheme.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? afterScheme.endIndex
        let hostAndPort = afterScheme[..<hostEnd]
        let host = (hostAndPort.split(separator: ":").first.map(String.init) ?? "").lowercased()
        guard let provider = ProviderCatalog.descriptor(forHost: host) else { throw UnknownHost(url: url) }
        var rest = String(afterScheme[hostEnd...])
        if !rest.hasPrefix("/") { rest = "/" + rest }
        return (provider, host, rest)
    }

    private var gatewayPrefix: String { "\(serverURL)\(ProviderRoutes.mountPrefix)/\(sandboxID)/hosts/" }

    /// The fake URL standing in for a real one.
    public func fakeURL(for realURL: String) throws -> String {
        let (_, host, rest) = try Self.provider(forRealURL: realURL)
        return ProviderRoutes.baseURL(serverURL: serverURL, sandboxID: sandboxID, host: host) + rest
    }

    /// The real URL a fake one stands for (unchanged when it is not a gateway URL).
    public func realURL(for fakeURL: String) -> String {
        guard fakeURL.hasPrefix(gatewayPrefix) else { return fakeURL }
        let rest = fakeURL.dropFirst(gatewayPrefix.count)
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        var path = String(rest[hostEnd...])
        if path.isEmpty { path = "/" }
        return "https://\(rest[..<hostEnd])\(path)"
    }

    /// Replaces every fake provider URL inside a JSON value by its real URL (nothing in proxy mode).
    public func realURLs(in value: JSONValue) -> JSONValue {
        guard mapsBack else { return value }
        return switch value {
        case .string(let s) where s.contains(gatewayPrefix): .string(s.replacingOccurrences(of: gatewayPrefix, with: "https://"))
        case .array(let a): .array(a.map(realURLs))
        case .object(let o): .object(o.mapValues(realURLs))
        default: value
        }
    }
}
