/// What VaultSim knows about each provider it simulates: its id, the real hosts it stands in
/// for, and, for OAuth providers, the endpoints and wire dialect the vault uses to talk to its
/// authorization server. The fake behaviour itself lives in VaultSimProviders.
public struct ProviderDescriptor: Sendable, Equatable {
    public enum Kind: String, Sendable { case oauth, managed }

    public var id: String
    public var displayName: String
    public var kind: Kind
    /// The real host names the fake answers for; the first is where an app's API calls go.
    public var hosts: [String]
    /// How the vault reaches the provider's authorization server (nil for managed-secret APIs).
    public var oauth: OAuthEndpoints?

    public var primaryHost: String { hosts.first ?? id }
}

/// The real URLs of a provider's authorization server and the dialect its token endpoint speaks.
public struct OAuthEndpoints: Sendable, Equatable {
    public enum Dialect: String, Sendable {
        /// RFC 6749 JSON answers; errors with HTTP 400/401 (Google).
        case standard
        /// Every answer HTTP 200 with an `ok` flag; errors as `{"ok": false, "error": ...}` (Slack).
        case slack
        /// Form-encoded unless JSON is asked for; errors as HTTP 200 with an `error` field (GitHub).
        case github
    }

    public var authorizeURL: String
    public var tokenURL: String
    public var revokeURL: String
    /// Where the vault reads who the account is, with the new access token.
    public var userinfoURL: String
    public var dialect: Dialect
    /// Separator of the `scope` parameter and of scopes in token responses.
    public var scopeSeparator: String
    /// Whether the vault sends a PKCE challenge (S256) with its authorization requests.
    public var usesPKCE: Bool
    /// The scopes an app's configuration allows by default (its Dev Portal allowlist); a Connect
    /// flow asks for these unless the session names fewer.
    public var defaultScopes: [String]
}

public enum ProviderCatalog {
    public static let google = ProviderDescriptor(
        id: "google", displayName: "Google", kind: .oauth,
        hosts: ["www.googleapis.com", "gmail.googleapis.com", "oauth2.googleapis.com", "openidconnect.googleapis.com", "accounts.google.com"],
        oauth: OAuthEndpoints(
            authorizeURL: "https://accounts.google.com/o/oauth2/v2/auth", tokenURL: "https://oauth2.googleapis.com/token",
            revokeURL: "https://oauth2.googleapis.com/revoke", userinfoURL: "https://openidconnect.googleapis.com/v1/userinfo",
            dialect: .standard, scopeSeparator: " ", usesPKCE: true,
            defaultScopes: ["openid", "email", "profile", "https://www.googleapis.com/auth/calendar.readonly",
                            "https://www.googleapis.com/auth/calendar.events", "https://www.googleapis.com/auth/gmail.readonly"]))
    public static let slack = ProviderDescriptor(
        id: "slack", displayName: "Slack", kind: .oauth, hosts: ["slack.com"],
        oauth: OAuthEndpoints(
            authorizeURL: "https://slack.com/oauth/v2/authorize", tokenURL: "https://slack.com/api/oauth.v2.access",
            revokeURL: "https://slack.com/api/auth.revoke", userinfoURL: "https://slack.com/api/auth.test",
            dialect: .slack, scopeSeparator: ",", usesPKCE: false, defaultScopes: ["chat:write", "channels:read", "channels:history"]))
    public static let github = ProviderDescriptor(
        id: "github", displayName: "GitHub", kind: .oauth, hosts: ["api.github.com", "github.com"],
        oauth: OAuthEndpoints(
            authorizeURL: "https://github.com/login/oauth/authorize", tokenURL: "https://github.com/login/oauth/access_token",
            revokeURL: "https://api.github.com/applications/{client_id}/grant", userinfoURL: "https://api.github.com/user",
            dialect: .github, scopeSeparator: ",", usesPKCE: true, defaultScopes: ["read:user", "repo"]))
    /// The APIs of the guide's managed-secret examples: loyalty points on api.internal.com, and
    /// the contacts API of its path-templating example on api.example.com.
    public static let internalAPI = ProviderDescriptor(
        id: "internal", displayName: "Internal API", kind: .managed, hosts: ["api.internal.com", "api.example.com"], oauth: nil)

    public static let all: [ProviderDescriptor] = [google, slack, github, internalAPI]

    public static func descriptor(id: String) -> ProviderDescriptor? { all.first { $0.id == id } }

    /// The provider standing in for a real host, if any.
    public static func descriptor(forHost host: String) -> ProviderDescriptor? {
        let host = host.lowercased()
        return all.first { $0.hosts.contains(host) }
    }
}
