import Foundation
import VaultSimCore

/// The Connect step forms: `connect`, `create_connect_session` and the simulated `user`.
extension StepParser {
    /// `connect: {providers, timeout, poll_interval, grant_policy}`, each optional.
    func connectParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        if case .scalar(.null) = node.value { return [:] }
        var r = try MappingReader(node, context: context)
        var params: [String: JSONValue] = [:]
        if let providers = try r.stringList("providers") { params["providers"] = .array(providers.map(JSONValue.string)) }
        if let timeout = try r.seconds("timeout", atMost: 3600) { params["timeout"] = .number(timeout) }
        if let interval = try r.seconds("poll_interval", atMost: 60) { params["poll_interval"] = .number(interval) }
        if let policy = r.node("grant_policy") { params["grant_policy"] = try Self.mapping(policy, "\(context).grant_policy") }
        try r.rejectUnknownKeys(allowed: ["providers", "timeout", "poll_interval", "grant_policy"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    /// `create_connect_session: {allowed_providers, return_url, allowed_origin, metadata, grant_policy, required_scopes}`;
    /// `create_connect_session_for_error` takes the same without `allowed_providers` (the SDK
    /// takes the provider from the error).
    func sessionParams(_ node: YAMLNode, context: String, forError: Bool = false) throws(ScenarioLoadError) -> JSONValue {
        if case .scalar(.null) = node.value { return [:] }
        var r = try MappingReader(node, context: context)
        var params: [String: JSONValue] = [:]
        if !forError, let providers = try r.stringList("allowed_providers") { params["allowed_providers"] = .array(providers.map(JSONValue.string)) }
        for key in ["return_url", "allowed_origin"] {
            if let text = try r.string(key) { params[key] = .string(text) }
        }
        for key in ["metadata", "grant_policy", "required_scopes"] {
            if let value = r.node(key) { params[key] = try Self.mapping(value, "\(context).\(key)") }
        }
        try r.rejectUnknownKeys(allowed: (forError ? [] : ["allowed_providers"]) + ["return_url", "allowed_origin", "metadata", "grant_policy", "required_scopes"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    /// `poll_connect_session: {session_token, timeout, poll_interval}`; the token defaults to
    /// `${connect.latest}`, the session the scenario's last Connect-session call made.
    func pollParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var params: [String: JSONValue] = ["session_token": .string("${connect.latest}")]
        if case .scalar(.null) = node.value { return .object(params) }
        var r = try MappingReader(node, context: context)
        if let token = try r.string("session_token") { params["session_token"] = .string(token) }
        if let timeout = try r.seconds("timeout", atMost: 3600) { params["timeout"] = .number(timeout) }
        if let interval = try r.seconds("poll_interval", atMost: 60) { params["poll_interval"] = .number(interval) }
        try r.rejectUnknownKeys(allowed: ["session_token", "timeout", "poll_interval"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    /// `user: {session, action, provider, account, scopes, duration, linger, finish}`, each optional.
    func userPlan(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> UserPlan {
        var plan = UserPlan()
        if case .scalar(.null) = node.value { return plan }
        var r = try MappingReader(node, context: context)
        if let sessionNode = r.node("session") {
            let text = try MappingReader.string(sessionNode, "\(context).session")
            guard let choice = UserPlan.SessionChoice(rawValue: text) else {
                throw ScenarioLoadError(sessionNode.location, "\(context).session must be new or latest")
            }
            plan.session = choice
        }
        if let actionNode = r.node("action") {
            let text = try MappingReader.string(actionNode, "\(context).action")
            guard let act = UserPlan.Act(rawValue: text) else {
                throw ScenarioLoadError(actionNode.location, "\(context).action must be one of \(UserPlan.Act.allCases.map(\.rawValue).joined(separator: ", ")) (ignore: approvals only)")
            }
            plan.action = act
        }
        if let providerNode = r.node("provider") {
            switch providerNode.value {
            case .scalar(.string(let one)): plan.providers = [one]
            case .sequence(let items) where !items.isEmpty:
                for item in items { plan.providers.append(try MappingReader.string(item, "\(context).provider item")) }
            default:
                throw ScenarioLoadError(providerNode.location, "\(context).provider must be a provider id or a list of them")
            }
            for provider in plan.providers where ProviderCatalog.descriptor(id: provider)?.kind != .oauth {
                throw ScenarioLoadError(providerNode.location, "\(context).provider: '\(provider)' is not an OAuth provider (known: \(ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")))")
            }
        }
        plan.account = try r.string("account")
        plan.scopes = try r.stringList("scopes")
        if let durationNode = r.node("duration") {
            let seconds = try Self.duration(durationNode, context: "\(context).duration")
            guard seconds >= 1, seconds <= Double(ConnectGrantPolicy.ttlRange.upperBound) else {
                throw ScenarioLoadError(durationNode.location, "\(context).duration must be between 1 second and 10 years")
            }
            plan.duration = Int(seconds)
        }
        if let lingerNode = r.node("linger") {
            let seconds = try Self.duration(lingerNode, context: "\(context).linger")
            guard seconds <= 100 * 365 * 86400 else { throw ScenarioLoadError(lingerNode.location, "\(context).linger must be at most 100 years") }
            plan.linger = seconds
        }
        if let finishNode = r.node("finish") {
            guard case .scalar(.bool(let finish)) = finishNode.value else {
                throw ScenarioLoadError(finishNode.location, "\(context).finish must be true or false")
            }
            plan.finish = finish
        }
        if let approvalNode = r.node("approval") {
            guard try MappingReader.string(approvalNode, "\(context).approval") == "latest" else {
                throw ScenarioLoadError(approvalNode.location, "\(context).approval must be latest (the newest approval a proxy_request made)")
            }
            plan.approval = true
            guard [.approve, .deny, .ignore, .open].contains(plan.action) else {
                throw ScenarioLoadError(approvalNode.location, "\(context): an approval takes action approve, deny or ignore (open the page and leave)")
            }
            for key in ["session", "provider", "account", "scopes", "duration", "linger", "finish", "sign_in"] where r.node(key) != nil {
                throw ScenarioLoadError(approvalNode.location, "\(context): '\(key)' is for Connect sessions or sign-ins, not approvals")
            }
        } else if let signInNode = r.node("sign_in") {
            let text = try MappingReader.string(signInNode, "\(context).sign_in")
            guard let choice = UserPlan.SessionChoice(rawValue: text) else {
                throw ScenarioLoadError(signInNode.location, "\(context).sign_in must be new or latest (the sign-in authenticate() opened)")
            }
            plan.signIn = choice
            guard [.approve, .deny, .open].contains(plan.action) else {
                throw ScenarioLoadError(signInNode.location, "\(context): a sign-in takes action approve (sign in), deny (Cancel) or open (look and leave)")
            }
            for key in ["session", "provider", "scopes", "duration", "linger", "finish", "reason"] where r.node(key) != nil {
                throw ScenarioLoadError(signInNode.location, "\(context): '\(key)' is for Connect sessions, not sign-ins (account names who signs in)")
            }
        } else if plan.action == .ignore {
            throw ScenarioLoadError(node.location, "\(context): action ignore is for approvals (approval: latest); a Connect session is left with abandon")
        }
        plan.reason = try r.string("reason")
        try r.rejectUnknownKeys(allowed: ["session", "action", "provider", "account", "scopes", "duration", "linger", "finish", "approval", "reason", "sign_in"])
        return plan
    }

    /// A mapping, as JSON.
    static func mapping(_ node: YAMLNode, _ what: String) throws(ScenarioLoadError) -> JSONValue {
        guard case .mapping = node.value else { throw ScenarioLoadError(node.location, "\(what) must be a mapping, found \(node.typeName)") }
        return node.json
    }
}
