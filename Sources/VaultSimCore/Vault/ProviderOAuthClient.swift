import Foundation

/// The tokens a provider's token endpoint returned, as the vault read them.
public struct ProviderTokenSet: Sendable, Equatable {
    public var accessToken: String
    public var refreshToken: String?
    public var tokenType: String
    /// Seconds, as the provider gave them; nil when it gave none.
    public var expiresIn: Int?
    /// The scopes the provider says it granted; nil when it did not say.
    public var scopes: [String]?
}

/// Who the account behind a new grant is, from the provider's userinfo endpoint.
public struct ProviderAccountInfo: Sendable, Equatable {
    public var identifier: String
    public var displayName: String?
}

/// Why a call to a provider's authorization server did not give the vault what it needed.
public enum ProviderOAuthError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The grant (code or refresh token) is dead: expired, revoked, reused.
    case invalidGrant(String)
    /// The provider does not accept the app's client credentials.
    case invalidClient(String)
    /// Another refusal, with the provider's error code.
    case rejected(code: String, message: String)
    /// No usable answer: a 5xx, a timeout, a reset connection or a body the vault cannot read.
    case unavailable(String)

    public var description: String {
        switch self {
        case .invalidGrant(let m): "invalid_grant: \(m)"
        case .invalidClient(let m): "invalid_client: \(m)"
        case .rejected(let code, let m): "\(code): \(m)"
        case .unavailable(let m): "provider unavailable: \(m)"
        }
    }
}

/// The vault's side of OAuth: the code exchange, refresh, revocation and userinfo calls, each in
/// its provider's dialect (`OAuthEndpoints.Dialect`), sent through a `ProviderTransport`.
public struct ProviderOAuthClient: Sendable {
    public let transport: any ProviderTransport
    public let sandbox: Sandbox

    public init(transport: any ProviderTransport, sandbox: Sandbox) {
        self.transport = transport
        self.sandbox = sandbox
    }

    public func exchange(code: String, codeVerifier: String?, provider: ProviderDescriptor,
                         config: ProviderConfig) async throws(ProviderOAuthError) -> ProviderTokenSet {
        let endpoints = try Self.endpoints(provider)
        var fields = [("grant_type", "authorization_code"), ("code", code), ("redirect_uri", config.redirectURI ?? "")]
        if let codeVerifier { fields.append(("code_verifier", codeVerifier)) }
        return try await tokenCall(endpoints, fields: fields, config: config)
    }

    public func refresh(token: String, provider: ProviderDescriptor, config: ProviderConfig) async throws(ProviderOAuthError) -> ProviderTokenSet {
        let endpoints = try Self.endpoints(provider)
        let set = try await tokenCall(endpoints, fields: [("grant_type", "refresh_token"), ("refresh_token", token)], config: config)
        // Refreshed tokens expire; an answer without expires_in is one the vault cannot schedule.
        guard set.expiresIn != nil else { throw .unavailable("the refresh answer has no expires_in") }
        return set
    }

    /// Reads who the account is with a fresh access token.
    public func account(accessToken: String, provider: ProviderDescriptor) async throws(ProviderOAuthError) -> ProviderAccountInfo {
        let endpoints = try Self.endpoints(provider)
        var request = OutboundRequest(method: endpoints.dialect == .slack ? "POST" : "GET", url: endpoints.userinfoURL,
                                      headers: [("Authorization", "Bearer \(accessToken)"), ("Accept", "application/json")])
        if endpoints.dialect == .github { request.headers.append(("X-GitHub-Api-Version", "2022-11-28")) }
        let response = try await send(request)
        guard let json = JSONValue.parse(response.body), response.status == 200 else {
            throw .unavailable("userinfo answered HTTP \(response.status)")
        }
        switch endpoints.dialect {
        case .standard:
            guard let email = json["email"]?.stringValue ?? json["sub"]?.stringValue else { throw .unavailable("userinfo has no email or sub") }
            return ProviderAccountInfo(identifier: email, displayName: json["name"]?.stringValue)
        case .slack:
            guard json["ok"]?.boolValue == true, let user = json["user"]?.stringValue else {
                throw .unavailable("auth.test answered \(json["error"]?.stringValue ?? "no user")")
            }
            return ProviderAccountInfo(identifier: user, displayName: json["team"]?.stringValue.map { "\(user) (\($0))" })
        case .github:
            guard let login = json["login"]?.stringValue else { throw .unavailable("/user has no login") }
            return ProviderAccountInfo(identifier: login, displayName: json["name"]?.stringValue)
        }
    }

    /// Tells the provider to revoke a token (best effort: the answer is returned, not judged).
    public func revoke(token: String, provider: ProviderDescriptor, config: ProviderConfig) async throws(ProviderOAuthError) -> InboundResponse {
        let endpoints = try Self.endpoints(provider)
        switch endpoints.dialect {
        case .standard:
            return try await send(.form(endpoints.revokeURL, [("token", token)]))
        case .slack:
            return try await send(.form(endpoints.revokeURL, [("token", token)], headers: [("Authorization", "Bearer \(token)")]))
        case .github:
            let url = endpoints.revokeURL.replacingOccurrences(of: "{client_id}", with: config.clientID ?? "")
            let basic = Data("\(config.clientID ?? ""):\(config.clientSecret ?? "")".utf8).base64EncodedString()
            return try await send(OutboundRequest(
                method: "DELETE", url: url,
                headers: [("Authorization", "Basic \(basic)"), ("Accept", "application/vnd.github+json"), ("Content-Type", "application/json")],
                body: Data(JSONValue.object(["access_token": .string(token)]).jsonText.utf8)))
        }
    }

    // MARK: token endpoint

    private func tokenCall(_ endpoints: OAuthEndpoints, fields: [(String, String)], config: ProviderConfig) async throws(ProviderOAuthError) -> ProviderTokenSet {
        let credentials = [("client_id", config.clientID ?? ""), ("client_secret", config.clientSecret ?? "")]
        let request: OutboundRequest = switch endpoints.dialect {
        case .standard, .slack: .form(endpoints.tokenURL, fields + credentials)
        case .github: .form(endpoints.tokenURL, fields + credentials, headers: [("Accept", "application/json")])
        }
        let response = try await send(request)
        if response.status >= 500 || response.status == 429 {
            throw .unavailable("the token endpoint answered HTTP \(response.status)")
        }
        guard let json = JSONValue.parse(response.body), case .object = json else {
            throw .unavailable("the token endpoint answered HTTP \(response.status) with a body that is not a JSON object")
        }
        switch endpoints.dialect {
        case .standard:
            if response.status != 200 {
                let code = json["error"]?.stringValue ?? "http_\(response.status)"
                let message = json["error_description"]?.stringValue ?? code
                throw Self.classify(code: code, message: message, grantCodes: ["invalid_grant"], clientCodes: ["invalid_client", "unauthorized_client"])
            }
        case .slack:
            if json["ok"]?.boolValue != true {
                let code = json["error"]?.stringValue ?? "not_ok"
                throw Self.classify(code: code, message: code, grantCodes: ["invalid_code", "invalid_refresh_token", "code_already_used", "token_revoked"],
                                    clientCodes: ["invalid_client_id", "bad_client_secret", "invalid_client"])
            }
        case .github:
            if let code = json["error"]?.stringValue {
                throw Self.classify(code: code, message: json["error_description"]?.stringValue ?? code,
                                    grantCodes: ["bad_verification_code", "bad_refresh_token"],
                                    clientCodes: ["incorrect_client_credentials", "unverified_user_email"])
            }
            guard response.status == 200 else { throw .unavailable("the token endpoint answered HTTP \(response.status)") }
        }
        return try Self.tokenSet(json, separator: endpoints.scopeSeparator)
    }

    static func tokenSet(_ json: JSONValue, separator: String) throws(ProviderOAuthError) -> ProviderTokenSet {
        guard let access = json["access_token"]?.stringValue, !access.isEmpty else {
            throw .unavailable("the token response has no access_token")
        }
        var expiresIn: Int?
        if let raw = json["expires_in"], !raw.isNull {
            guard let seconds = raw.intValue, (0...(10 * 365 * 86400)).contains(seconds) else {
                throw .unavailable("the token response's expires_in is not a number of seconds: \(raw.jsonText)")
            }
            expiresIn = seconds
        }
        let scopes = json["scope"]?.stringValue.map {
            $0.split(separator: Character(separator == "," ? "," : " ")).map { String($0).trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
        }
        return ProviderTokenSet(accessToken: access, refreshToken: json["refresh_token"]?.stringValue,
                                tokenType: json["token_type"]?.stringValue ?? "Bearer", expiresIn: expiresIn, scopes: scopes)
    }

    static func classify(code: String, message: String, grantCodes: Set<String>, clientCodes: Set<String>) -> ProviderOAuthError {
        if grantCodes.contains(code) { return .invalidGrant("\(code): \(message)") }
        if clientCodes.contains(code) { return .invalidClient("\(code): \(message)") }
        return .rejected(code: code, message: message)
    }

    private func send(_ request: OutboundRequest) async throws(ProviderOAuthError) -> InboundResponse {
        do {
            return try await transport.send(request, sandbox: sandbox)
        } catch {
            throw .unavailable("\(request.method) \(request.url): \(error)")
        }
    }

    static func endpoints(_ provider: ProviderDescriptor) throws(ProviderOAuthError) -> OAuthEndpoints {
        guard let endpoints = provider.oauth else { throw .rejected(code: "not_oauth", message: "\(provider.id) is not an OAuth provider") }
        return endpoints
    }
}
