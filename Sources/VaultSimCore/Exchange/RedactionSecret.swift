import Foundation
import GRDB

/// A secret a sandbox issued or holds, with its kind: what a transcript replaces by a placeholder
/// (`<<access_token:1>>`) wherever it appears.
public struct RedactionSecret: Sendable, Equatable, Hashable {
    public enum Kind: String, Sendable, CaseIterable, Codable {
        case apiKey = "api_key"
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case clientSecret = "client_secret"
        case authorizationCode = "authorization_code"
        case codeVerifier = "code_verifier"
        case connectSessionToken = "connect_session_token"
        case managedSecret = "managed_secret"
        case hmacSignature = "hmac_signature"
        case sigv4Signature = "sigv4_signature"
    }

    public var kind: Kind
    public var value: String

    public init(_ kind: Kind, _ value: String) {
        self.kind = kind
        self.value = value
    }
}

extension Sandbox {
    /// The vault side's secrets: the API key's secret part, the credentials providers returned,
    /// managed secrets, Connect session tokens and PKCE verifiers. (The providers' own tokens,
    /// codes and client secrets are VaultSimProviders'; the server adds them.)
    public func vaultRedactionSecrets() throws -> [RedactionSecret] {
        var secrets = [RedactionSecret(.apiKey, apiKeySecretPart)]
        for credential in try store.allCredentials() {
            secrets.append(RedactionSecret(.accessToken, credential.accessToken))
            if let refresh = credential.refreshToken { secrets.append(RedactionSecret(.refreshToken, refresh)) }
        }
        for secret in try store.allManagedSecrets() {
            for value in secret.sensitiveValues { secrets.append(RedactionSecret(.managedSecret, value)) }
        }
        for session in try store.connectSessions(limit: 10_000) { secrets.append(RedactionSecret(.connectSessionToken, session.token)) }
        for flow in try store.writer.read({ try ConnectFlow.fetchAll($0) }) {
            if let verifier = flow.codeVerifier { secrets.append(RedactionSecret(.codeVerifier, verifier)) }
        }
        return secrets
    }
}
