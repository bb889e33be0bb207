import Crypto
import Foundation
import Synchronization

/// A person the app's identity provider (IdP) knows: who `authenticate()` signs in.
public struct IdentityUser: Sendable, Equatable {
    /// The scenario's name for the user (`alice`); also the login shown on the sign-in page.
    public var name: String
    /// The IdP's subject id, the `sub` claim of the user's token.
    public var sub: String
    public var email: String?
    public var displayName: String?

    public init(name: String, sub: String, email: String? = nil, displayName: String? = nil) {
        self.name = name
        self.sub = sub
        self.email = email
        self.displayName = displayName
    }

    /// What the vault returns as `user_info` when a sign-in completes: the token's claims about
    /// the person.
    public var userInfo: JSONObject {
        var info: JSONObject = ["sub": .string(sub)]
        if let email { info["email"] = .string(email) }
        if let displayName { info["name"] = .string(displayName) }
        return info
    }
}

/// A sign-in the SDK started with `POST /sdk/auth/session` (`authenticate()`): the browser
/// page it opens, the token it polls with, and how the sign-in ended.
public struct AuthSession: Sendable {
    public enum Status: String, Sendable, CaseIterable { case pending, completed, error, expired }

    /// What the SDK polls with; never shown on the page.
    public var sessionToken: String
    /// The secret part of the sign-in page's URL (`auth_url`).
    public var pageToken: String
    public var createdAt: Date
    public var expiresAt: Date
    /// `pending` until the user signs in (`completed`) or cancels (`error`); `expired` is read
    /// from the clock by `status(at:)`.
    public var outcome: Status = .pending
    public var user: IdentityUser?
    public var userToken: String?
    public var errorMessage: String?

    public func status(at now: Date) -> Status {
        outcome == .pending && now >= expiresAt ? .expired : outcome
    }
}

/// The app's identity provider as VaultSim simulates it, in memory: whether the app has one
/// configured (`given.identity`), the people it knows, and the sign-ins the SDK started. The
/// user tokens it issues are HS256 JWTs signed with a key derived from the sandbox's API key, so
/// a token outlives a restart of `serve` and verifies only in its own sandbox.
public final class IdentityBook: Sendable {
    /// How long a sign-in session may stay pending, on the sandbox clock.
    public static let sessionLifetime: TimeInterval = 600
    /// How long a user token is valid, on the sandbox clock (one hour, as IdPs commonly issue).
    public static let defaultTokenLifetime: TimeInterval = 3600

    private struct State {
        var users: [IdentityUser]?
        var tokenLifetime: TimeInterval = IdentityBook.defaultTokenLifetime
        var sessions: [AuthSession] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Gives the app an identity provider that knows these people (replacing any before).
    public func configure(users: [IdentityUser], tokenLifetime: TimeInterval = IdentityBook.defaultTokenLifetime) {
        state.withLock {
            $0.users = users
            $0.tokenLifetime = tokenLifetime
        }
    }

    /// Whether the app has an identity provider configured.
    public var isConfigured: Bool { state.withLock { $0.users != nil } }
    public var users: [IdentityUser] { state.withLock { $0.users ?? [] } }
    public var tokenLifetime: TimeInterval { state.withLock { $0.tokenLifetime } }

    public func user(named name: String) -> IdentityUser? { users.first { $0.name == name } }

    /// Starts a sign-in.
    public func open(at now: Date) -> AuthSession {
        let session = AuthSession(sessionToken: "auth_" + SecretGenerator.token(32), pageToken: SecretGenerator.token(32),
                                  createdAt: now, expiresAt: now.addingTimeInterval(Self.sessionLifetime))
        state.withLock { $0.sessions.append(session) }
        return session
    }

    public var sessions: [AuthSession] { state.withLock { $0.sessions } }

    public func session(token: String) -> AuthSession? {
        state.withLock { $0.sessions.first { HMACVerifier.constantTimeEqual($0.sessionToken, token) } }
    }

    public func session(pageToken: String) -> AuthSession? {
        state.withLock { $0.sessions.first { HMACVerifier.constantTimeEqual($0.pageToken, pageToken) } }
    }

    /// Ends a pending sign-in: `user` signed in with `token`, or (user nil) the sign-in failed
    /// with `errorMessage`. Returns the session as it now is; nil when it is not pending at `now`.
    @discardableResult
    public func finish(pageToken: String, user: IdentityUser?, token: String?, errorMessage: String?, at now: Date) -> AuthSession? {
        state.withLock { state in
            guard let index = state.sessions.firstIndex(where: { HMACVerifier.constantTimeEqual($0.pageToken, pageToken) }),
                  state.sessions[index].status(at: now) == .pending else { return nil }
            state.sessions[index].outcome = user == nil ? .error : .completed
            state.sessions[index].user = user
            state.sessions[index].userToken = token
            state.sessions[index].errorMessage = errorMessage
            return state.sessions[index]
        }
    }
}

/// The user tokens the simulated IdP issues: compact JWS, `HS256`, with `iss`, `aud`, `sub`,
/// `iat`, `exp` (the sandbox clock's seconds) and the person's `email` and `name`. Verification is
/// total: any text gives a sub or a reason, never a trap.
public enum UserToken {
    public enum Refusal: Error, Equatable, CustomStringConvertible {
        case malformed(String)
        case badSignature
        case wrongIssuer
        case wrongAudience
        case expired(Date)

        public var description: String {
            switch self {
            case .malformed(let why): "the token is not a JWT this identity provider issued (\(why))"
            case .badSignature: "the token's signature does not verify"
            case .wrongIssuer: "the token was issued by another identity provider"
            case .wrongAudience: "the token was issued for another app"
            case .expired(let at): "the token expired at \(at.rfc3339)"
            }
        }
    }

    /// The issuer the sandbox's tokens name.
    public static func issuer(sandboxID: String) -> String { "https://idp.vaultsim.local/\(sandboxID)" }

    static func key(apiKey: String) -> SymmetricKey {
        SymmetricKey(data: Data(HMAC<SHA256>.authenticationCode(for: Data("vaultsim-idp-v1".utf8), using: SymmetricKey(data: Data(apiKey.utf8)))))
    }

    /// A token for `user`, issued at `now` and valid for `lifetime` seconds.
    public static func mint(user: IdentityUser, issuer: String, audience: String, apiKey: String, at now: Date,
                            lifetime: TimeInterval) -> String {
        let issued = Int(now.timeIntervalSince1970)
        var claims: JSONObject = ["iss": .string(issuer), "aud": .string(audience), "sub": .string(user.sub),
                                  "iat": .number(Double(issued)), "exp": .number(Double(issued + Int(lifetime)))]
        if let email = user.email { claims["email"] = .string(email) }
        if let name = user.displayName { claims["name"] = .string(name) }
        let header = base64URL(Data(#"{"alg":"HS256","typ":"JWT"}"#.utf8))
        let payload = base64URL(Data(JSONValue.object(claims).jsonText.utf8))
        let mac = HMAC<SHA256>.authenticationCode(for: Data("\(header).\(payload)".utf8), using: key(apiKey: apiKey))
        return "\(header).\(payload).\(base64URL(Data(mac)))"
    }

    /// The token's `sub` when it is one of this sandbox's tokens and valid at `now`.
    public static func verify(_ token: String, issuer: String, audience: String, apiKey: String, at now: Date) -> Result<String, Refusal> {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return .failure(.malformed("it has \(parts.count) part\(parts.count == 1 ? "" : "s"), not 3")) }
        guard let headerData = decodeBase64URL(parts[0]), let header = JSONValue.parse(headerData)?.objectValue else {
            return .failure(.malformed("its header is not base64url JSON"))
        }
        guard header["alg"]?.stringValue == "HS256" else { return .failure(.malformed("its alg is not HS256")) }
        guard let signature = decodeBase64URL(parts[2]) else { return .failure(.malformed("its signature is not base64url")) }
        guard HMAC<SHA256>.isValidAuthenticationCode(signature, authenticating: Data("\(parts[0]).\(parts[1])".utf8), using: key(apiKey: apiKey)) else {
            return .failure(.badSignature)
        }
        guard let payloadData = decodeBase64URL(parts[1]), let claims = JSONValue.parse(payloadData)?.objectValue else {
            return .failure(.malformed("its payload is not base64url JSON"))
        }
        guard claims["iss"]?.stringValue == issuer else { return .failure(.wrongIssuer) }
        guard claims["aud"]?.stringValue == audience else { return .failure(.wrongAudience) }
        guard let sub = claims["sub"]?.stringValue, !sub.isEmpty else { return .failure(.malformed("it has no sub")) }
        guard let exp = claims["exp"]?.numberValue, exp.isFinite, abs(exp) < 1e11 else { return .failure(.malformed("it has no exp")) }
        let expiry = Date(timeIntervalSince1970: exp)
        guard now < expiry else { return .failure(.expired(expiry)) }
        return .success(sub)
    }

    static func base64URL(_ data: Data) -> String {
        data.base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    static func decodeBase64URL(_ text: Substring) -> Data? {
        guard text.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "-" || $0 == "_") }) else { return nil }
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        let remainder = base64.count % 4
        guard remainder != 1 else { return nil }
        if remainder > 0 { base64 += String(repeating: "=", count: 4 - remainder) }
        return Data(base64Encoded: base64)
    }
}
