import Foundation
import VaultSimCore
import VaultSimProviders
import VaultSimServer

/// The dev sandbox `vaultsim serve` gives a newcomer: a grant at every simulated OAuth provider
/// (each made through the provider's own authorization), a managed secret of every type for the
/// internal API, and the banner that says what to export so the app's code runs unchanged.
public enum DevSandbox {
    /// Seeds a new sandbox.
    /// The OAuth grants belong to `identityUser`, so identity mode finds them once she signs in.
    public static func seed(_ sandbox: Sandbox, server: VaultSimServer) async throws {
        var seeds = [GrantSeed(provider: "google", account: "alice@example.com", displayName: "Alice (work)",
                               scopes: ["https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.readonly"]),
                     GrantSeed(provider: "slack", account: "alice", scopes: ["chat:write", "channels:read"]),
                     GrantSeed(provider: "github", account: "alice", scopes: ["repo", "read:user"])]
        for index in seeds.indices { seeds[index].userSub = identityUser.sub }
        for seed in seeds { _ = try await server.seed(grant: seed, in: sandbox) }
        for type in CredentialType.allCases {
            _ = try server.seed(secret: SecretSeed(type: type), in: sandbox)
        }
    }

    /// The person the dev sandbox's identity provider knows (in memory, so given at every start).
    public static let identityUser = IdentityUser(name: "alice", sub: "user-alice", email: "alice@example.com", displayName: "Alice")

    /// Gives the sandbox its identity provider, so `authenticate()` and identity mode work.
    public static func configureIdentity(_ sandbox: Sandbox) {
        sandbox.identity.configure(users: [identityUser])
    }

    /// The lines to paste into the app's shell, in order.
    public static func exports(sandbox: Sandbox, serverURL: String, proxy: ProxyEnvironment?) -> [(name: String, value: String)] {
        [("ALTER_BASE_URL", serverURL), ("ALTER_API_KEY", sandbox.apiKey)] + (proxy?.exports(sandboxID: sandbox.id) ?? [])
    }

    /// What `serve` prints.
    /// - Parameter widgetFolder: where `serve` wrote the Connect widget's npm package, if it did.
    public static func banner(sandbox: Sandbox, serverURL: String, proxy: ProxyEnvironment?, autoConsent: Bool,
                              widgetFolder: String? = nil) throws -> String {
        var text = """
            VaultSim is serving the default app "\(sandbox.name)" (sandbox \(sandbox.id)).

            Export these in the shell that runs your app; its code stays as it is:


            """
        for (name, value) in exports(sandbox: sandbox, serverURL: serverURL, proxy: proxy) {
            text += "  export \(name)=\(value)\n"
        }
        if let proxy {
            text += """

                Python (httpx, so alter-sdk), curl and Go read these: calls to the real provider URLs go through
                VaultSim's proxy to the fake providers, and the vault stays direct (NO_PROXY). Node also needs
                NODE_EXTRA_CA_CERTS=\(proxy.caFile) and NODE_USE_ENV_PROXY=1 (Node 24+) or a proxy agent.
                Nothing leaves this machine: a host VaultSim does not fake gets a 502 naming it.

                """
        }
        text += "\nGrants (grant_id, provider, account, real base URL):\n"
        let grants = try sandbox.store.activeOAuthGrants(providerID: nil, limit: 1000, offset: 0).grants
        for grant in grants {
            let base = ProviderCatalog.descriptor(id: grant.providerID).map { "https://\($0.primaryHost)/" } ?? ""
            text += "  \(grant.id)  \(grant.providerID.padding(toLength: 8, withPad: " ", startingAt: 0))  \((grant.accountIdentifier ?? "").padding(toLength: 34, withPad: " ", startingAt: 0))  \(base)\n"
        }
        for secret in try sandbox.store.allManagedSecrets() {
            let label = "managed secret (\(secret.type.rawValue))"
            text += "  \(secret.grantID)  internal  \(label.padding(toLength: 34, withPad: " ", startingAt: 0))  https://api.internal.com/\n"
        }
        text += autoConsent
            ? "\nConnect: every new session is approved at once as the first account of each provider (--auto-consent).\n"
            : "\nConnect: vault.connect() and create_connect_session() give a connect_url; open it in a browser and press Allow.\n"
                + "  On a machine without a browser, run `vaultsim serve --auto-consent` to approve sessions automatically.\n"
        text += "Sign-in: vault.authenticate() opens the identity provider's page in a browser; sign in as alice "
            + "(sub \(identityUser.sub)).\n"
        text += widget(serverURL: serverURL, proxy: proxy, folder: widgetFolder)
        let map = HostMap(serverURL: serverURL, sandboxID: sandbox.id)
        text += proxy == nil
            ? "\nProviders (use these URLs in place of the real hosts):\n"
            : "\nWithout the proxy (an SDK that cannot use HTTPS_PROXY), these URLs stand for the real hosts:\n"
        for provider in ProviderCatalog.all.sorted(by: { $0.id < $1.id }) {
            for host in provider.hosts {
                let real = "https://\(host)/"
                text += "  \(real.padding(toLength: 38, withPad: " ", startingAt: 0)) -> \((try? map.fakeURL(for: real)) ?? "")\n"
            }
        }
        text += "\nControl API: \(serverURL)/_vaultsim/sandboxes   (docs/control-api.md; Ctrl-C stops)\n"
        return text
    }

    /// The banner's lines on the Connect widget (`@alter-ai/connect`): where a page loads it from.
    static func widget(serverURL: String, proxy: ProxyEnvironment?, folder: String?) -> String {
        let file = "\(ConnectWidget.packagePrefix)@latest/dist/alter-connect.umd.js"
        var text = "\nConnect widget (@alter-ai/connect, the guide's popup flow), offline:\n"
        if let proxy {
            text += "  <script src=\"https://\(ConnectWidget.cdnHost)\(file)\"></script>  in a browser that uses the proxy:\n"
                + "    chromium \(proxy.chromiumFlags().joined(separator: " "))\n"
        }
        text += "  \(serverURL)\(file)  (alter-connect.esm.js for import)\n"
        if let folder { text += "  npm install \(folder)   then: import AlterConnect from '@alter-ai/connect'\n" }
        text += "  Without allowed_origin, a session's popup posts its result to any page of this machine (localhost, 127.0.0.1).\n"
        return text
    }

    /// The `export NAME=value` lines of a banner, by name (for scripts and tests).
    public static func exports(in banner: String) -> [String: String] {
        var found: [String: String] = [:]
        for line in banner.split(separator: "\n") {
            let trimmed = line.trimmingCharacters(in: .whitespaces)
            guard trimmed.hasPrefix("export "), let equals = trimmed.firstIndex(of: "=") else { continue }
            found[String(trimmed[trimmed.index(trimmed.startIndex, offsetBy: 7)..<equals])] = String(trimmed[trimmed.index(after: equals)...])
        }
        return found
    }
}
