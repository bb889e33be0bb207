import Foundation
import VaultSimCore

extension ScenarioLoader {
    /// `given.identity: {users: {NAME: {sub, email, name}}, token_lifetime}`: the app has an
    /// identity provider that knows these people.
    static func parseIdentity(_ node: YAMLNode) throws(ScenarioLoadError) -> IdentitySetup {
        var setup = IdentitySetup()
        if case .scalar(.null) = node.value { return setup }
        var reader = try MappingReader(node, context: "given.identity")
        if let usersNode = reader.node("users") {
            var map = try MappingReader(usersNode, context: "given.identity.users")
            for name in map.keys {
                let userNode = map.node(name)!
                let context = "given.identity.users.\(name)"
                guard name.wholeMatch(of: /[A-Za-z0-9_\-]{1,64}/) != nil else {
                    throw ScenarioLoadError(userNode.location, "\(context): a user's name is letters, digits, '_' and '-' (it is used in ${identity.\(name).token})")
                }
                var user = IdentityUser(name: name, sub: "user-\(name)")
                if case .scalar(.null) = userNode.value {
                    setup.users.append(user)
                    continue
                }
                var r = try MappingReader(userNode, context: context)
                if let sub = try r.string("sub") {
                    guard !sub.trimmingCharacters(in: .whitespaces).isEmpty else { throw ScenarioLoadError(userNode.location, "\(context).sub must not be blank") }
                    user.sub = sub
                }
                user.email = try r.string("email")
                user.displayName = try r.string("name")
                try r.rejectUnknownKeys(allowed: ["sub", "email", "name"])
                if setup.users.contains(where: { $0.sub == user.sub }) {
                    throw ScenarioLoadError(userNode.location, "\(context).sub '\(user.sub)' is another user's too")
                }
                setup.users.append(user)
            }
        }
        if let lifetime = reader.node("token_lifetime") {
            let seconds = try StepParser.duration(lifetime, context: "given.identity.token_lifetime")
            guard seconds >= 1, seconds <= 365 * 86400 else {
                throw ScenarioLoadError(lifetime.location, "given.identity.token_lifetime must be between 1 second and 365 days")
            }
            setup.tokenLifetime = seconds
        }
        try reader.rejectUnknownKeys(allowed: ["users", "token_lifetime"])
        return setup
    }

    /// `given.grants.NAME.user` names a person of `given.identity.users`; the seed carries their `sub`.
    static func resolveGrantOwners(_ given: inout Given, _ node: YAMLNode) throws(ScenarioLoadError) {
        for index in given.grants.indices {
            guard let name = given.grants[index].seed.userSub else { continue }
            guard let user = given.identity?.users.first(where: { $0.name == name }) else {
                let known = (given.identity?.users ?? []).map(\.name)
                throw ScenarioLoadError(node.location, "given.grants.\(given.grants[index].name).user: '\(name)' is not a user of given.identity"
                    + (known.isEmpty ? " (the scenario has no given.identity.users)" : " (known: \(known.joined(separator: ", ")))"))
            }
            given.grants[index].seed.userSub = user.sub
        }
    }

    /// The placeholders `given.identity` makes: `identity.NAME.token` and `identity.NAME.sub`.
    static func identityBindings(_ given: Given) -> [String] {
        (given.identity?.users ?? []).flatMap { ["identity.\($0.name).token", "identity.\($0.name).sub"] }
    }
}

extension StepParser {
    /// `authenticate: {timeout}` (the SDK's default, 300 s, is too long for a scenario).
    func authenticateParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var params: JSONObject = [:]
        if case .scalar(.null) = node.value { return .object(params) }
        var r = try MappingReader(node, context: context)
        if let timeout = try r.double("timeout") {
            guard timeout >= 0, timeout <= 3600 else { throw ScenarioLoadError(node.location, "\(context).timeout must be 0 to 3600 seconds") }
            params["timeout"] = .number(timeout)
        }
        try r.rejectUnknownKeys(allowed: ["timeout"])
        return .object(params)
    }

    /// `construct_client: {base_url, api_key}`: strings passed as written (empty allowed);
    /// `api_key` defaults to the sandbox's key, `base_url` to the vault's address.
    func constructParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var params: JSONObject = [:]
        if case .scalar(.null) = node.value { return .object(params) }
        var r = try MappingReader(node, context: context)
        for key in ["base_url", "api_key"] {
            if let valueNode = r.node(key) { params[key] = .string(try MappingReader.string(valueNode, "\(context).\(key)")) }
        }
        try r.rejectUnknownKeys(allowed: ["base_url", "api_key"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    /// `poll_auth_session_raw: {session_token}` (default: the newest sign-in's).
    func pollRawParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var params: JSONObject = [:]
        if case .scalar(.null) = node.value { return .object(params) }
        var r = try MappingReader(node, context: context)
        if let token = try r.string("session_token") { params["session_token"] = .string(token) }
        try r.rejectUnknownKeys(allowed: ["session_token"])
        try validatePlaceholders(in: .object(params), at: node.location)
        return .object(params)
    }

    /// `verify_user_token: {token}` (a string, placeholders allowed; empty and blank are allowed:
    /// the SDK answers those itself).
    func verifyTokenParams(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> JSONValue {
        var r = try MappingReader(node, context: context)
        guard let tokenNode = r.node("token") else { throw ScenarioLoadError(node.location, "\(context) needs token") }
        let token = try MappingReader.string(tokenNode, "\(context).token")
        try r.rejectUnknownKeys(allowed: ["token"])
        let params: JSONValue = ["token": .string(token)]
        try validatePlaceholders(in: params, at: node.location)
        return params
    }
}
