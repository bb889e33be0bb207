import Foundation
import GRDB

/// How a managed secret is presented to the API it unlocks: the credential types the guide lists.
public enum CredentialType: String, Codable, Sendable, CaseIterable {
    /// `Authorization: Bearer <secret>`.
    case bearer
    /// The secret in a named header (`X-API-Key: <secret>`).
    case apiKeyHeader = "api_key_header"
    /// The secret as a query parameter (`?api_key=<secret>`), via `additional_injections`.
    case apiKeyQuery = "api_key_query"
    /// A key id and a secret in two headers, via `additional_injections`.
    case keyPair = "key_pair"
    /// `Authorization: Basic base64(username:password)`.
    case basic
    /// AWS Signature Version 4, computed by the SDK from an access key id and secret key.
    case sigv4
}

/// The stored credential behind a managed-secret grant. Which fields are used depends on `type`.
public struct ManagedSecret: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "managed_secrets"

    public var grantID: String
    public var type: CredentialType
    /// The secret itself: bearer token, API key, key-pair secret, basic password or AWS secret key.
    public var secret: String
    /// Basic-auth username, key-pair key id, or AWS access key id.
    public var identifier: String?
    /// Header name (api_key_header: the key's header; key_pair: the key id's header).
    public var headerName: String?
    /// key_pair: the secret's header. api_key_query: the query parameter's name.
    public var secondaryName: String?
    public var region: String?
    public var service: String?

    public init(grantID: String, type: CredentialType, secret: String, identifier: String? = nil,
                headerName: String? = nil, secondaryName: String? = nil, region: String? = nil, service: String? = nil) {
        self.grantID = grantID
        self.type = type
        self.secret = secret
        self.identifier = identifier
        self.headerName = headerName
        self.secondaryName = secondaryName
        self.region = region
        self.service = service
    }

    /// Every value that must never reach the app, its logs or the audit trail.
    public var sensitiveValues: [String] {
        var values = [secret]
        if type == .basic, let user = identifier {
            values.append(Data("\(user):\(secret)".utf8).base64EncodedString())
        }
        return values
    }

    enum CodingKeys: String, CodingKey {
        case type, secret, identifier, region, service
        case grantID = "grant_id"
        case headerName = "header_name"
        case secondaryName = "secondary_name"
    }
}
