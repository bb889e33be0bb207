import Foundation
import VaultSimCore

/// The guide's managed-secret examples: an internal loyalty-points API on api.internal.com, and
/// the contacts API of its path-templating example on api.example.com. It accepts the
/// credentials it issued (its own records in `ProviderStore`), whatever the vault does.
/// `GET /v1/loyalty/points?user_id=` reads a balance; `POST /v1/loyalty/points` with
/// `{"user_id", "delta"}` changes it. Data: `data["loyalty"]["accounts"][user_id]`.
/// `GET /v1/accounts/{account_id}/contacts?limit=` lists `data["contacts"]["accounts"][account_id]`.
struct InternalAPIProvider: FakeProvider {
    let descriptor = ProviderCatalog.internalAPI
    let fixtures: FixtureLibrary

    func respond(to call: ProviderCall, in sandbox: Sandbox) async throws -> ProviderResponse {
        if case .failure(let rejection) = CredentialCheck.matchingSecret(call, among: try ProviderStore(sandbox).apiCredentials(providerID: descriptor.id)) {
            return .json(401, ["error": "unauthorized", "message": .string(rejection.message)],
                         headers: ["www-authenticate": "Bearer realm=\"api.internal.com\""])
        }
        let segments = call.segments
        if segments.count == 4, segments[0] == "v1", segments[1] == "accounts", segments[3] == "contacts" {
            return contacts(call, accountID: segments[2], sandbox: sandbox)
        }
        guard segments == ["v1", "loyalty", "points"] else {
            return .json(404, ["error": "not_found", "message": .string("No route for \(call.method) \(call.path)")])
        }
        let accounts = fixtures.data(provider: descriptor.id, in: sandbox)["loyalty"]?["accounts"]?.objectValue ?? [:]
        switch call.method {
        case "GET":
            guard let user = call.query["user_id"], !user.isEmpty else {
                return .json(400, ["error": "invalid_request", "message": "user_id is required"])
            }
            guard let account = accounts[user] else {
                return .json(404, ["error": "not_found", "message": .string("No loyalty account for user '\(user)'")])
            }
            return .json(200, Self.balance(user: user, account: account))
        case "POST":
            guard let body = call.json, let user = body["user_id"]?.stringValue, let delta = body["delta"]?.intValue else {
                return .json(400, ["error": "invalid_request", "message": "Body must be {\"user_id\": string, \"delta\": integer}"])
            }
            var account = accounts[user]?.objectValue ?? ["points": 0, "tier": "basic"]
            account["points"] = .number(Double((account["points"]?.intValue ?? 0) + delta))
            sandbox.overrideData(provider: descriptor.id, with: ["loyalty": ["accounts": .object([user: .object(account)])]])
            return .json(200, Self.balance(user: user, account: .object(account)))
        default:
            return .json(405, ["error": "method_not_allowed", "message": .string("\(call.method) is not allowed here")])
        }
    }

    private func contacts(_ call: ProviderCall, accountID: String, sandbox: Sandbox) -> ProviderResponse {
        guard call.method == "GET" else {
            return .json(405, ["error": "method_not_allowed", "message": .string("\(call.method) is not allowed here")])
        }
        var limit = 20
        if let text = call.query["limit"] {
            guard let n = Int(text), (1...100).contains(n) else {
                return .json(400, ["error": "invalid_request", "message": "limit must be an integer from 1 to 100"])
            }
            limit = n
        }
        guard let all = fixtures.data(provider: descriptor.id, in: sandbox)["contacts"]?["accounts"]?[accountID]?.arrayValue else {
            return .json(404, ["error": "not_found", "message": .string("No account '\(accountID)'")])
        }
        return .json(200, ["account_id": .string(accountID), "contacts": .array(Array(all.prefix(limit))), "limit": .number(Double(limit)),
                           "has_more": .bool(all.count > limit)])
    }

    static func balance(user: String, account: JSONValue) -> JSONValue {
        ["user_id": .string(user), "points": account["points"] ?? 0, "tier": account["tier"] ?? "basic"]
    }
}
