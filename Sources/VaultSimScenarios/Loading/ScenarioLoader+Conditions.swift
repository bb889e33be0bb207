import Foundation
import VaultSimCore

/// The conditions a scenario puts on the world: the virtual clock, the vault's behaviour and
/// faults, access policies, and provider faults.
extension ScenarioLoader {
    /// `requires: {sdk: ">=0.12"}`: the SDK versions the scenario applies to.
    static func parseRequires(_ node: YAMLNode) throws(ScenarioLoadError) -> SDKVersionRange? {
        var reader = try MappingReader(node, context: "requires")
        let text = try reader.string("sdk")
        try reader.rejectUnknownKeys(allowed: ["sdk"])
        guard let text else { return nil }
        switch SDKVersionRange.parse(text) {
        case .success(let range): return range
        case .failure(let error):
            throw ScenarioLoadError(node.location, "requires.sdk: \(error.message) (write a range such as \">=0.12\" or \">=0.12, <0.22\")")
        }
    }

    /// A list of access policies: `{name, type: time_window, time_zone, days, hours}`,
    /// `{name, type: ip_allowlist, cidrs}`, `{name, type: rate_limit, requests, per}` or
    /// `{name, type: require_approval, expires_in}`.
    static func parsePolicies(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> [AccessPolicy] {
        guard case .sequence(let items) = node.value else { throw ScenarioLoadError(node.location, "\(context) must be a list of policies") }
        var policies: [AccessPolicy] = []
        for (index, item) in items.enumerated() {
            let here = "\(context)[\(index)]"
            guard case .mapping = item.value else { throw ScenarioLoadError(item.location, "\(here) must be a mapping") }
            var json = item.json.objectValue ?? [:]
            var reader = try MappingReader(item, context: here)
            let allowed = ["name", "type", "time_zone", "days", "hours", "cidrs", "requests", "per", "expires_in"]
            for key in reader.keys where !allowed.contains(key) {
                throw ScenarioLoadError(reader.node(key)?.location ?? item.location, "\(here): unknown key '\(key)' (known: \(allowed.joined(separator: ", ")))")
            }
            if let per = reader.node("per") {
                json["per_seconds"] = .number(try StepParser.duration(per, context: "\(here).per").rounded())
                json["per"] = nil
            }
            if let window = reader.node("expires_in") {
                json["expires_in_seconds"] = .number(try StepParser.duration(window, context: "\(here).expires_in").rounded())
                json["expires_in"] = nil
            }
            if json["name"] == nil, let type = json["type"]?.stringValue { json["name"] = .string(type) }
            do {
                policies.append(try JSONDecoder().decode(AccessPolicy.self, from: Data(JSONValue.object(json).jsonText.utf8)))
            } catch let DecodingError.dataCorrupted(info) {
                throw ScenarioLoadError(item.location, "\(here): \(info.debugDescription)")
            } catch let DecodingError.keyNotFound(key, _) {
                throw ScenarioLoadError(item.location, "\(here) needs '\(key.stringValue == "per_seconds" ? "per" : key.stringValue)'")
            } catch let DecodingError.typeMismatch(_, info) {
                throw ScenarioLoadError(item.location, "\(here).\(info.codingPath.map(\.stringValue).joined(separator: ".")) has the wrong type")
            } catch {
                throw ScenarioLoadError(item.location, "\(here): \(error)")
            }
        }
        return policies
    }

    /// `clock: 2026-03-02T08:59:00-05:00` or `clock: {start: ..., frozen: true}`.
    static func parseClock(_ node: YAMLNode) throws(ScenarioLoadError) -> ClockSetup {
        if case .mapping = node.value {
            var r = try MappingReader(node, context: "given.clock")
            let start = try r.required("start")
            var setup = ClockSetup(start: try parseInstant(start, context: "given.clock.start"))
            if let frozen = r.node("frozen") {
                guard case .scalar(.bool(let value)) = frozen.value else { throw ScenarioLoadError(frozen.location, "given.clock.frozen must be true or false") }
                setup.frozen = value
            }
            try r.rejectUnknownKeys(allowed: ["start", "frozen"])
            return setup
        }
        return ClockSetup(start: try parseInstant(node, context: "given.clock"))
    }

    /// An RFC 3339 date-time with its zone (`2026-03-02T08:59:00-05:00`), within ±100 years of now.
    static func parseInstant(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> Date {
        let text = try MappingReader.string(node, context)
        guard let date = try? Date(text, strategy: .iso8601), abs(date.timeIntervalSinceNow) <= VirtualClock.maxShift else {
            throw ScenarioLoadError(node.location, "\(context) must be an RFC 3339 date-time with a zone, such as 2026-03-02T08:59:00-05:00, within 100 years of today")
        }
        return date
    }

    static func parseBehaviour(_ node: YAMLNode) throws(ScenarioLoadError) -> (VaultBehaviour, [ProviderFault]) {
        var r = try MappingReader(node, context: "given.vault")
        var behaviour = VaultBehaviour()
        var faults: [ProviderFault] = []
        if let list = r.node("faults") {
            guard case .sequence(let items) = list.value else { throw ScenarioLoadError(list.location, "given.vault.faults must be a list") }
            for (index, item) in items.enumerated() {
                faults.append(try parseVaultFault(item, context: "given.vault.faults[\(index)]"))
            }
        }
        if let n = r.node("refresh_while_refreshing") {
            guard let value = VaultBehaviour.RefreshWhileRefreshing(rawValue: (try? MappingReader.string(n, "")) ?? "") else {
                throw ScenarioLoadError(n.location, "given.vault.refresh_while_refreshing must be wait (one refresh, every request gets its result) or conflict (409 token_refresh_in_progress)")
            }
            behaviour.refreshWhileRefreshing = value
        }
        if let n = r.node("scope_mismatch") {
            guard let value = VaultBehaviour.ScopeMismatch(rawValue: (try? MappingReader.string(n, "")) ?? "") else {
                throw ScenarioLoadError(n.location, "given.vault.scope_mismatch must be flag (scope_mismatch: true in the token response) or refuse (403 scope_mismatch)")
            }
            behaviour.scopeMismatch = value
        }
        if let n = r.node("api_key") { behaviour.apiKey = try parseAPIKeyState(n, context: "given.vault.api_key") }
        try r.rejectUnknownKeys(allowed: ["refresh_while_refreshing", "scope_mismatch", "api_key", "faults"])
        return (behaviour, faults)
    }

    /// `active`, `revoked`, `expired`, `rotated`, `inactive` or `app_deleted`.
    static func parseAPIKeyState(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> APIKeyState {
        guard let state = APIKeyState(rawValue: (try? MappingReader.string(node, "")) ?? "") else {
            throw ScenarioLoadError(node.location, "\(context) must be one of \(APIKeyState.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return state
    }

    /// A fault of the vault's own endpoints: `path_prefix` must name one (`/sdk/token`,
    /// `/sdk/oauth/audit/api-call`, ...); no host or caller (the app is the only caller).
    static func parseVaultFault(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> ProviderFault {
        var r = try MappingReader(node, context: context)
        for key in ["host", "caller"] where r.node(key) != nil {
            throw ScenarioLoadError(node.location, "\(context).\(key): a vault fault has no \(key)")
        }
        let prefix = try r.requiredString("path_prefix")
        guard prefix.hasPrefix("/sdk/") else {
            throw ScenarioLoadError(node.location, "\(context).path_prefix must be a vault endpoint such as /sdk/token or /sdk/oauth/audit/api-call")
        }
        return try parseFault(node, provider: "vault", context: context)
    }

    /// A fault of a provider (or, with `provider` `vault`, of the vault's own endpoints): what it
    /// matches (method, path, host, caller, query, body, headers), what it answers, how often.
    static func parseFault(_ node: YAMLNode, provider: String, context: String) throws(ScenarioLoadError) -> ProviderFault {
        var reader = try MappingReader(node, context: context)
        let status = try reader.int("status") ?? 500
        guard (200...599).contains(status) else {
            throw ScenarioLoadError(node.location, "\(context).status must be an HTTP status 200–599 (a 1xx is not a final answer)")
        }
        var headers: [String: String] = [:]
        for (name, value) in try reader.stringMap("headers") ?? [:] {
            guard headers.keys.allSatisfy({ $0.lowercased() != name.lowercased() }) else {
                throw ScenarioLoadError(node.location, "\(context).headers names '\(name)' twice (header names ignore case)")
            }
            headers[name] = value.stringValue
        }
        var body = ""
        if let bodyNode = reader.node("body") {
            if case .scalar(.string(let s)) = bodyNode.value {
                body = s
                if headers.keys.allSatisfy({ $0.lowercased() != "content-type" }) { headers["content-type"] = "text/plain; charset=utf-8" }
            } else {
                body = bodyNode.json.jsonText
                if headers.keys.allSatisfy({ $0.lowercased() != "content-type" }) { headers["content-type"] = "application/json" }
            }
        }
        let delay = try reader.int("delay_ms") ?? 0
        guard (0...600_000).contains(delay) else { throw ScenarioLoadError(node.location, "\(context).delay_ms must be 0–600000 (ten minutes)") }
        let times = try reader.int("times")
        if let times, !(1...1_000_000).contains(times) {
            throw ScenarioLoadError(node.location, "\(context).times must be 1–1000000 (leave it out for every matching request)")
        }
        var host: String?
        if let hostNode = reader.node("host") {
            let name = try MappingReader.string(hostNode, "\(context).host").lowercased()
            guard ProviderCatalog.descriptor(id: provider)?.hosts.contains(name) == true else {
                throw ScenarioLoadError(hostNode.location, "\(context).host: \(provider) does not own '\(name)' (its hosts: \(ProviderCatalog.descriptor(id: provider)?.hosts.joined(separator: ", ") ?? ""))")
            }
            host = name
        }
        var caller: String?
        if let callerNode = reader.node("caller") {
            let name = try MappingReader.string(callerNode, "\(context).caller")
            guard ["sdk", "vault", "browser"].contains(name) else {
                throw ScenarioLoadError(callerNode.location, "\(context).caller must be sdk, vault or browser")
            }
            caller = name
        }
        var fault = ProviderFault(
            providerID: provider, method: try reader.string("method")?.uppercased(), pathPrefix: try reader.string("path_prefix"),
            status: status, body: body, headers: Dictionary(headers.map { ($0.key.lowercased(), $0.value) }, uniquingKeysWith: { first, _ in first }),
            delayMilliseconds: delay, times: times, host: host, caller: caller, origin: node.location.description)
        fault.queryContains = try reader.string("query_contains")
        fault.bodyContains = try reader.string("body_contains")
        for (name, value) in try reader.stringMap("header_contains") ?? [:] {
            guard let text = value.stringValue else { throw ScenarioLoadError(node.location, "\(context).header_contains values must be strings") }
            fault.headerContains[name.lowercased()] = text
        }
        if let dropNode = reader.node("drop") {
            guard case .scalar(.bool(let drop)) = dropNode.value else {
                throw ScenarioLoadError(dropNode.location, "\(context).drop must be true (close the connection instead of answering) or false")
            }
            fault.drop = drop
        }
        if let passNode = reader.node("pass_through") {
            guard case .scalar(.bool(let pass)) = passNode.value else {
                throw ScenarioLoadError(passNode.location, "\(context).pass_through must be true (answer as usual, only later) or false")
            }
            if pass {
                if let answer = ["status", "body", "headers", "drop"].first(where: { reader.node($0) != nil }) {
                    throw ScenarioLoadError(passNode.location, "\(context) passes through (pass_through: true): the usual answer is sent, so '\(answer)' has no use; leave it out")
                }
                guard delay > 0 else {
                    throw ScenarioLoadError(passNode.location, "\(context).pass_through needs delay_ms (1–600000): a fault that neither changes nor slows the answer does nothing")
                }
            }
            fault.passThrough = pass
        }
        try reader.rejectUnknownKeys(allowed: ["status", "headers", "body", "method", "path_prefix", "delay_ms", "times", "host", "caller", "drop",
                                               "query_contains", "body_contains", "header_contains", "pass_through"])
        return fault
    }
}
