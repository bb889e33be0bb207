import Foundation
import GRDB

/// A token a fake provider issued for a grant: the access token the vault injects, or the
/// refresh token it keeps. Fake providers accept a bearer token only if it is here, for their
/// provider, unrevoked and unexpired on the sandbox's virtual clock.
public struct IssuedToken: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public enum Kind: String, Codable, Sendable { case access, refresh }

    public static let databaseTableName = "issued_tokens"

    public var token: String
    public var kind: Kind
    public var grantID: String
    public var providerID: String
    public var scopesJSON: String
    public var issuedAt: Date
    public var expiresAt: Date?
    public var revokedAt: Date?

    public init(token: String, kind: Kind, grantID: String, providerID: String, scopes: [String], issuedAt: Date, expiresAt: Date?) {
        self.token = token
        self.kind = kind
        self.grantID = grantID
        self.providerID = providerID
        self.scopesJSON = JSONValue.array(scopes.map(JSONValue.string)).jsonText
        self.issuedAt = issuedAt
        self.expiresAt = expiresAt
    }

    public var scopes: [String] { (JSONValue.parse(scopesJSON)?.arrayValue ?? []).compactMap(\.stringValue) }

    public func isUsable(at now: Date) -> Bool {
        revokedAt == nil && (expiresAt.map { $0 > now } ?? true)
    }

    enum CodingKeys: String, CodingKey {
        case token, kind
        case grantID = "grant_id"
        case providerID = "provider_id"
        case scopesJSON = "scopes"
        case issuedAt = "issued_at"
        case expiresAt = "expires_at"
        case revokedAt = "revoked_at"
    }
}
