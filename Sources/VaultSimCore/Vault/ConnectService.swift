import Foundation

/// The vault's side of Alter Connect: sessions an app creates and polls, the authorization
/// requests the hosted pages send users to, and the callback that turns a provider's answer into
/// a grant (through `CredentialService`) or into the session's error. Knows providers only by
/// their real URLs and their answers; the pages themselves are rendered by the server.
public struct ConnectService: Sendable {
    /// How long a session lives on the sandbox clock (`expires_in`).
    public static let sessionLifetime = 600

    public let sandbox: Sandbox
    public let credentials: CredentialService

    public init(credentials: CredentialService) {
        self.sandbox = credentials.sandbox
        self.credentials = credentials
    }

    /// What `create_connect_session()` sends, read and typed at the edge.
    public struct SessionRequest: Sendable {
        public var allowedProviders: [String]?
        public var returnURL: String?
        public var allowedOrigin: String?
        public var metadata: JSONValue?
        public var grantPolicy: ConnectGrantPolicy?
        public var requiredScopes: [String: [String]]?
        /// `repair_grant_id` (alter-sdk 0.23.3+): the grant whose credential this session replaces.
        public var repairGrantID: String?

        public init(allowedProviders: [String]? = nil, returnURL: String? = nil, allowedOrigin: String? = nil, metadata: JSONValue? = nil,
                    grantPolicy: ConnectGrantPolicy? = nil, requiredScopes: [String: [String]]? = nil, repairGrantID: String? = nil) {
            self.repairGrantID = repairGrantID
            self.allowedProviders = allowedProviders
            self.returnURL = returnURL
            self.allowedOrigin = allowedOrigin
            self.metadata = metadata
            self.grantPolicy = grantPolicy
            self.requiredScopes = requiredScopes
        }
    }

    // MARK: sessions

    /// Creates a session after checking every input: providers the app configured, URLs and an
    /// origin that are what they claim, TTL bounds in range, and required scopes inside the
    /// app's allowlist (`400 scope_not_allowed` otherwise, as the protocol documents).
    public func create(_ request: SessionRequest) throws(VaultError) -> ConnectSession {
        let configs = try oauthConfigs()
        if let allowed = request.allowedProviders {
            guard !allowed.isEmpty else { throw Self.invalid("allowed_providers must name at least one provider, or be null for all") }
            for provider in allowed {
                guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
                    let known = ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")
                    throw VaultError.badRequest("'\(provider)' is not an OAuth provider this vault offers (known: \(known))", code: "invalid_provider")
                }
                guard configs[provider] != nil else { throw VaultError.providerNotConfigured(provider) }
            }
        }
        if let url = request.returnURL { try Self.checkURL(url, field: "return_url") }
        if let origin = request.allowedOrigin { try Self.checkOrigin(origin) }
        if let policy = request.grantPolicy { try Self.check(policy) }
        for (provider, scopes) in request.requiredScopes ?? [:] {
            guard let config = configs[provider] else {
                throw VaultError.badRequest("required_scopes names '\(provider)', which the app has not configured", code: "scope_not_allowed",
                                            details: ["provider_id": .string(provider)])
            }
            guard request.allowedProviders?.contains(provider) ?? true else {
                throw VaultError.badRequest("required_scopes names '\(provider)', which allowed_providers leaves out", code: "invalid_request")
            }
            guard !scopes.isEmpty else { throw Self.invalid("required_scopes.\(provider) must list at least one scope") }
            let outside = scopes.filter { !config.allowedScopes.contains($0) }
            guard outside.isEmpty else {
                throw VaultError.badRequest(
                    "Scopes not allowed for \(provider): \(outside.joined(separator: ", ")). The app's configuration allows: \(config.allowedScopes.joined(separator: ", "))",
                    code: "scope_not_allowed",
                    details: ["provider_id": .string(provider), "scopes": .array(outside.map(JSONValue.string))])
            }
        }
        if let repairGrantID = request.repairGrantID { try checkRepair(repairGrantID, allowed: request.allowedProviders) }
        let now = sandbox.clock.now
        var session = ConnectSession(
            token: "cs_" + SecretGenerator.token(40), allowedProviders: request.allowedProviders, returnURL: request.returnURL,
            allowedOrigin: request.allowedOrigin, metadata: request.metadata, grantPolicy: request.grantPolicy,
            requiredScopes: request.requiredScopes, createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(Self.sessionLifetime)))
        session.repairGrantID = request.repairGrantID
        try store { try sandbox.store.insert(connectSession: session) }
        return session
    }

    /// The session as the app's poll sees it; 404 for a token this vault never issued.
    public func session(token: String) throws(VaultError) -> ConnectSession {
        guard let session = try store({ try sandbox.store.connectSession(token: token) }) else {
            throw VaultError(status: 404, code: "session_not_found", message: "No Connect session with this token",
                             details: ["session_token": .string(String(token.prefix(8)) + "…")])
        }
        return session
    }

    /// The providers the hosted page offers: allowed, configured, not yet connected in this session.
    public func offeredProviders(_ session: ConnectSession) throws(VaultError) -> [ProviderDescriptor] {
        let configs = try oauthConfigs()
        let connected = Set(session.results.map(\.providerID))
        let ids = session.allowedProviders ?? ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id)
        return ids.compactMap { id in
            guard configs[id] != nil, !connected.contains(id) else { return nil }
            return ProviderCatalog.descriptor(id: id)
        }
    }

    /// The hosted page was opened (the first time is recorded).
    public func markOpened(_ session: ConnectSession) throws(VaultError) {
        guard session.openedAt == nil else { return }
        var opened = session
        opened.openedAt = sandbox.clock.now
        try store { try sandbox.store.save(connectSession: opened) }
    }

    /// The Connect widget opened the session's hosted page in a popup from a page at `origin`:
    /// the hosted pages will post to it. Accepted when it is the session's `allowed_origin`, or,
    /// when the session names none, when `loopbackAllowed` says so (VaultSim's stand-in for the
    /// app's website URL in Alter's portal); else 403 saying what to pass.
    public func acceptPopupOrigin(token: String, origin: String, loopbackAllowed: (String) -> Bool) throws(VaultError) {
        var session = try self.session(token: token)
        do {
            try Self.checkOrigin(origin)
        } catch {
            throw VaultError(status: 400, code: "invalid_origin", message: "The widget sent origin '\(origin)', which is not an origin (scheme://host[:port]).")
        }
        if let allowed = session.allowedOrigin {
            guard allowed == origin else {
                throw VaultError(status: 403, code: "origin_not_allowed",
                                 message: "This Connect session posts its result only to \(allowed) (its allowed_origin), but the widget was opened from \(origin).")
            }
        } else if !loopbackAllowed(origin) {
            throw VaultError(status: 403, code: "origin_not_allowed",
                             message: "This Connect session names no allowed_origin, and \(origin) is not a page of this machine: pass allowed_origin=\"\(origin)\" to create_connect_session().")
        }
        guard session.status == .pending, session.popupOrigin != origin else { return }
        session.popupOrigin = origin
        try store { try sandbox.store.save(connectSession: session) }
    }

    // MARK: authorization

    /// The user chose a provider (and maybe a grant duration) on the hosted page: returns the
    /// provider's real authorization URL, with a `state` naming this sandbox and flow, and
    /// PKCE where the provider takes it.
    public func begin(token: String, providerID: String, ttlSeconds chosen: Int?, callbackURL: String) throws(VaultError) -> String {
        let session = try self.session(token: token)
        try requirePending(session)
        guard try offeredProviders(session).contains(where: { $0.id == providerID }),
              let provider = ProviderCatalog.descriptor(id: providerID), let endpoints = provider.oauth else {
            throw Self.invalid("'\(providerID)' is not offered by this Connect session")
        }
        guard let config = try oauthConfigs()[providerID], let clientID = config.clientID else {
            throw VaultError.providerNotConfigured(providerID)
        }
        var ttl: Int?
        var chosenBy: String?
        if let policy = session.grantPolicy {
            if let chosen, !policy.choices.isEmpty {
                guard policy.choices.contains(chosen) else {
                    throw Self.invalid("a grant duration of \(chosen) s is not one this session offers")
                }
                ttl = chosen
                chosenBy = "end_user"
            } else if let preselected = policy.preselected {
                ttl = preselected
                chosenBy = policy.choices.isEmpty ? "developer" : "end_user"
            }
        }
        let scopes = session.requiredScopes[providerID] ?? config.allowedScopes
        let verifier = endpoints.usesPKCE ? SecretGenerator.token(64) : nil
        let flow = ConnectFlow(state: "\(sandbox.id).\(SecretGenerator.token(32))", sessionToken: token, providerID: providerID,
                               codeVerifier: verifier, scopesJSON: JSONValue.listText(scopes), ttlSeconds: ttl, ttlChosenBy: chosenBy,
                               createdAt: sandbox.clock.now)
        try store { try sandbox.store.insert(connectFlow: flow) }
        var query: [(String, String)] = [("client_id", clientID), ("redirect_uri", callbackURL)]
        switch endpoints.dialect {
        case .standard:
            query += [("response_type", "code"), ("scope", scopes.joined(separator: " ")), ("access_type", "offline"), ("prompt", "consent")]
        case .slack:
            query += [("scope", scopes.joined(separator: ","))]
        case .github:
            query += [("scope", scopes.joined(separator: " "))]
        }
        query.append(("state", flow.state))
        if let verifier { query += [("code_challenge", RequestSigning.pkceChallenge(verifier)), ("code_challenge_method", "S256")] }
        return endpoints.authorizeURL + "?" + QueryString.encode(query)
    }

    /// How a provider's redirect back to the vault ended.
    public struct CallbackOutcome: Sendable {
        public var session: ConnectSession
        /// The connection made, if the user approved and the code exchange worked.
        public var connected: ConnectResultRecord?
    }

    /// The provider redirected the user back: with `code` (approved) or `error` (denied, or the
    /// provider failed). Exchanges the code through the provider's token endpoint, reads the
    /// account, stores the grant, and records the outcome on the session. A session past its
    /// lifetime takes nothing: the code is not exchanged and no grant is made.
    public func complete(state: String, code: String?, error: String?, errorDescription: String?) async throws(VaultError) -> CallbackOutcome {
        guard let flow = try store({ try sandbox.store.connectFlow(state: state) }) else {
            throw Self.invalid("This authorization response names no Connect flow this vault started (unknown state)")
        }
        var session = try self.session(token: flow.sessionToken)
        let now = sandbox.clock.now
        guard try store({ try sandbox.store.finish(connectFlow: state, at: now) }) else {
            throw Self.invalid("This authorization response was already used (the state is spent)")
        }
        guard session.status(at: now) == .pending else { return CallbackOutcome(session: session) }
        let providerName = ProviderCatalog.descriptor(id: flow.providerID)?.displayName ?? flow.providerID
        if let error {
            if error == "access_denied" {
                session.fail(code: "connect_denied", message: "The user denied access on \(providerName)'s consent page")
            } else {
                session.fail(code: error, message: errorDescription.map { "\(providerName): \($0)" }
                    ?? "\(providerName) ended the authorization with \(error)")
            }
            try store { try sandbox.store.save(connectSession: session) }
            return CallbackOutcome(session: session)
        }
        guard let code, !code.isEmpty else {
            session.fail(code: "invalid_request", message: "\(providerName) redirected back with neither a code nor an error")
            try store { try sandbox.store.save(connectSession: session) }
            return CallbackOutcome(session: session)
        }
        let grant: Grant
        let reauthorized: Bool
        do {
            (grant, reauthorized) = try await credentials.authorize(
                providerID: flow.providerID, code: code, codeVerifier: flow.codeVerifier,
                expiresAt: flow.ttlSeconds.map { now.addingTimeInterval(TimeInterval($0)) }, repairing: session.repairGrantID)
        } catch {
            session.fail(code: error.code, message: error.message)
            try store { try sandbox.store.save(connectSession: session) }
            return CallbackOutcome(session: session)
        }
        let result = ConnectResultRecord(
            grantID: grant.id, providerID: grant.providerID, accountIdentifier: grant.accountIdentifier, scopes: grant.scopes,
            policyExpiresAt: grant.expiresAt, policyCreatedBy: grant.expiresAt == nil ? nil : flow.ttlChosenBy,
            policyCreatedAt: grant.expiresAt == nil ? nil : now, operation: reauthorized ? "reauth" : "creation", connectedAt: now)
        session.results.append(result)
        // Done once every provider the app asked for is connected (or it named none).
        if let allowed = session.allowedProviders {
            if Set(allowed).isSubset(of: Set(session.results.map(\.providerID))) { session.status = .completed }
        } else {
            session.status = .completed
        }
        try store { try sandbox.store.save(connectSession: session) }
        return CallbackOutcome(session: session, connected: result)
    }

    /// The user pressed Finish with some providers still unconnected.
    public func finish(token: String) throws(VaultError) -> ConnectSession {
        var session = try self.session(token: token)
        try requirePending(session)
        guard !session.results.isEmpty else { throw Self.invalid("Connect at least one account before finishing") }
        session.status = .completed
        try store { try sandbox.store.save(connectSession: session) }
        return session
    }

    // MARK: checks

    /// A repair session names a live OAuth grant of this vault (404 `grant_not_found`, which the
    /// SDK answers with an ordinary session) and exactly that grant's provider.
    private func checkRepair(_ grantID: String, allowed: [String]?) throws(VaultError) {
        guard let grant = try store({ try sandbox.store.grant(id: grantID) }), grant.kind == .oauth, grant.status != .deleted else {
            throw VaultError(status: 404, code: "grant_not_found", message: "repair_grant_id names no OAuth grant of this app",
                             details: ["repair_grant_id": .string(grantID)])
        }
        guard allowed == [grant.providerID] else {
            throw Self.invalid("A repair session must allow exactly the grant's provider: allowed_providers [\"\(grant.providerID)\"]")
        }
    }

    private func requirePending(_ session: ConnectSession) throws(VaultError) {
        switch session.status(at: sandbox.clock.now) {
        case .pending: return
        case .expired: throw VaultError(status: 410, code: "session_expired", message: "This Connect session has expired")
        case .completed, .error: throw VaultError(status: 409, code: "session_closed", message: "This Connect session is already finished")
        }
    }

    private func oauthConfigs() throws(VaultError) -> [String: ProviderConfig] {
        let all = try store { try sandbox.store.allProviderConfigs() }
        return Dictionary(all.filter { $0.isConfigured && $0.clientID != nil && ProviderCatalog.descriptor(id: $0.providerID)?.kind == .oauth }
            .map { ($0.providerID, $0) }, uniquingKeysWith: { a, _ in a })
    }

    static func check(_ policy: ConnectGrantPolicy) throws(VaultError) {
        let range = ConnectGrantPolicy.ttlRange
        for (name, value) in [("max_ttl_seconds", policy.maxTTLSeconds), ("default_ttl_seconds", policy.defaultTTLSeconds)] {
            if let value, !range.contains(value) {
                throw invalid("grant_policy.\(name) must be \(range.lowerBound)–\(range.upperBound) seconds, got \(value)")
            }
        }
        if let max = policy.maxTTLSeconds, let preset = policy.defaultTTLSeconds, preset > max {
            throw invalid("grant_policy.default_ttl_seconds (\(preset)) is longer than max_ttl_seconds (\(max))")
        }
    }

    static func checkURL(_ text: String, field: String) throws(VaultError) {
        guard text.count <= 2048, let url = URL(string: text), let scheme = url.scheme?.lowercased(), scheme == "https" || scheme == "http",
              let host = url.host, !host.isEmpty else {
            throw invalid("\(field) must be an absolute http(s) URL of at most 2048 characters")
        }
    }

    static func checkOrigin(_ text: String) throws(VaultError) {
        try checkURL(text, field: "allowed_origin")
        let url = URL(string: text)
        guard (url?.path ?? "").isEmpty || url?.path == "/", url?.query == nil, url?.fragment == nil, !text.hasSuffix("/") else {
            throw invalid("allowed_origin must be an origin (scheme://host[:port]) without a path, query or trailing slash")
        }
    }

    static func invalid(_ message: String) -> VaultError {
        VaultError(status: 400, code: "invalid_request", message: message)
    }

    private func store<T>(_ body: () throws -> T) throws(VaultError) -> T {
        do { return try body() } catch { throw CredentialService.storeFailure(error) }
    }
}

extension ConnectSession {
    mutating func fail(code: String, message: String) {
        status = .error
        errorCode = code
        errorMessage = message
    }
}
