/// What VaultSim knows about each provider it simulates: its id, the real hosts it stands in
/// for, and how its tokens look. The fake behaviour itself lives in VaultSimProviders.
public struct ProviderDescriptor: Sendable, Equatable {
    public enum Kind: String, Sendable { case oauth, managed }

    /// A real host and the path prefix it serves (the first matching route wins when a fake URL
    /// is mapped back to a real one).
    public struct HostRoute: Sendable, Equatable {
        public var host: String
        public var pathPrefix: String
    }

    public var id: String
    public var displayName: String
    public var kind: Kind
    public var hosts: [HostRoute]
    public var accessTokenPrefix: String
    public var accessTokenLifetime: Int

    public var primaryHost: String { hosts.last?.host ?? id }
}

public enum ProviderCatalog {
    public static let google = ProviderDescriptor(
        id: "google", displayName: "Google", kind: .oauth,
        hosts: [.init(host: "gmail.googleapis.com", pathPrefix: "/gmail/"),
                .init(host: "oauth2.googleapis.com", pathPrefix: "/token"),
                .init(host: "www.googleapis.com", pathPrefix: "/")],
        accessTokenPrefix: "ya29.", accessTokenLifetime: 3599)
    public static let slack = ProviderDescriptor(
        id: "slack", displayName: "Slack", kind: .oauth,
        hosts: [.init(host: "slack.com", pathPrefix: "/")], accessTokenPrefix: "xoxp-", accessTokenLifetime: 43200)
    public static let github = ProviderDescriptor(
        id: "github", displayName: "GitHub", kind: .oauth,
        hosts: [.init(host: "api.github.com", pathPrefix: "/")], accessTokenPrefix: "gho_", accessTokenLifetime: 28800)
    /// The internal bearer-token API of the guide's managed-secret example (loyalty points).
    public static let internalAPI = ProviderDescriptor(
        id: "internal", displayName: "Internal API", kind: .managed,
        hosts: [.init(host: "api.internal.com", pathPrefix: "/")], accessTokenPrefix: "", accessTokenLifetime: 0)

    public static let all: [ProviderDescriptor] = [google, slack, github, internalAPI]

    public static func descriptor(id: String) -> ProviderDescriptor? { all.first { $0.id == id } }

    /// The provider standing in for a real host, if any.
    public static func descriptor(forHost host: String) -> ProviderDescriptor? {
        let host = host.lowercased()
        return all.first { $0.hosts.contains { $0.host == host } }
    }
}
