import Foundation
import VaultSimCore
import VaultSimProviders

/// `POST /sdk/proxy` (alter-sdk 0.12+ `proxy_request`): the vault makes the provider call itself,
/// with the credential it would have handed out at `/sdk/token` — the same grant, policy, scope
/// and refresh rules (`TokenEndpoint.issue`) — and answers the SDK's `ApprovalResult` shape. The
/// call goes through the provider gateway like every call the vault makes (journaled as
/// `vault`), so provider faults reach it as they would reach the app. The app never sees the
/// credential; the vault writes the audit record itself.
enum ProxyEndpoint {
    /// Headers the caller may not send: the vault injects credentials.
    static let forbiddenHeaders: Set<String> = ["authorization", "cookie", "x-api-key", "x-amz-security-token", "proxy-authorization"]
    static let methods: Set<String> = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
    /// The most of a provider's body the result carries; past it `body_truncated` is true.
    static let bodyLimit = 1 << 20

    /// A provider call as the app asked for it, checked, before any credential is added.
    struct Prepared: Sendable {
        var method: String
        var host: String
        var path: String
        var query: [(name: String, value: String)]
        var headers: [(String, String)]
        var body: Data

        /// The real URL, query included.
        var url: String {
            let rawQuery = query.map { "\(QueryString.escape($0.name))=\(QueryString.escape($0.value))" }.joined(separator: "&")
            return "https://\(host)\(path)" + (rawQuery.isEmpty ? "" : "?" + rawQuery)
        }

        /// The call an approval holds (its URL carries the query).
        init(approval: Approval) throws {
            guard let (host, rest) = LoopbackTransport.split(approval.url) else {
                throw VaultError(status: 500, code: "internal_error", message: "The approval's URL is not absolute")
            }
            self.init(method: approval.method, host: host, path: String(rest.prefix { $0 != "?" }),
                      query: QueryString.pairs(Array(rest.drop { $0 != "?" }.dropFirst().utf8)), headers: approval.headers, body: approval.body)
        }

        init(method: String, host: String, path: String, query: [(name: String, value: String)], headers: [(String, String)], body: Data) {
            self.method = method
            self.host = host
            self.path = path
            self.query = query
            self.headers = headers
            self.body = body
        }
    }

    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let body = try call.jsonObject()
        let sandbox = call.sandbox
        let method = try body.optionalString("method")?.uppercased()
        let url = try body.optionalString("url")
        let reason = try body.optionalString("reason")
        let grantID = try body.optionalString("grant_id")

        func record(_ outcome: String, providerID: String? = nil, touch: Bool = false) throws {
            try sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: sandbox.clock.now, grantID: grantID, providerID: providerID ?? (try? body.optionalString("provider_id")) ?? nil,
                method: method, url: url, reason: reason, callerInfo: call.caller, outcome: outcome), touching: touch ? grantID : nil)
        }

        do {
            guard let method, methods.contains(method) else {
                throw VaultError(status: 422, code: "invalid_body", message: "Field 'method' must be one of \(methods.sorted().joined(separator: ", "))")
            }
            guard let url, let (host, rest) = LoopbackTransport.split(url) else {
                throw VaultError(status: 422, code: "invalid_body", message: "Field 'url' must be an absolute https URL")
            }
            guard let grantID else {
                if body["provider_id"] != nil {
                    throw VaultError(status: 501, code: "not_simulated",
                                     message: "Identity mode (provider= with a user token) is not simulated yet; pass grant_id")
                }
                throw VaultError(status: 422, code: "invalid_body", message: "Field 'grant_id' is required")
            }
            var headers: [(String, String)] = []
            for (name, value) in try body.optionalObject("headers") ?? [:] {
                guard let text = value.stringValue else {
                    throw VaultError(status: 422, code: "invalid_body", message: "Header '\(name)' must be a string, got \(value.typeName)")
                }
                if forbiddenHeaders.contains(name.lowercased()) {
                    throw VaultError(status: 422, code: "forbidden_header",
                                     message: "Header '\(name)' may not be sent through /sdk/proxy: the vault injects the credential",
                                     details: ["header": .string(name)])
                }
                headers.append((name, text))
            }
            var query = QueryString.pairs(Array(rest.drop { $0 != "?" }.dropFirst().utf8))
            for (name, value) in try body.optionalObject("query_params") ?? [:] {
                let values: [JSONValue] = value.arrayValue ?? [value]
                for item in values { query.append((name, try queryText(item, name: name))) }
            }
            var payload = Data()
            if let json = body["body"], json != .null {
                payload = Data(json.jsonText.utf8)
                if !headers.contains(where: { $0.0.lowercased() == "content-type" }) { headers.append(("Content-Type", "application/json")) }
            }
            let prepared = Prepared(method: method, host: host, path: String(rest.prefix { $0 != "?" }), query: query, headers: headers, body: payload)

            // A grant whose policy wants a person's approval: the call waits (202) for a decision.
            guard let context = try sandbox.store.grantContext(id: grantID) else { throw VaultError.grantNotFound(grantID) }
            try TokenEndpoint.admit(context, sandbox: sandbox)
            try checkDestination(host: host, grant: context.grant)
            if let window = context.policies.compactMap(\.approvalWindow).min() {
                let now = sandbox.clock.now
                let approval = Approval(grantID: grantID, method: method, url: prepared.url, headers: headers, body: payload, reason: reason,
                                        caller: call.caller, createdAt: now, expiresAt: now.addingTimeInterval(TimeInterval(window)))
                sandbox.approvals.add(approval)
                try record("approval_pending", providerID: context.grant.providerID)
                return (202, ApprovalEndpoint.pending(approval, sandbox: sandbox, serverURL: call.serverURL))
            }

            let (grant, answer, milliseconds) = try await perform(prepared, grantID: grantID, call: call, reason: reason)
            try record("proxied", providerID: grant.providerID, touch: true)
            return (200, result(answer.status, headers: answer.headers, body: answer.body, milliseconds: milliseconds, approvalID: nil))
        } catch let error as VaultError {
            try record(error.code)
            throw error
        }
    }

    /// The vault sends a grant's credential only to its provider's hosts: any other destination
    /// is 422 `blocked_destination` (alter-sdk 0.28+: `BlockedDestinationError`), before any call.
    static func checkDestination(host: String, grant: Grant) throws {
        guard let provider = ProviderCatalog.descriptor(id: grant.providerID), !provider.hosts.contains(host.lowercased()) else { return }
        throw VaultError(status: 422, code: "blocked_destination",
                         message: "\(host) is not a host of \(provider.displayName); this grant's credential goes only to \(provider.hosts.joined(separator: ", "))",
                         details: ["host": .string(host), "provider_id": .string(provider.id)])
    }

    /// Makes the call with the grant's credential and writes the vault's audit record; a
    /// `VaultError` when the vault refuses or the provider does not answer.
    static func perform(_ prepared: Prepared, grantID: String, call: SDKCall, reason: String?) async throws
        -> (Grant, InboundResponse, milliseconds: Int) {
        let issued = try await TokenEndpoint.issue(grantID: grantID, call: call, proxy: true)
        let outbound = inject(issued.rules, method: prepared.method, host: prepared.host, path: prepared.path, query: prepared.query,
                              headers: prepared.headers, body: prepared.body, call: call)
        let started = ContinuousClock.now
        let answer: InboundResponse
        do {
            answer = try await call.transport.send(outbound, sandbox: call.sandbox)
        } catch {
            if error.kind == .timeout {
                throw VaultError(status: 504, code: "upstream_timeout", message: "The provider did not answer in time",
                                 details: ["timeout_reason": "upstream_timeout", "grant_id": .string(grantID)])
            }
            throw VaultError(status: 502, code: "provider_unreachable", message: "The provider could not be reached (\(error.kind.rawValue))",
                             details: ["grant_id": .string(grantID)])
        }
        let milliseconds = Int((ContinuousClock.now - started) / .milliseconds(1))
        try audit(call: call, grant: issued.grant, method: prepared.method, url: prepared.url, status: answer.status,
                  milliseconds: milliseconds, reason: reason)
        return (issued.grant, answer, milliseconds)
    }

    /// The `ApprovalResult` shape.
    static func result(_ status: Int, headers: [(String, String)], body: Data, milliseconds: Int, approvalID: String?) -> JSONValue {
        var responseHeaders: [String: JSONValue] = [:]
        for (name, value) in headers where !name.lowercased().hasPrefix("x-vaultsim") {
            let key = name.lowercased()
            responseHeaders[key] = .string(responseHeaders[key]?.stringValue.map { "\($0), \(value)" } ?? value)
        }
        return [
            "approval_id": approvalID.map(JSONValue.string) ?? .null, "status_code": .number(Double(status)),
            "headers": .object(JSONObject(uniqueKeysWithValues: responseHeaders.sorted { $0.key < $1.key })),
            "body_b64": .string(Data(body.prefix(bodyLimit)).base64EncodedString()), "body_truncated": .bool(body.count > bodyLimit),
            "duration_ms": .number(Double(milliseconds)), "credential_hint": .null,
        ]
    }

    /// A query value as text: strings as they are, numbers and booleans as Python writes them.
    static func queryText(_ value: JSONValue, name: String) throws -> String {
        switch value {
        case .string(let text): return text
        case .bool(let flag): return flag ? "true" : "false"
        case .number: return value.jsonText
        default:
            throw VaultError(status: 422, code: "invalid_body", message: "Query parameter '\(name)' must be a string, number, boolean or a list of them")
        }
    }

    /// The provider request with the credential placed as `/sdk/token`'s rules say (the same
    /// placement the SDK makes in retrieve mode): the main header replaces a caller header of the
    /// same name, extra rules set headers or query parameters, a SigV4 secret signs the request.
    static func inject(_ rules: InjectionRules, method: String, host: String, path: String, query: [(name: String, value: String)],
                       headers: [(String, String)], body: Data, call: SDKCall) -> OutboundRequest {
        var headers = headers
        var query = query
        func setHeader(_ name: String, _ value: String) {
            headers.removeAll { $0.0.lowercased() == name.lowercased() }
            headers.append((name, value))
        }
        var sigV4: (secret: String, region: String, service: String, session: String?)?
        if rules.format.hasPrefix("AWS4-HMAC-SHA256"), let credentials = rules.additionalCredentials, let secret = credentials["secret_key"] {
            sigV4 = (secret, credentials["region"] ?? "us-east-1", credentials["service"] ?? "execute-api", credentials["session_token"])
        } else {
            setHeader(rules.header, replacingFirst(rules.format, "{token}", with: rules.accessToken))
            for rule in rules.additionalInjections {
                let value = rule.valueSource == "token" ? rules.accessToken
                    : rules.additionalCredentials?[String(rule.valueSource.dropFirst("additional_credentials.".count))] ?? ""
                guard !value.isEmpty else { continue }
                switch rule.target {
                case .header: setHeader(rule.key, value)
                case .queryParam:
                    query.removeAll { $0.name == rule.key }
                    query.append((rule.key, value))
                }
            }
        }
        let rawQuery = query.map { "\(QueryString.escape($0.name))=\(QueryString.escape($0.value))" }.joined(separator: "&")
        let target = path + (rawQuery.isEmpty ? "" : "?" + rawQuery)
        if let sigV4 {
            // Signed over what the gateway receives: the vault's calls reach providers on loopback.
            let gatewayURL = ProviderRoutes.baseURL(serverURL: call.serverURL, sandboxID: call.sandbox.id, host: host)
            let authority = gatewayURL.dropFirst("http://".count).prefix { $0 != "/" }
            let gatewayPath = String(gatewayURL.dropFirst("http://".count).drop { $0 != "/" }) + path
            for (name, value) in SigV4Signer.headers(method: method, host: String(authority), rawPath: gatewayPath, rawQuery: rawQuery, body: body,
                                                     accessKeyID: rules.accessToken, secretKey: sigV4.secret, sessionToken: sigV4.session,
                                                     region: sigV4.region, service: sigV4.service, at: Date()) {
                setHeader(name, value)
            }
        }
        return OutboundRequest(method: method, url: "https://\(host)\(target)", headers: headers, body: body)
    }

    static func replacingFirst(_ text: String, _ marker: String, with value: String) -> String {
        guard let range = text.range(of: marker) else { return text }
        return text.replacingCharacters(in: range, with: value)
    }

    /// The vault's own audit record of a proxied call (the SDK sends none in proxy mode): what was
    /// called and how it went, never the credential, the headers or the bodies.
    static func audit(call: SDKCall, grant: Grant, method: String, url: String, status: Int, milliseconds: Int, reason: String?) throws {
        let bare = String(url.prefix { $0 != "?" })
        let payload: JSONValue = [
            "grant_id": .string(grant.id), "provider_id": .string(grant.providerID), "method": .string(method), "url": .string(bare),
            "response_status": .number(Double(status)), "latency_ms": .number(Double(milliseconds)),
            "timestamp": .string(call.sandbox.clock.now.rfc3339), "reason": reason.map(JSONValue.string) ?? .null, "mode": "proxy",
        ]
        try call.sandbox.store.append(audit: AuditRecord(receivedAt: call.sandbox.clock.now, grantID: grant.id, callerInfo: call.caller,
                                                         payloadText: payload.jsonText))
    }
}
