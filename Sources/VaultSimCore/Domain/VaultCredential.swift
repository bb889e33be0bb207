import Foundation
import GRDB

/// What the vault holds for an OAuth grant: the tokens the provider's token endpoint returned,
/// exactly as it returned them. The vault knows nothing else about the provider's tokens.
public struct VaultCredential: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "vault_credentials"

    public var grantID: String
    public var accessToken: String
    public var refreshToken: String?
    public var tokenType: String
    public var scopesJSON: String
    /// From the provider's `expires_in`, on the sandbox clock; nil when it gave none.
    public var expiresAt: Date?
    public var obtainedAt: Date

    public init(grantID: String, accessToken: String, refreshToken: String?, tokenType: String, scopes: [String],
                expiresAt: Date?, obtainedAt: Date) {
        self.grantID = grantID
        self.accessToken = accessToken
        self.refreshToken = refreshToken
        self.tokenType = tokenType
        self.scopesJSON = JSONValue.listText(scopes)
        self.expiresAt = expiresAt
        self.obtainedAt = obtainedAt
    }

    public var scopes: [String] { JSONValue.list(fromText: scopesJSON) }

    /// Whether the access token can still be used at `now`, with a margin so a token does not
    /// expire between the vault handing it out and the app using it.
    public func isFresh(at now: Date, margin: TimeInterval = 30) -> Bool {
        expiresAt.map { $0.timeIntervalSince(now) > margin } ?? true
    }

    enum CodingKeys: String, CodingKey {
        case grantID = "grant_id"
        case accessToken = "access_token"
        case refreshToken = "refresh_token"
        case tokenType = "token_type"
        case scopesJSON = "scopes"
        case expiresAt = "expires_at"
        case obtainedAt = "obtained_at"
    }
}
