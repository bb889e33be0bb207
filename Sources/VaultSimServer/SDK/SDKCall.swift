import Foundation
import OrderedCollections
import VaultSimCore

/// A verified `/sdk/*` request: the sandbox its API key belongs to, who is calling, and the body.
struct SDKCall: Sendable {
    let sandbox: Sandbox
    let caller: CallerInfo
    let body: Data
    let pathParameters: [String: String]
    /// The raw query string (without `?`).
    let query: String
    let transport: any ProviderTransport
    /// Where this server listens (`http://127.0.0.1:P`), for URLs the vault hands out.
    let serverURL: String

    /// The vault's credential logic for this call's sandbox.
    var credentials: CredentialService { CredentialService(sandbox: sandbox, transport: transport) }

    /// The body as a JSON object; a 422 otherwise (as FastAPI answers a body it cannot validate).
    func jsonObject() throws -> JSONObject {
        guard let object = JSONValue.parse(body)?.objectValue else {
            throw VaultError(status: 422, code: "invalid_body", message: "Request body must be a JSON object")
        }
        return object
    }
}

extension OrderedDictionary where Key == String, Value == JSONValue {
    /// An optional string member; a 422 naming the field when it has another type.
    func optionalString(_ key: String) throws -> String? {
        switch self[key] {
        case nil, .null?: return nil
        case .string(let s)?: return s
        case let other?: throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' must be a string, got \(other.typeName)")
        }
    }

    /// An optional list of strings; a 422 naming the field otherwise.
    func optionalStringList(_ key: String) throws -> [String]? {
        switch self[key] {
        case nil, .null?: return nil
        case .array(let items)?:
            return try items.map { item in
                guard let text = item.stringValue else {
                    throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' must be a list of strings, got a \(item.typeName) in it")
                }
                return text
            }
        case let other?: throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' must be a list of strings, got \(other.typeName)")
        }
    }

    /// An optional JSON object; a 422 naming the field otherwise.
    func optionalObject(_ key: String) throws -> JSONObject? {
        switch self[key] {
        case nil, .null?: return nil
        case .object(let members)?: return members
        case let other?: throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' must be an object, got \(other.typeName)")
        }
    }

    func requiredString(_ key: String) throws -> String {
        guard let value = try optionalString(key) else {
            throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' is required")
        }
        return value
    }

    func optionalInt(_ key: String) throws -> Int? {
        switch self[key] {
        case nil, .null?: return nil
        case let value?:
            guard let n = value.intValue else {
                throw VaultError(status: 422, code: "invalid_body", message: "Field '\(key)' must be an integer, got \(value.typeName)")
            }
            return n
        }
    }
}
