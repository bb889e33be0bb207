import Foundation
import VaultSimCore

/// Parses one entry of `steps:`: exactly one action key, an optional `id` and `expect`.
struct StepParser {
    let bindings: Set<String>
    /// Names of grants and secrets, which `grant:` may name.
    let grantNames: Set<String>
    /// OAuth grants of `given` by name, with their provider.
    var grantsByName: [String: String] = [:]

    static let actions = ["request", "proxy_request", "await_approval", "get_approval_status", "list_grants", "revoke_grant", "provider_fault", "revoke_at_vault", "advance_clock",
                          "revoke_at_provider", "provider_data", "delete_grant", "set_clock", "freeze_clock", "require_scopes",
                          "concurrently", "set_caller_address", "api_key", "vault_fault", "clear_faults", "connect", "create_connect_session",
                          "create_connect_session_for_error", "poll_connect_session", "user", "in_order", "close", "authenticate",
                          "verify_user_token", "construct_client", "create_auth_session_raw", "poll_auth_session_raw"]

    /// Parses the step at `path` (`steps[3]`, or `steps[3].concurrently[1]` for an inner step).
    func parse(_ node: YAMLNode, index: Int, path: String? = nil) throws(ScenarioLoadError) -> Step {
        let base = path ?? "steps[\(index)]"
        var reader = try MappingReader(node, context: base)
        let id = try reader.string("id") ?? (path == nil ? "step \(index + 1)" : "\(base)")
        let present = reader.keys.filter(Self.actions.contains)
        guard present.count == 1 else {
            throw ScenarioLoadError(node.location, present.isEmpty
                ? "\(base) needs one action: \(Self.actions.joined(separator: ", "))"
                : "\(base) has several actions (\(present.joined(separator: ", "))); use one step each")
        }
        let name = present[0]
        let body = reader.node(name)!
        let context = "\(base).\(name)"
        let action: Action
        switch name {
        case "request": action = .request(try requestParams(body, context: context))
        case "proxy_request": action = .proxyRequest(try requestParams(body, context: context))
        case "await_approval", "get_approval_status":
            var r = try MappingReader(body, context: context)
            var params: [String: JSONValue] = ["approval_id": .string(try r.string("approval_id") ?? "${approval.latest}")]
            let numbers = name == "await_approval" ? ["timeout", "poll_interval"] : ["wait"]
            for key in numbers {
                if let value = try r.double(key) {
                    guard value >= 0, value <= 3600 else { throw ScenarioLoadError(body.location, "\(context).\(key) must be 0 to 3600 seconds") }
                    params[key] = .number(value)
                }
            }
            try r.rejectUnknownKeys(allowed: ["approval_id"] + numbers)
            try validatePlaceholders(in: .object(params), at: body.location)
            action = name == "await_approval" ? .awaitApproval(.object(params)) : .approvalStatus(.object(params))
        case "list_grants": action = .listGrants(try listParams(body, context: context))
        case "revoke_grant": action = .revokeGrant(try revokeParams(body, context: context))
        case "provider_fault":
            var r = try MappingReader(body, context: context)
            let provider = try r.requiredString("provider")
            try ScenarioLoader.requireKnownProvider(provider, at: body.location)
            var rest = body
            if case .mapping(let pairs) = body.value { rest.value = .mapping(pairs.filter { $0.key != "provider" }) }
            action = .providerFault(try ScenarioLoader.parseFault(rest, provider: provider, context: context))
        case "revoke_at_vault":
            var r = try MappingReader(body, context: context)
            let grant = try grantReference(&r, context: context)
            let reason = try r.string("reason")
            try r.rejectUnknownKeys(allowed: ["grant", "reason"])
            action = .revokeAtVault(grant: grant, reason: reason)
        case "revoke_at_provider":
            var r = try MappingReader(body, context: context)
            if r.keys.contains("grant") {
                let grant = try grantReference(&r, context: context)
                guard grantsByName[grant] != nil else {
                    throw ScenarioLoadError(body.location, "\(context).grant: '\(grant)' is a managed secret; it has no account at a provider")
                }
                try r.rejectUnknownKeys(allowed: ["grant"])
                action = .revokeAtProvider(provider: grantsByName[grant]!, account: .ofGrant(grant))
            } else {
                let provider = try r.requiredString("provider")
                guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
                    throw ScenarioLoadError(body.location, "\(context).provider: '\(provider)' is not an OAuth provider (known: \(ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")))")
                }
                let account = try r.requiredString("account")
                try r.rejectUnknownKeys(allowed: ["provider", "account"])
                action = .revokeAtProvider(provider: provider, account: .login(account))
            }
        case "clear_faults":
            // `clear_faults: google`, `clear_faults: vault` or `clear_faults: all`.
            let target = try MappingReader.string(body, context)
            guard target == "all" || target == "vault" || ProviderCatalog.descriptor(id: target) != nil else {
                throw ScenarioLoadError(body.location, "\(context) must be a provider (\(ProviderCatalog.all.map(\.id).joined(separator: ", "))), vault or all")
            }
            action = .clearFaults(target == "all" ? nil : target)
        case "vault_fault":
            action = .vaultFault(try ScenarioLoader.parseVaultFault(body, context: context))
        case "set_caller_address":
            let address = try MappingReader.string(body, context)
            guard CIDR.address(address) != nil else { throw ScenarioLoadError(body.location, "\(context) must be an IPv4 or IPv6 address") }
            action = .setCallerAddress(address)
        case "delete_grant":
            var r = try MappingReader(body, context: context)
            let grant = try grantReference(&r, context: context)
            try r.rejectUnknownKeys(allowed: ["grant"])
            action = .deleteGrant(grant: grant)
        case "set_clock":
            action = .setClock(try ScenarioLoader.parseInstant(body, context: context))
        case "freeze_clock":
            guard case .scalar(.bool(let frozen)) = body.value else {
                throw ScenarioLoadError(body.location, "\(context) must be true (stop the clock) or false (let it run)")
            }
            action = .freezeClock(frozen)
        case "require_scopes":
            var r = try MappingReader(body, context: context)
            let provider = try r.requiredString("provider")
            guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
                throw ScenarioLoadError(body.location, "\(context).provider: '\(provider)' is not an OAuth provider")
            }
            let scopes = try r.stringList("scopes") ?? []
            try r.rejectUnknownKeys(allowed: ["provider", "scopes"])
            action = .requireScopes(provider: provider, scopes: scopes)
        case "concurrently":
            guard path == nil else { throw ScenarioLoadError(body.location, "\(context): concurrently steps cannot be nested") }
            var inner: [Step] = []
            switch body.value {
            case .sequence(let items) where items.count >= 2:
                for (position, item) in items.enumerated() {
                    inner.append(try parse(item, index: position, path: "\(context)[\(position)]"))
                }
            case .mapping:
                // `{times: 20, step: {...}}`: the same step twenty times at once.
                var r = try MappingReader(body, context: context)
                let timesNode = try r.required("times")
                guard let times = try r.int("times"), (2...200).contains(times) else {
                    throw ScenarioLoadError(timesNode.location, "\(context).times must be 2–200")
                }
                let stepNode = try r.required("step")
                try r.rejectUnknownKeys(allowed: ["times", "step"])
                let step = try parse(stepNode, index: 0, path: "\(context).step")
                inner = (1...times).map { n in Step(id: "\(step.id) #\(n)", location: step.location, action: step.action, expect: step.expect) }
            default:
                throw ScenarioLoadError(body.location, "\(context) must be a list of at least two steps, or {times: N, step: {...}}")
            }
            action = .concurrently(inner)
        case "api_key": action = .apiKey(try ScenarioLoader.parseAPIKeyState(body, context: context))
        case "connect": action = .connect(try connectParams(body, context: context))
        case "authenticate": action = .authenticate(try authenticateParams(body, context: context))
        case "verify_user_token": action = .verifyUserToken(try verifyTokenParams(body, context: context))
        case "construct_client": action = .constructClient(try constructParams(body, context: context))
        case "create_auth_session_raw":
            var empty = false
            switch body.value {
            case .scalar(.null): empty = true
            case .mapping(let pairs): empty = pairs.isEmpty
            default: break
            }
            guard empty else { throw ScenarioLoadError(body.location, "\(context) takes nothing: write create_auth_session_raw: {}") }
            action = .createAuthSessionRaw
        case "poll_auth_session_raw": action = .pollAuthSessionRaw(try pollRawParams(body, context: context))
        case "create_connect_session": action = .createConnectSession(try sessionParams(body, context: context))
        case "create_connect_session_for_error": action = .createConnectSessionForError(try sessionParams(body, context: context, forError: true))
        case "poll_connect_session": action = .pollConnectSession(try pollParams(body, context: context))
        case "close":
            // `close: {}` calls vault.close(); `close: {via: context_manager}` leaves `async with vault:`.
            var via = "close"
            if case .scalar(.null) = body.value {} else {
                var r = try MappingReader(body, context: context)
                via = try r.string("via") ?? via
                try r.rejectUnknownKeys(allowed: ["via"])
                guard ["close", "context_manager"].contains(via) else {
                    throw ScenarioLoadError(body.location, "\(context).via must be close (vault.close()) or context_manager (leaving async with vault:)")
                }
            }
            action = .close(["via": .string(via)])
        case "user": action = .user(try userPlan(body, context: context))
        case "in_order":
            guard let path, path.contains("concurrently"), !path.contains("in_order") else {
                throw ScenarioLoadError(body.location, "\(context): in_order is a branch of concurrently; outside it, steps already run in order")
            }
            guard case .sequence(let items) = body.value, !items.isEmpty else {
                throw ScenarioLoadError(body.location, "\(context) must be a list of steps")
            }
            var inner: [Step] = []
            for (position, item) in items.enumerated() {
                inner.append(try parse(item, index: position, path: "\(context)[\(position)]"))
            }
            action = .inOrder(inner)
        case "provider_data":
            var r = try MappingReader(body, context: context)
            let provider = try r.requiredString("provider")
            try ScenarioLoader.requireKnownProvider(provider, at: body.location)
            let data = try r.required("data")
            guard case .mapping = data.value else { throw ScenarioLoadError(data.location, "\(context).data must be a mapping") }
            try r.rejectUnknownKeys(allowed: ["provider", "data"])
            action = .providerData(provider: provider, data: data.json)
        default:
            let seconds = try Self.duration(body, context: context)
            guard seconds <= 100 * 365 * 86400 else {
                throw ScenarioLoadError(body.location, "\(context) must be at most 100 years")
            }
            action = .advanceClock(seconds: seconds)
        }
        let expectation: StepExpectation
        if let expectNode = reader.node("expect") {
            guard action.hasOutcome else {
                throw ScenarioLoadError(expectNode.location, name == "concurrently"
                    ? "\(base).expect: put an expect on each step inside concurrently"
                    : name == "in_order" ? "\(base).expect: put an expect on each step inside in_order"
                    : "\(name) is a condition; it has nothing to expect")
            }
            expectation = try parseExpectation(expectNode, context: "\(base).expect")
        } else {
            expectation = action.hasOutcome ? .result(nil) : .none
        }
        try reader.rejectUnknownKeys(allowed: ["id", "expect"] + Self.actions)
        return Step(id: id, location: node.location, action: action, expect: expectation)
    }

    private func grantReference(_ reader: inout MappingReader, context: String) throws(ScenarioLoadError) -> String {
        let node = try reader.required("grant")
        let name = try MappingReader.string(node, "\(context).grant")
        guard grantNames.contains(name) else {
            throw ScenarioLoadError(node.location, "\(context).grant: no grant or secret named '\(name)' in given (defined: \(grantNames.sorted().joined(separator: ", ")))")
        }
        return name
    }

    /// `grant: NAME` becomes `grant_id: ${grants.NAME}`; `grant_id:` is passed as written.
    private func grantID(_ reader: inout MappingReader, context: String, into params: inout [String: JSONValue]) throws(ScenarioLoadError) {
        if reader.keys.contains("grant") {
            let name = try grantReference(&reader, context: context)
            params["grant_id"] = .string(bindings.contains("grants.\(name)") ? "${grants.\(name)}" : "${secrets.\(name)}")
        }
        if let literal = try reader.string("grant_id") {
            guard params["grant_id"] == nil else { throw ScenarioLoadError(reader.node.location, "\(context) has both grant and grant_id") }
            params["grant_id"] = .string(literal)
        }
    }

    func requestParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var r = try MappingReader(node, context: context)
        var params: [String: JSONValue] = [:]
        params["method"] = .string(try r.requiredString("method").uppercased())
        let urlNode = try r.required("url")
        let url = try MappingReader.string(urlNode, "\(context).url")
        // A URL of another scheme is passed as written: the SDK must refuse it before any call.
        if HostMap.isWebURL(url) {
            do { _ = try HostMap.provider(forRealURL: url) } catch { throw ScenarioLoadError(urlNode.location, "\(context).url: \(error)") }
        }
        params["url"] = .string(url)
        try grantID(&r, context: context, into: &params)
        if let provider = try r.string("provider") { params["provider"] = .string(provider) }
        if let account = try r.string("account") { params["account"] = .string(account) }
        if let json = r.node("json") {
            guard case .mapping = json.value else { throw ScenarioLoadError(json.location, "\(context).json must be a mapping (the SDK takes a dict)") }
            params["json"] = json.json
        }
        if let body = try r.string("body") { params["body_base64"] = .string(Data(body.utf8).base64EncodedString()) }
        for key in ["extra_headers", "query_params", "path_params", "context"] {
            if let map = try r.stringMap(key) { params[key] = .object(map) }
        }
        if let values = r.node("context_values") {
            // The SDK's own validation of context values: passed as written, numbers and null included.
            guard case .mapping = values.value, params["context"] == nil else {
                throw ScenarioLoadError(values.location, "\(context).context_values must be a mapping, and not beside context")
            }
            params["context"] = values.json
        }
        if let reason = try r.string("reason") { params["reason"] = .string(reason) }
        try r.rejectUnknownKeys(allowed: ["method", "url", "grant", "grant_id", "provider", "account", "json", "body",
                                          "extra_headers", "query_params", "path_params", "reason", "context", "context_values"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    func listParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        if case .scalar(.null) = node.value { return [:] }
        var r = try MappingReader(node, context: context)
        var params: [String: JSONValue] = [:]
        if let provider = try r.string("provider_id") { params["provider_id"] = .string(provider) }
        if let limit = try r.int("limit") { params["limit"] = .number(Double(limit)) }
        if let offset = try r.int("offset") { params["offset"] = .number(Double(offset)) }
        try r.rejectUnknownKeys(allowed: ["provider_id", "limit", "offset"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    func revokeParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var r = try MappingReader(node, context: context)
        var params: [String: JSONValue] = [:]
        try grantID(&r, context: context, into: &params)
        guard params["grant_id"] != nil else { throw ScenarioLoadError(node.location, "\(context) needs 'grant' or 'grant_id'") }
        if let reason = try r.string("reason") { params["reason"] = .string(reason) }
        try r.rejectUnknownKeys(allowed: ["grant", "grant_id", "reason"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    func validatePlaceholders(in value: JSONValue, at location: SourceLocation) throws(ScenarioLoadError) {
        switch value {
        case .string(let s): try Placeholders.validate(s, at: location, known: bindings)
        case .array(let items): for item in items { try validatePlaceholders(in: item, at: location) }
        case .object(let members): for member in members.values { try validatePlaceholders(in: member, at: location) }
        default: break
        }
    }

    func parseExpectation(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> StepExpectation {
        var r = try MappingReader(node, context: context)
        // `sdk: {">=0.12": {error: ...}}` beside the default: overrides where the contract changed.
        if let overridesNode = r.node("sdk") {
            var defaultNode = node
            if case .mapping(let pairs) = node.value {
                defaultNode.value = .mapping(pairs.filter { $0.key != "sdk" })
            }
            guard case .mapping(let overridePairs) = overridesNode.value, !overridePairs.isEmpty else {
                throw ScenarioLoadError(overridesNode.location, "\(context).sdk must map SDK version ranges to expectations, such as \">=0.12\": {error: {class: RateLimitError}}")
            }
            var overrides: [(range: SDKVersionRange, expectation: StepExpectation)] = []
            for pair in overridePairs {
                let text = pair.key
                switch SDKVersionRange.parse(text) {
                case .success(let range):
                    overrides.append((range, try parseExpectation(pair.value, context: "\(context).sdk[\"\(text)\"]")))
                case .failure(let error):
                    throw ScenarioLoadError(pair.keyLocation, "\(context).sdk: \(error.message) (write a range such as \">=0.12\" or \">=0.12, <0.22\")")
                }
            }
            return .bySDK(overrides: overrides, otherwise: try parseExpectation(defaultNode, context: context))
        }
        if let alternatives = r.node("any_of") {
            try r.rejectUnknownKeys(allowed: ["any_of"])
            guard case .sequence(let items) = alternatives.value, items.count >= 2 else {
                throw ScenarioLoadError(alternatives.location, "\(context).any_of must list at least two expectations ({result: ...} or {error: ...})")
            }
            var parsed: [StepExpectation] = []
            for (index, item) in items.enumerated() {
                parsed.append(try parseExpectation(item, context: "\(context).any_of[\(index)]"))
            }
            return .anyOf(parsed)
        }
        let result = r.node("result")
        let error = r.node("error")
        try r.rejectUnknownKeys(allowed: ["result", "error", "any_of", "sdk"])
        switch (result, error) {
        case (let result?, nil):
            return .result(try Pattern.parse(result, bindings: bindings))
        case (nil, let error?):
            var e = try MappingReader(error, context: "\(context).error")
            let className = try e.string("class")
            let kind = try e.string("kind")
            guard className != nil || kind != nil else {
                throw ScenarioLoadError(error.location, "\(context).error needs 'class' (the SDK's class name) or 'kind' (the driver's language-neutral kind, such as grant_not_found)")
            }
            let expectation = ErrorExpectation(
                className: className, kind: kind, ancestors: try e.stringList("ancestors") ?? [],
                message: try e.node("message").map { n throws(ScenarioLoadError) in try Pattern.parse(n, bindings: bindings) },
                attributes: try e.node("attributes").map { n throws(ScenarioLoadError) in try Pattern.parse(n, bindings: bindings) })
            try e.rejectUnknownKeys(allowed: ["class", "kind", "ancestors", "message", "attributes"])
            return .error(expectation)
        default:
            throw ScenarioLoadError(node.location, "\(context) needs exactly one of 'result', 'error' or 'any_of'")
        }
    }

    /// `90`, `90s`, `15m`, `2h`, `1d` → seconds.
    static func duration(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> Double {
        if case .scalar(.number(let n)) = node.value, n >= 0, n.isFinite { return n }
        if case .scalar(.string(let s)) = node.value, let unit = s.last, let n = Double(s.dropLast()), n >= 0, n.isFinite {
            let factor: Double? = ["s": 1, "m": 60, "h": 3600, "d": 86400][String(unit)]
            if let factor, (n * factor).isFinite { return n * factor }
        }
        throw ScenarioLoadError(node.location, "\(context) must be a duration such as 90, 90s, 15m, 2h or 1d")
    }
}
