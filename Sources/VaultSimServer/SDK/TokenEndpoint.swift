import Foundation
import VaultSimCore

/// `POST /sdk/token`: hands the SDK a credential for one grant, with its injection rules.
/// Every call is recorded (who asked, why, for which URL, and the outcome).
///
/// Cost on the request path: one read transaction (grant, provider config and credential),
/// plus one write for the journal and `last_used_at`; a refresh adds the provider call and a
/// write of the new credential.
enum TokenEndpoint {
    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let request = body["request"]?.objectValue ?? [:]
        let method = try request.optionalString("method")
        let url = try request.optionalString("url")
        let reason = try body.optionalString("reason")
        var grantID = try body.optionalString("grant_id")
        let sandbox = call.sandbox

        func record(_ outcome: String, providerID: String? = nil, touch: Bool = false) throws {
            let now = sandbox.clock.now
            try sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: now, grantID: grantID, providerID: providerID ?? (try? body.optionalString("provider_id")) ?? nil,
                method: method, url: url, reason: reason, callerInfo: call.caller, outcome: outcome), touching: touch ? grantID : nil)
        }

        do {
            if grantID == nil, let providerID = try body.optionalString("provider_id") {
                grantID = try resolve(providerID: providerID, userToken: try body.optionalString("user_token"),
                                      account: try body.optionalString("account"), sandbox: sandbox)
            }
            guard let grantID else { throw VaultError(status: 422, code: "invalid_body", message: "Field 'grant_id' is required") }
            let (grant, response, refreshed) = try await tokenResponse(grantID: grantID, call: call)
            try record(refreshed ? "refreshed" : "issued", providerID: grant.providerID, touch: true)
            return (200, response)
        } catch let error as VaultError {
            try record(error.code)
            throw error
        }
    }

    /// Identity mode: the grant of `providerID` that belongs to the person the user token names
    /// (the newest, when they have several and `account` does not choose).
    static func resolve(providerID: String, userToken: String?, account: String?, sandbox: Sandbox) throws -> String {
        guard sandbox.identity.isConfigured else {
            throw VaultError(status: 400, code: "idp_not_configured",
                             message: "Identity mode needs an identity provider, and this app has none (a scenario gives it one with given.identity)")
        }
        guard let userToken, !userToken.isEmpty else {
            throw VaultError(status: 401, code: "invalid_user_token", message: "Identity mode needs a user_token")
        }
        let sub: String
        switch AuthEndpoint.verify(userToken, in: sandbox) {
        case .success(let verified): sub = verified
        case .failure(let refusal): throw VaultError(status: 401, code: "invalid_user_token", message: "Invalid user token: \(refusal)")
        }
        guard let grant = try sandbox.store.grants(ofUser: sub, providerID: providerID, account: account).first else {
            throw VaultError(status: 404, code: "grant_not_found",
                             message: "No \(providerID) grant belongs to this user\(account.map { " for the account '\($0)'" } ?? "")",
                             details: ["provider_id": .string(providerID)])
        }
        return grant.id
    }

    /// Which credential of the grant this is (the App generation reports it back with a provider 401):
    /// a canonical UUID derived from the grant and its access token, so it changes with each
    /// refresh and is the same for every request that got the same token.
    static func tokenGeneration(grantID: String, accessToken: String) -> String {
        let hex = Array(RequestSigning.sha256Hex(Data((grantID + "\n" + accessToken).utf8)).prefix(32))
        var chars = hex
        chars[12] = "4"                                               // version 4 layout
        chars[16] = ["8", "9", "a", "b"][Int(String(hex[16]), radix: 16).map { $0 & 3 } ?? 0]
        let text = String(chars)
        func part(_ from: Int, _ to: Int) -> Substring { text.dropFirst(from).prefix(to - from) }
        return "\(part(0, 8))-\(part(8, 12))-\(part(12, 16))-\(part(16, 20))-\(part(20, 32))"
    }

    /// The app's and the grant's policies, on the virtual clock and the caller address.
    private static func checkPolicies(_ context: VaultStore.GrantContext, sandbox: Sandbox, at now: Date) throws {
        let address = sandbox.behaviour.callerAddress
        for policy in context.policies {
            var recent: [Date] = []
            if case .rateLimit(_, let seconds) = policy.rule {
                recent = try sandbox.store.handouts(grantID: context.grant.id, since: now.addingTimeInterval(-TimeInterval(seconds)))
            }
            if let violation = policy.violation(at: now, address: address, recentRequests: recent) { throw violation }
        }
    }

    /// The rules that refuse a grant before any credential is touched: its status and TTL, the
    /// app's provider configuration, the policies.
    static func admit(_ context: VaultStore.GrantContext, sandbox: Sandbox) throws {
        let grant = context.grant
        let now = sandbox.clock.now
        switch grant.status {
        case .active:
            if let expiresAt = grant.expiresAt, expiresAt <= now {
                try sandbox.store.setStatus(.expired, grantID: grant.id, reason: "the grant's TTL passed", at: now)
                throw VaultError.grantExpired(grant.id, expiredAt: expiresAt)
            }
        case .revoked: throw VaultError.grantRevoked(grant.id, reason: grant.revokeReason)
        case .credentialRevoked: throw VaultError.credentialRevoked(grant.id, providerID: grant.providerID, reason: grant.revokeReason ?? "the provider refused the refresh")
        case .expired: throw VaultError.grantExpired(grant.id, expiredAt: grant.expiresAt)
        case .deleted: throw VaultError.grantDeleted(grant.id)
        }
        guard context.config?.isConfigured == true else { throw VaultError.providerNotConfigured(grant.providerID) }
        try checkPolicies(context, sandbox: sandbox, at: now)
    }

    /// What the vault hands out for one grant: the injection rules with the credential, and the
    /// facts the token response reports beside them. Shared by `/sdk/token` (which sends it to the
    /// SDK) and `/sdk/proxy` (which injects it itself).
    struct Issued: Sendable {
        var grant: Grant
        var rules: InjectionRules
        var scopes: [String]
        var expiresAt: Date?
        var refreshed: Bool
        var scopeMismatch: Bool
        var tokenGeneration: String?
    }

    /// The grant's credential after every rule of the vault (status, TTL, configuration, policies,
    /// scopes, refresh); a `VaultError` when one refuses.
    /// `proxy`: for `/sdk/proxy`, which may use a grant that requires approval (it executes the
    /// call only once a person approved it); `/sdk/token` fails closed on such a grant.
    static func issue(grantID: String, call: SDKCall, proxy: Bool = false) async throws -> Issued {
        let sandbox = call.sandbox
        guard let context = try sandbox.store.grantContext(id: grantID) else { throw VaultError.grantNotFound(grantID) }
        try admit(context, sandbox: sandbox)
        if !proxy, context.policies.contains(where: { $0.approvalWindow != nil }) {
            throw VaultError(status: 400, code: "hitl_grant_requires_proxy",
                             message: "This grant requires a person's approval for each call; use proxy_request(), which waits for it",
                             details: ["grant_id": .string(grantID)])
        }
        let grant = context.grant
        guard let config = context.config else { throw VaultError.providerNotConfigured(grant.providerID) }
        switch grant.kind {
        case .oauth:
            let missing = config.missingScopes(in: context.credential?.scopes ?? grant.scopes)
            if !missing.isEmpty, sandbox.behaviour.scopeMismatch == .refuse {
                throw VaultError(status: 403, code: "scope_mismatch", message: "Grant is missing required scopes: \(missing.joined(separator: " "))",
                                 details: ["grant_id": .string(grant.id), "provider_id": .string(grant.providerID),
                                           "missing_scopes": .array(missing.map(JSONValue.string))])
            }
            let (credential, refreshed) = try await call.credentials.credential(for: context)
            return Issued(grant: grant, rules: .bearer(credential.accessToken), scopes: credential.scopes, expiresAt: credential.expiresAt,
                          refreshed: refreshed, scopeMismatch: !missing.isEmpty || grant.scopeMismatchReportedAt != nil,
                          tokenGeneration: tokenGeneration(grantID: grant.id, accessToken: credential.accessToken))
        case .managedSecret:
            guard let secret = context.secret else { throw VaultError.grantNotFound(grantID) }
            return Issued(grant: grant, rules: .forSecret(secret), scopes: [], expiresAt: nil, refreshed: false, scopeMismatch: false,
                          tokenGeneration: nil)
        }
    }

    /// The token response for a grant, and whether an expired access token had to be refreshed.
    private static func tokenResponse(grantID: String, call: SDKCall) async throws -> (Grant, JSONValue, refreshed: Bool) {
        let issued = try await issue(grantID: grantID, call: call)
        var fields = issued.rules.wireFields
        fields["token_type"] = "Bearer"
        fields["scopes"] = .array(issued.scopes.map(JSONValue.string))
        if let expiresAt = issued.expiresAt {
            fields["expires_in"] = .number(Double(max(0, Int(expiresAt.timeIntervalSince(call.sandbox.clock.now)))))
            fields["expires_at"] = .string(expiresAt.rfc3339)
        }
        if let generation = issued.tokenGeneration { fields["token_generation"] = .string(generation) }
        fields["grant_id"] = .string(issued.grant.id)
        fields["provider_id"] = .string(issued.grant.providerID)
        fields["scope_mismatch"] = .bool(issued.scopeMismatch)
        return (issued.grant, .object(fields), issued.refreshed)
    }
}
