import Foundation
import GRDB
import VaultSimCore

/// How one provider's authorization server behaves: lifetimes, token shapes, PKCE support.
public struct OAuthPolicy: Sendable {
    public var providerID: String
    public var codeLifetime: TimeInterval = 600
    public var accessTokenLifetime: Int
    /// Refresh tokens expire after this many seconds (nil: they live until revoked).
    public var refreshTokenLifetime: Int?
    public var supportsPKCE: Bool
    public var accessTokenPrefix: String
    public var refreshTokenPrefix: String
    /// Whether a newly registered client gets rotating (single-use) refresh tokens.
    public var rotatesRefreshTokensByDefault: Bool
}

/// Why an authorization server refused a request, in RFC 6749 terms; each provider renders it
/// in its own wire shape (Google's JSON with HTTP 400/401, Slack's `ok:false`, GitHub's HTTP 200).
public struct OAuthFailure: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: String, Sendable {
        case invalidRequest = "invalid_request"
        case invalidClient = "invalid_client"
        case invalidGrant = "invalid_grant"
        case unauthorizedClient = "unauthorized_client"
        case unsupportedGrantType = "unsupported_grant_type"
        case invalidScope = "invalid_scope"
        case redirectURIMismatch = "redirect_uri_mismatch"
        case accessDenied = "access_denied"
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { "\(code.rawValue): \(message)" }
}

/// What a successful code exchange or refresh hands out.
public struct TokenIssue: Sendable {
    public var access: ProviderToken
    public var refresh: ProviderToken?
    public var account: ProviderAccount
    public var scopes: [String] { access.scopes }
}

/// A provider's authorization server over its own store: authorization codes, token exchange,
/// refresh with optional rotation, revocation. Strict like the real servers: a code works once
/// and only while fresh (replaying it revokes what it issued), `redirect_uri` must match exactly,
/// the client must authenticate, PKCE S256 is verified, a refresh cannot widen scopes, and reuse
/// of a rotated refresh token revokes its whole family.
public struct AuthorizationServer: Sendable {
    public let policy: OAuthPolicy
    public let store: ProviderStore
    let clock: VirtualClock

    public init(policy: OAuthPolicy, sandbox: Sandbox) {
        self.policy = policy
        self.store = ProviderStore(sandbox)
        self.clock = sandbox.clock
    }

    var providerID: String { policy.providerID }

    // MARK: authorization

    public struct AuthorizationRequest: Sendable {
        public var clientID: String
        public var redirectURI: String
        public var scopes: [String]
        public var accountID: String
        public var codeChallenge: String?
        public var codeChallengeMethod: String?
        public var accessTokenLifetime: Int?

        public init(clientID: String, redirectURI: String, scopes: [String], accountID: String, codeChallenge: String? = nil,
                    codeChallengeMethod: String? = nil, accessTokenLifetime: Int? = nil) {
            self.clientID = clientID
            self.redirectURI = redirectURI
            self.scopes = scopes
            self.accountID = accountID
            self.codeChallenge = codeChallenge
            self.codeChallengeMethod = codeChallengeMethod
            self.accessTokenLifetime = accessTokenLifetime
        }
    }

    /// Checks what an authorization request names before any user is asked: the client, the
    /// exact redirect URI, the scopes and the PKCE parameters.
    public func validate(clientID: String, redirectURI: String, scopes: [String], codeChallenge: String?,
                         codeChallengeMethod: String?) throws(OAuthFailure) -> OAuthClientRecord {
        let client: OAuthClientRecord
        do {
            guard let found = try store.client(providerID: providerID, clientID: clientID) else {
                throw OAuthFailure(.invalidClient, "The OAuth client was not found.")
            }
            client = found
        } catch let failure as OAuthFailure { throw failure } catch {
            throw OAuthFailure(.invalidRequest, "the provider's store failed: \(type(of: error))")
        }
        guard client.redirectURIs.contains(redirectURI) else {
            throw OAuthFailure(.redirectURIMismatch, "The redirect_uri does not match one registered for the client.")
        }
        guard !scopes.isEmpty else { throw OAuthFailure(.invalidScope, "Missing required parameter: scope") }
        if let method = codeChallengeMethod, codeChallenge == nil {
            throw OAuthFailure(.invalidRequest, "code_challenge_method \(method) given without code_challenge")
        }
        if codeChallenge != nil {
            guard policy.supportsPKCE else { throw OAuthFailure(.invalidRequest, "PKCE is not supported") }
            guard (codeChallengeMethod ?? "plain") == "S256" else {
                throw OAuthFailure(.invalidRequest, "Invalid code_challenge_method: only S256 is accepted")
            }
        }
        return client
    }

    /// The user approved: issues an authorization code bound to the client, redirect URI,
    /// account, scopes and PKCE challenge.
    public func authorize(_ request: AuthorizationRequest) throws(OAuthFailure) -> AuthorizationCodeRecord {
        _ = try validate(clientID: request.clientID, redirectURI: request.redirectURI, scopes: request.scopes,
                         codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallengeMethod)
        let now = clock.now
        let code = AuthorizationCodeRecord(
            code: "4/0A" + SecretGenerator.token(40), providerID: providerID, clientID: request.clientID, accountID: request.accountID,
            redirectURI: request.redirectURI, scopesJSON: Self.json(request.scopes), codeChallenge: request.codeChallenge,
            codeChallengeMethod: request.codeChallenge == nil ? nil : "S256", accessTokenLifetime: request.accessTokenLifetime,
            issuedAt: now, expiresAt: now.addingTimeInterval(policy.codeLifetime), usedAt: nil)
        try perform { db in
            guard try ProviderAccount.fetchOne(db, key: ["provider_id": providerID, "id": request.accountID]) != nil else {
                throw OAuthFailure(.accessDenied, "no account '\(request.accountID)' at \(providerID)")
            }
            try code.insert(db)
        }
        return code
    }

    // MARK: token endpoint

    /// Client authentication: the client must exist and its secret match.
    public func authenticate(clientID: String?, clientSecret: String?) throws(OAuthFailure) -> OAuthClientRecord {
        guard let clientID, !clientID.isEmpty else { throw OAuthFailure(.invalidClient, "Missing client_id") }
        let found: OAuthClientRecord?
        do { found = try store.client(providerID: providerID, clientID: clientID) } catch {
            throw OAuthFailure(.invalidRequest, "the provider's store failed")
        }
        guard let client = found else { throw OAuthFailure(.invalidClient, "The OAuth client was not found.") }
        guard let clientSecret, Self.constantTimeEqual(clientSecret, client.clientSecret) else {
            throw OAuthFailure(.invalidClient, "Unauthorized")
        }
        return client
    }

    /// `grant_type=authorization_code`.
    public func exchange(code value: String?, redirectURI: String?, codeVerifier: String?,
                         client: OAuthClientRecord) throws(OAuthFailure) -> TokenIssue {
        guard let value, !value.isEmpty else { throw OAuthFailure(.invalidRequest, "Missing required parameter: code") }
        let now = clock.now
        return try perform { db in
            guard var code = try AuthorizationCodeRecord.fetchOne(db, key: value), code.providerID == providerID else {
                throw OAuthFailure(.invalidGrant, "Malformed auth code.")
            }
            if code.usedAt != nil {
                // A replayed code: revoke everything it issued (RFC 6749 §4.1.2).
                try revokeTokens(db, ProviderToken.filter(Column("code") == code.code), reason: "code_reuse", at: now)
                throw OAuthFailure(.invalidGrant, "Bad Request: the code was already redeemed.")
            }
            guard code.expiresAt > now else { throw OAuthFailure(.invalidGrant, "Bad Request: the code has expired.") }
            guard code.clientID == client.clientID else { throw OAuthFailure(.invalidGrant, "Bad Request: the code was issued to another client.") }
            guard redirectURI == code.redirectURI else {
                throw OAuthFailure(.redirectURIMismatch, "Bad Request: redirect_uri does not match the authorization request.")
            }
            if let challenge = code.codeChallenge {
                guard let codeVerifier, !codeVerifier.isEmpty else { throw OAuthFailure(.invalidGrant, "Missing code verifier.") }
                guard Self.s256(codeVerifier) == challenge else { throw OAuthFailure(.invalidGrant, "Invalid code verifier.") }
            } else if codeVerifier != nil {
                throw OAuthFailure(.invalidGrant, "code_verifier given but the authorization request had no code_challenge.")
            }
            guard let account = try ProviderAccount.fetchOne(db, key: ["provider_id": providerID, "id": code.accountID]) else {
                throw OAuthFailure(.invalidGrant, "The account no longer exists.")
            }
            code.usedAt = now
            try code.update(db)
            let family = SecretGenerator.uuid()
            let access = try issueAccess(db, client: client, accountID: account.id, scopes: code.scopes, family: family,
                                         code: code.code, lifetime: code.accessTokenLifetime, at: now)
            let refresh = try issueRefresh(db, client: client, accountID: account.id, scopes: code.scopes, family: family,
                                           code: code.code, at: now)
            return TokenIssue(access: access, refresh: refresh, account: account)
        }
    }

    /// `grant_type=refresh_token`; `scopes` (when given) may only narrow the original grant.
    public func refresh(token value: String?, scopes requested: [String]?, client: OAuthClientRecord) throws(OAuthFailure) -> TokenIssue {
        guard let value, !value.isEmpty else { throw OAuthFailure(.invalidRequest, "Missing required parameter: refresh_token") }
        let now = clock.now
        return try perform { db in
            guard var old = try ProviderToken.fetchOne(db, key: value), old.kind == .refresh, old.providerID == providerID else {
                throw OAuthFailure(.invalidGrant, "Bad Request")
            }
            guard old.clientID == client.clientID else { throw OAuthFailure(.invalidGrant, "Token was issued to another client.") }
            if old.rotatedAt != nil {
                // Reuse of a rotated refresh token: treat it as stolen and revoke the family.
                try revokeTokens(db, ProviderToken.filter(Column("family_id") == old.familyID), reason: "refresh_token_reuse", at: now)
                throw OAuthFailure(.invalidGrant, "Token has been expired or revoked.")
            }
            guard old.revokedAt == nil, old.expiresAt.map({ $0 > now }) ?? true else {
                throw OAuthFailure(.invalidGrant, "Token has been expired or revoked.")
            }
            var scopes = old.scopes
            if let requested, !requested.isEmpty {
                let wider = Set(requested).subtracting(old.scopes)
                guard wider.isEmpty else {
                    throw OAuthFailure(.invalidScope, "The refresh cannot add scopes not granted: \(wider.sorted().joined(separator: " "))")
                }
                scopes = requested
            }
            let access = try issueAccess(db, client: client, accountID: old.accountID, scopes: scopes, family: old.familyID,
                                         code: old.code, lifetime: nil, at: now)
            var refresh: ProviderToken?
            if client.rotateRefreshTokens {
                old.rotatedAt = now
                try old.update(db)
                refresh = try issueRefresh(db, client: client, accountID: old.accountID, scopes: old.scopes, family: old.familyID,
                                           code: old.code, at: now)
            }
            guard let account = try ProviderAccount.fetchOne(db, key: ["provider_id": providerID, "id": old.accountID]) else {
                throw OAuthFailure(.invalidGrant, "The account no longer exists.")
            }
            return TokenIssue(access: access, refresh: refresh, account: account)
        }
    }

    // MARK: revocation and introspection

    /// Revokes one token and, as Google does, everything issued with it (its family).
    /// Returns false when the provider never issued it.
    @discardableResult
    public func revoke(token value: String, reason: String = "client") throws -> Bool {
        let now = clock.now
        return try store.writer.write { db in
            guard let token = try ProviderToken.fetchOne(db, key: value), token.providerID == providerID else { return false }
            try revokeTokens(db, ProviderToken.filter(Column("family_id") == token.familyID), reason: reason, at: now)
            return true
        }
    }

    /// The user removes the app's access in the provider's account settings: every token of
    /// that account for the client (or for every client) stops working.
    @discardableResult
    public func revokeAccess(accountID: String, clientID: String? = nil, reason: String = "user") throws -> Int {
        let now = clock.now
        return try store.writer.write { db in
            var request = ProviderToken.filter(Column("provider_id") == providerID && Column("account_id") == accountID)
            if let clientID { request = request.filter(Column("client_id") == clientID) }
            return try revokeTokens(db, request, reason: reason, at: now)
        }
    }

    /// Checks a bearer token as the provider's resource servers do.
    public func introspect(accessToken value: String) throws -> (token: ProviderToken, account: ProviderAccount)? {
        let now = clock.now
        return try store.writer.read { db in
            guard let token = try ProviderToken.fetchOne(db, key: value), token.kind == .access, token.providerID == providerID,
                  token.isUsable(at: now),
                  let account = try ProviderAccount.fetchOne(db, key: ["provider_id": providerID, "id": token.accountID])
            else { return nil }
            return (token, account)
        }
    }

    // MARK: helpers

    private func issueAccess(_ db: Database, client: OAuthClientRecord, accountID: String, scopes: [String], family: String,
                             code: String?, lifetime: Int?, at now: Date) throws -> ProviderToken {
        let token = ProviderToken(
            token: policy.accessTokenPrefix + SecretGenerator.token(48), kind: .access, providerID: providerID, clientID: client.clientID,
            accountID: accountID, scopesJSON: Self.json(scopes), familyID: family, code: code, issuedAt: now,
            expiresAt: now.addingTimeInterval(TimeInterval(lifetime ?? policy.accessTokenLifetime)))
        try token.insert(db)
        return token
    }

    private func issueRefresh(_ db: Database, client: OAuthClientRecord, accountID: String, scopes: [String], family: String,
                              code: String?, at now: Date) throws -> ProviderToken {
        let token = ProviderToken(
            token: policy.refreshTokenPrefix + SecretGenerator.token(64), kind: .refresh, providerID: providerID, clientID: client.clientID,
            accountID: accountID, scopesJSON: Self.json(scopes), familyID: family, code: code, issuedAt: now,
            expiresAt: policy.refreshTokenLifetime.map { now.addingTimeInterval(TimeInterval($0)) })
        try token.insert(db)
        return token
    }

    @discardableResult
    private func revokeTokens(_ db: Database, _ request: QueryInterfaceRequest<ProviderToken>, reason: String, at now: Date) throws -> Int {
        try request.filter(Column("revoked_at") == nil)
            .updateAll(db, Column("revoked_at").set(to: now), Column("revoked_by").set(to: reason))
    }

    /// Runs a write; an `OAuthFailure` thrown inside still commits what was written before it
    /// (a replayed code must stay revoked even though the request is refused).
    private func perform<T: Sendable>(_ body: @Sendable (Database) throws -> T) throws(OAuthFailure) -> T {
        let outcome: Result<T, OAuthFailure>
        do {
            outcome = try store.writer.write { db -> Result<T, OAuthFailure> in
                do { return .success(try body(db)) } catch let failure as OAuthFailure { return .failure(failure) }
            }
        } catch {
            throw OAuthFailure(.invalidRequest, "the provider's store failed: \(type(of: error))")
        }
        return try outcome.get()
    }

    static func json(_ scopes: [String]) -> String { JSONValue.listText(scopes) }

    /// BASE64URL(SHA256(verifier)) without padding (RFC 7636 §4.2).
    public static func s256(_ verifier: String) -> String { RequestSigning.pkceChallenge(verifier) }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        guard x.count == y.count else { return false }
        return zip(x, y).reduce(0) { $0 | ($1.0 ^ $1.1) } == 0
    }
}
