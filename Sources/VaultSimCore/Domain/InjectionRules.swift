import Foundation

/// What `POST /sdk/token` tells the SDK about placing a credential in the provider request:
/// the fields `access_token`, `injection_header`, `injection_format`, `additional_credentials`
/// and `additional_injections` of the token response.
public struct InjectionRules: Sendable, Equatable {
    public struct Rule: Sendable, Equatable {
        public enum Target: String, Sendable { case header, queryParam = "query_param" }
        public var target: Target
        public var key: String
        /// `token` or `additional_credentials.<field>`.
        public var valueSource: String
    }

    public var accessToken: String
    public var header: String
    public var format: String
    public var additionalCredentials: [String: String]?
    public var additionalInjections: [Rule]

    /// The marker header used when the secret travels only through `additional_injections`: its
    /// value is the credential type, never the secret.
    public static let markerHeader = "X-Credential-Type"

    /// Injection for an OAuth access token.
    public static func bearer(_ token: String) -> InjectionRules {
        InjectionRules(accessToken: token, header: "Authorization", format: "Bearer {token}",
                       additionalCredentials: nil, additionalInjections: [])
    }

    /// Injection rules for a managed secret, one shape per credential type.
    public static func forSecret(_ secret: ManagedSecret) -> InjectionRules {
        switch secret.type {
        case .bearer:
            return .bearer(secret.secret)
        case .apiKeyHeader:
            return InjectionRules(accessToken: secret.secret, header: secret.headerName ?? "X-API-Key", format: "{token}",
                                  additionalCredentials: nil, additionalInjections: [])
        case .apiKeyQuery:
            // Every generation's shape: the main injection is a marker header whose `{token}` is
            // the credential type (alter-sdk 0.22+ refuses a format without `{token}`), and the
            // key itself travels only through the query rule.
            return InjectionRules(
                accessToken: secret.type.rawValue, header: markerHeader, format: "{token}",
                additionalCredentials: ["api_key": secret.secret],
                additionalInjections: [Rule(target: .queryParam, key: secret.secondaryName ?? "api_key",
                                            valueSource: "additional_credentials.api_key")])
        case .keyPair:
            // The key id is the main injection; the secret its own header.
            return InjectionRules(
                accessToken: secret.identifier ?? "", header: secret.headerName ?? "X-Key-Id", format: "{token}",
                additionalCredentials: ["secret": secret.secret],
                additionalInjections: [
                    Rule(target: .header, key: secret.secondaryName ?? "X-Key-Secret", valueSource: "additional_credentials.secret"),
                ])
        case .basic:
            let encoded = Data("\(secret.identifier ?? ""):\(secret.secret)".utf8).base64EncodedString()
            return InjectionRules(accessToken: encoded, header: "Authorization", format: "Basic {token}",
                                  additionalCredentials: nil, additionalInjections: [])
        case .sigv4:
            var credentials = ["secret_key": secret.secret]
            credentials["region"] = secret.region
            credentials["service"] = secret.service
            return InjectionRules(accessToken: secret.identifier ?? "", header: "Authorization", format: "AWS4-HMAC-SHA256",
                                  additionalCredentials: credentials, additionalInjections: [])
        }
    }

    /// The token-response fields, in wire form.
    public var wireFields: [String: JSONValue] {
        var fields: [String: JSONValue] = [
            "access_token": .string(accessToken),
            "injection_header": .string(header),
            "injection_format": .string(format),
        ]
        if let additionalCredentials {
            fields["additional_credentials"] = .object(additionalCredentials.mapValues(JSONValue.string))
        }
        if !additionalInjections.isEmpty {
            fields["additional_injections"] = .array(additionalInjections.map {
                ["target": .string($0.target.rawValue), "key": .string($0.key), "value_source": .string($0.valueSource)]
            })
        }
        return fields
    }
}
