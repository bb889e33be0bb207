import Foundation
import VaultSimCore

/// GitHub's REST API on api.github.com for one sandbox: `GET /user`, `GET /user/repos`
/// (paginated, with a `Link` header) and `GET /repos/{owner}/{repo}`, with GitHub's rate-limit
/// and OAuth-scope headers and its error bodies. Data: `data["users"]` (by login) and
/// `data["repos"][login]` (compact repository entries, expanded here to GitHub's shape).
struct GitHubAPI {
    let fixtures: FixtureLibrary
    let sandbox: Sandbox
    let server: AuthorizationServer

    static let baseHeaders = [
        "content-type": "application/json; charset=utf-8",
        "x-github-api-version-selected": "2022-11-28",
        "x-github-media-type": "github.v3; format=json",
    ]
    static let authenticatedLimit = 5000
    static let anonymousLimit = 60

    private enum Caller {
        case anonymous
        case invalid
        case user(token: ProviderToken, account: ProviderAccount)

        var user: (token: ProviderToken, account: ProviderAccount)? {
            guard case .user(let token, let account) = self else { return nil }
            return (token, account)
        }
    }

    func respond(to call: ProviderCall) throws -> ProviderResponse {
        let caller = try identify(call)
        let data = fixtures.data(provider: "github", in: sandbox)
        var headers = Self.baseHeaders
        let rate: (used: Int, limit: Int, reset: Int, exceeded: Bool)
        switch caller {
        case .user(let token, let account):
            rate = consumeRateLimit(key: account.id, limit: Self.authenticatedLimit, data: data)
            headers["x-oauth-scopes"] = token.scopes.joined(separator: ", ")
        case .anonymous, .invalid:
            rate = consumeRateLimit(key: "anonymous", limit: Self.anonymousLimit, data: data)
        }
        headers["x-ratelimit-limit"] = String(rate.limit)
        headers["x-ratelimit-remaining"] = String(max(0, rate.limit - rate.used))
        headers["x-ratelimit-reset"] = String(rate.reset)
        headers["x-ratelimit-used"] = String(rate.used)
        headers["x-ratelimit-resource"] = "core"

        if case .invalid = caller { return GitHubErrors.error(401, "Bad credentials", headers: headers) }
        let user = caller.user
        if rate.exceeded {
            let who = user.map { "user ID \($0.account.id)" } ?? "127.0.0.1"
            return GitHubErrors.error(403, "API rate limit exceeded for \(who).",
                                      docs: "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api", headers: headers)
        }

        let s = call.segments
        switch (call.method, s.count) {
        case ("GET", 1) where s[0] == "user":
            let docs = "https://docs.github.com/rest/users/users#get-the-authenticated-user"
            guard let me = user else { return GitHubErrors.error(401, "Requires authentication", docs: docs, headers: headers) }
            headers["x-accepted-oauth-scopes"] = ""
            return .json(200, authenticatedUser(me.account, scopes: me.token.scopes, data: data), headers: headers)
        case ("GET", 2) where s[0] == "user" && s[1] == "repos":
            let docs = "https://docs.github.com/rest/repos/repos#list-repositories-for-the-authenticated-user"
            guard let me = user else { return GitHubErrors.error(401, "Requires authentication", docs: docs, headers: headers) }
            headers["x-accepted-oauth-scopes"] = ""
            return listRepositories(call, for: me.account, scopes: me.token.scopes, data: data, headers: headers)
        case ("GET", 3) where s[0] == "repos":
            headers["x-accepted-oauth-scopes"] = "repo"
            let docs = "https://docs.github.com/rest/repos/repos#get-a-repository"
            guard let entry = Self.repositoryEntries(owner: s[1], in: data).first(where: { $0.entry["name"]?.stringValue?.lowercased() == s[2].lowercased() })
            else { return GitHubErrors.notFound(docs: docs, headers: headers) }
            let isOwner = user.map { $0.account.login.lowercased() == entry.owner.lowercased() } ?? false
            if entry.entry["private"]?.boolValue == true, !(isOwner && user?.token.scopes.contains("repo") == true) {
                return GitHubErrors.notFound(docs: docs, headers: headers)
            }
            let permissions: Bool? = user == nil ? nil : isOwner
            return .json(200, Self.repository(entry.entry, owner: entry.owner, data: data, ownerPermissions: permissions), headers: headers)
        default:
            return GitHubErrors.notFound(headers: headers)
        }
    }

    /// The caller from `Authorization: Bearer <t>` or `Authorization: token <t>`.
    private func identify(_ call: ProviderCall) throws -> Caller {
        guard let header = call.headers["authorization"]?.trimmingCharacters(in: .whitespaces), !header.isEmpty else {
            return .anonymous
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, ["bearer", "token"].contains(parts[0].lowercased()),
              let found = try server.introspect(accessToken: parts[1].trimmingCharacters(in: .whitespaces))
        else { return .invalid }
        return .user(token: found.token, account: found.account)
    }

    /// Counts one call in the caller's hourly window (GitHub's primary rate limit), kept in the
    /// sandbox's data under `rate_limit.<account id>` so a scenario can also preset it.
    private func consumeRateLimit(key: String, limit: Int, data: JSONValue) -> (used: Int, limit: Int, reset: Int, exceeded: Bool) {
        let now = Int(sandbox.clock.now.timeIntervalSince1970)
        let stored = data["rate_limit"]?[key]
        var used = stored?["used"]?.intValue ?? 0
        var reset = stored?["reset"]?.intValue ?? 0
        if reset <= now {
            used = 0
            reset = now + 3600
        }
        let exceeded = used >= limit
        if !exceeded { used += 1 }
        sandbox.overrideData(provider: "github", with: [
            "rate_limit": .object([key: ["used": .number(Double(used)), "reset": .number(Double(reset))]]),
        ])
        return (used, limit, reset, exceeded)
    }

    // MARK: users

    private func authenticatedUser(_ account: ProviderAccount, scopes: [String], data: JSONValue) -> JSONValue {
        let fixture = GitHubFixtures.user(login: account.login, in: data)
        let id = Int(account.id) ?? GitHubProvider.generatedID(login: account.login)
        var user = Self.userSummary(login: account.login, id: id, nodeID: fixture?["node_id"]?.stringValue)
        let repos = Self.repositoryEntries(owner: account.login, in: data).map { $0.entry }
        let privateCount = repos.filter { $0["private"]?.boolValue == true }.count
        user["name"] = .string(account.name)
        user["company"] = fixture?["company"] ?? .null
        user["blog"] = fixture?["blog"] ?? ""
        user["location"] = fixture?["location"] ?? .null
        user["email"] = .string(account.email)
        user["hireable"] = fixture?["hireable"] ?? .null
        user["bio"] = fixture?["bio"] ?? .null
        user["twitter_username"] = fixture?["twitter_username"] ?? .null
        user["public_repos"] = .number(Double(repos.count - privateCount))
        user["public_gists"] = fixture?["public_gists"] ?? 0
        user["followers"] = fixture?["followers"] ?? 0
        user["following"] = fixture?["following"] ?? 0
        user["created_at"] = fixture?["created_at"] ?? "2020-01-01T00:00:00Z"
        user["updated_at"] = fixture?["updated_at"] ?? "2020-01-01T00:00:00Z"
        // Private profile fields need the `user` scope.
        if scopes.contains("user") {
            user["private_gists"] = fixture?["private_gists"] ?? 0
            user["total_private_repos"] = .number(Double(privateCount))
            user["owned_private_repos"] = .number(Double(privateCount))
            user["disk_usage"] = fixture?["disk_usage"] ?? 0
            user["collaborators"] = 0
            user["two_factor_authentication"] = fixture?["two_factor_authentication"] ?? false
            user["plan"] = ["name": "free", "space": 976_562_499, "collaborators": 0, "private_repos": 10000]
        }
        return .object(user)
    }

    /// The `simple-user` object GitHub embeds (as a repository's `owner`) and starts `/user` with.
    static func userSummary(login: String, id: Int, nodeID: String?) -> JSONObject {
        let api = "https://api.github.com/users/\(login)"
        let node = nodeID ?? Data("04:User\(id)".utf8).base64EncodedString()
        let fields: [(String, JSONValue)] = [
            ("login", .string(login)), ("id", .number(Double(id))), ("node_id", .string(node)),
            ("avatar_url", .string("https://avatars.githubusercontent.com/u/\(id)?v=4")), ("gravatar_id", .string("")),
            ("url", .string(api)), ("html_url", .string("https://github.com/\(login)")),
            ("followers_url", .string("\(api)/followers")), ("following_url", .string("\(api)/following{/other_user}")),
            ("gists_url", .string("\(api)/gists{/gist_id}")), ("starred_url", .string("\(api)/starred{/owner}{/repo}")),
            ("subscriptions_url", .string("\(api)/subscriptions")), ("organizations_url", .string("\(api)/orgs")),
            ("repos_url", .string("\(api)/repos")), ("events_url", .string("\(api)/events{/privacy}")),
            ("received_events_url", .string("\(api)/received_events")), ("type", .string("User")),
            ("user_view_type", .string("public")), ("site_admin", .bool(false)),
        ]
        return JSONObject(uniqueKeysWithValues: fields)
    }

    // MARK: repositories

    /// `GET /user/repos`: the account's repositories, private ones only with the `repo` scope.
    private func listRepositories(_ call: ProviderCall, for account: ProviderAccount, scopes: [String], data: JSONValue,
                                  headers: [String: String]) -> ProviderResponse {
        let query = call.query
        // Like GitHub, a per_page or page it cannot use falls back to the default.
        let perPage = Self.positiveInteger(query["per_page"]).map { min($0, 100) } ?? 30
        let page = Self.positiveInteger(query["page"]) ?? 1
        let canSeePrivate = scopes.contains("repo")
        var entries = Self.repositoryEntries(owner: account.login, in: data).map { $0.entry }.filter { entry in
            let isPrivate = entry["private"]?.boolValue == true
            guard !isPrivate || canSeePrivate else { return false }
            switch query["visibility"] ?? query["type"] ?? "all" {
            case "private": return isPrivate
            case "public": return !isPrivate
            default: return true
            }
        }
        if let affiliation = query["affiliation"], !affiliation.split(separator: ",").contains("owner") { entries = [] }

        let sort = query["sort"] ?? "full_name"
        let field = ["created": "created_at", "updated": "updated_at", "pushed": "pushed_at"][sort]
        let ascending = query["direction"] == "asc" || (query["direction"] != "desc" && field == nil)
        let key = { (entry: JSONValue) in
            field.flatMap { entry[$0]?.stringValue } ?? (entry["name"]?.stringValue ?? "").lowercased()
        }
        entries.sort { ascending ? key($0) < key($1) : key($0) > key($1) }

        let lastPage = max(1, (entries.count + perPage - 1) / perPage)
        let start = page > lastPage ? entries.count : (page - 1) * perPage
        let items = entries[start..<min(start + perPage, entries.count)].map {
            Self.repository($0, owner: account.login, data: data, ownerPermissions: true)
        }
        var headers = headers
        if let link = Self.linkHeader(call, page: page, lastPage: lastPage) { headers["link"] = link }
        return .json(200, .array(items), headers: headers)
    }

    static func positiveInteger(_ text: String?) -> Int? {
        guard let text, let value = Int(text), value > 0 else { return nil }
        return value
    }

    /// GitHub's `Link` header: `<url>; rel="prev", <url>; rel="next", <url>; rel="last", <url>; rel="first"`,
    /// each URL the request's own with `page` replaced.
    static func linkHeader(_ call: ProviderCall, page: Int, lastPage: Int) -> String? {
        var links: [(Int, String)] = []
        if page > 1 { links.append((page - 1, "prev")) }
        if page < lastPage { links += [(page + 1, "next"), (lastPage, "last")] }
        if page > 1 { links.append((1, "first")) }
        guard !links.isEmpty else { return nil }
        let kept = QueryString.pairs(call.rawQuery).filter { $0.name != "page" }.map { ($0.name, $0.value) }
        return links.map { target, rel in
            let query = QueryString.encode(kept + [("page", String(target))])
            return "<https://\(call.host)\(call.path)?\(query)>; rel=\"\(rel)\""
        }.joined(separator: ", ")
    }

    /// The compact repository entries of an owner (login matched case-insensitively).
    static func repositoryEntries(owner: String, in data: JSONValue) -> [(owner: String, entry: JSONValue)] {
        guard let all = data["repos"]?.objectValue,
              let match = all.first(where: { $0.key.lowercased() == owner.lowercased() }) else { return [] }
        return (match.value.arrayValue ?? []).map { (owner: match.key, entry: $0) }
    }

    /// A fixture entry expanded to GitHub's repository object. `ownerPermissions` nil leaves out
    /// `permissions` (an anonymous caller); otherwise whether the caller owns it.
    static func repository(_ entry: JSONValue, owner: String, data: JSONValue, ownerPermissions: Bool?) -> JSONValue {
        let name = entry["name"]?.stringValue ?? "repository"
        let fullName = "\(owner)/\(name)"
        let id = entry["id"]?.intValue ?? GitHubProvider.generatedID(login: fullName) * 10
        let ownerFixture = GitHubFixtures.user(login: owner, in: data)
        let ownerID = ownerFixture?["id"]?.intValue ?? GitHubProvider.generatedID(login: owner)
        let isPrivate = entry["private"]?.boolValue ?? false
        let api = "https://api.github.com/repos/\(fullName)"
        let field = { (key: String, fallback: JSONValue) -> JSONValue in entry[key] ?? fallback }
        let ownerSummary = userSummary(login: owner, id: ownerID, nodeID: ownerFixture?["node_id"]?.stringValue)
        let urls: [(String, JSONValue)] = [
            ("html_url", .string("https://github.com/\(fullName)")), ("description", field("description", .null)),
            ("fork", field("fork", .bool(false))), ("url", .string(api)), ("forks_url", .string("\(api)/forks")),
            ("issues_url", .string("\(api)/issues{/number}")), ("pulls_url", .string("\(api)/pulls{/number}")),
            ("created_at", field("created_at", .string("2020-01-01T00:00:00Z"))),
            ("updated_at", field("updated_at", .string("2020-01-01T00:00:00Z"))),
            ("pushed_at", field("pushed_at", .string("2020-01-01T00:00:00Z"))),
            ("git_url", .string("git://github.com/\(fullName).git")), ("ssh_url", .string("git@github.com:\(fullName).git")),
            ("clone_url", .string("https://github.com/\(fullName).git")), ("svn_url", .string("https://github.com/\(fullName)")),
        ]
        let counts: [(String, JSONValue)] = [
            ("homepage", field("homepage", .null)), ("size", field("size", .number(0))),
            ("stargazers_count", field("stargazers_count", .number(0))), ("watchers_count", field("stargazers_count", .number(0))),
            ("language", field("language", .null)), ("has_issues", .bool(true)), ("has_projects", .bool(true)),
            ("has_downloads", .bool(true)), ("has_wiki", .bool(true)), ("has_pages", .bool(false)),
            ("has_discussions", .bool(false)), ("forks_count", field("forks_count", .number(0))), ("mirror_url", .null),
            ("archived", field("archived", .bool(false))), ("disabled", .bool(false)),
            ("open_issues_count", field("open_issues_count", .number(0))), ("license", field("license", .null)),
            ("allow_forking", .bool(true)), ("is_template", .bool(false)), ("web_commit_signoff_required", .bool(false)),
            ("topics", field("topics", .array([]))), ("visibility", .string(isPrivate ? "private" : "public")),
            ("forks", field("forks_count", .number(0))), ("open_issues", field("open_issues_count", .number(0))),
            ("watchers", field("stargazers_count", .number(0))), ("default_branch", field("default_branch", .string("main"))),
        ]
        let head: [(String, JSONValue)] = [
            ("id", .number(Double(id))), ("node_id", .string(Data("010:Repository\(id)".utf8).base64EncodedString())),
            ("name", .string(name)), ("full_name", .string(fullName)), ("private", .bool(isPrivate)), ("owner", .object(ownerSummary)),
        ]
        var repo = JSONObject(uniqueKeysWithValues: head + urls + counts)
        if let isOwner = ownerPermissions {
            repo["permissions"] = ["admin": .bool(isOwner), "maintain": .bool(isOwner), "push": .bool(isOwner),
                                   "triage": .bool(isOwner), "pull": true]
        }
        for (key, value) in entry.objectValue ?? [:] where repo[key] == nil { repo[key] = value }
        return .object(repo)
    }
}

/// Reading GitHub fixture data: `users` is an object by login (an array of users also works).
enum GitHubFixtures {
    static func users(in value: JSONValue?) -> [String: JSONValue] {
        var users: [String: JSONValue] = [:]
        if let object = value?.objectValue {
            for (key, user) in object { users[(user["login"]?.stringValue ?? key).lowercased()] = user }
        } else {
            for user in value?.arrayValue ?? [] {
                if let login = user["login"]?.stringValue { users[login.lowercased()] = user }
            }
        }
        return users
    }

    static func user(login: String, in data: JSONValue) -> JSONValue? {
        users(in: data["users"])[login.lowercased()]
    }
}

/// GitHub REST error bodies: `{"message", "documentation_url", "status"}`.
enum GitHubErrors {
    static func error(_ status: Int, _ message: String, docs: String = "https://docs.github.com/rest",
                      extra: JSONObject = [:], headers: [String: String] = GitHubAPI.baseHeaders) -> ProviderResponse {
        var body: JSONObject = ["message": .string(message)]
        for (key, value) in extra { body[key] = value }
        body["documentation_url"] = .string(docs)
        body["status"] = .string(String(status))
        var all = GitHubAPI.baseHeaders
        all.merge(headers) { _, new in new }
        return .json(status, .object(body), headers: all)
    }

    static func notFound(docs: String = "https://docs.github.com/rest",
                         headers: [String: String] = GitHubAPI.baseHeaders) -> ProviderResponse {
        error(404, "Not Found", docs: docs, headers: headers)
    }

    static func validationFailed(docs: String, field: String) -> ProviderResponse {
        error(422, "Validation Failed", docs: docs,
              extra: ["errors": [["resource": "Token", "field": .string(field), "code": "invalid"]]])
    }
}
