import Foundation

/// What an unmodified app needs to reach the fake providers through the intercepting proxy: the
/// proxy (naming its sandbox), VaultSim's CA, and the vault itself kept off the proxy. Python's
/// httpx (and so alter-sdk), curl, Go and most HTTP stacks read these variables; Node needs
/// `NODE_EXTRA_CA_CERTS` and `NODE_USE_ENV_PROXY=1` (Node 24+) or a proxy agent.
public struct ProxyEnvironment: Sendable {
    public var port: Int
    /// VaultSim's CA certificate (PEM).
    public var caFile: String

    /// The base64 SHA-256 of the CA's public key (Chromium pins it), when known.
    public var caPublicKeySHA256: String?

    public init(port: Int, caFile: String, caPublicKeySHA256: String? = nil) {
        self.port = port
        self.caFile = caFile
        self.caPublicKeySHA256 = caPublicKeySHA256
    }

    /// Chromium's flags for a browser that loads the Connect widget from its CDN through the
    /// proxy and trusts VaultSim's CA; loopback pages (the app, the vault) stay direct, as
    /// Chromium never proxies them. The pin is honoured only with a profile of its own.
    public func chromiumFlags() -> [String] {
        ["--proxy-server=http://127.0.0.1:\(port)", "--ignore-certificate-errors-spki-list=\(caPublicKeySHA256 ?? "")",
         "--user-data-dir=/tmp/vaultsim-chromium"]
    }

    /// The proxy URL for a sandbox: its id is the user name, sent as `Proxy-Authorization`.
    public func proxyURL(sandboxID: String) -> String {
        "http://\(sandboxID):vaultsim@127.0.0.1:\(port)"
    }

    /// The loopback names that stay direct (the vault itself).
    public static let noProxy = "127.0.0.1,localhost,::1"

    /// The variables, in the order `serve` prints them (upper case; most clients also read lower case).
    public func exports(sandboxID: String) -> [(name: String, value: String)] {
        let url = proxyURL(sandboxID: sandboxID)
        return [("HTTPS_PROXY", url), ("HTTP_PROXY", url), ("SSL_CERT_FILE", caFile), ("NO_PROXY", Self.noProxy)]
    }

    /// The environment of a driver process: the exports in both cases, and Node's CA variable.
    public func environment(sandboxID: String) -> [String: String] {
        var environment: [String: String] = [:]
        for (name, value) in exports(sandboxID: sandboxID) {
            environment[name] = value
            environment[name.lowercased()] = value
        }
        environment["NODE_EXTRA_CA_CERTS"] = caFile
        return environment
    }
}
