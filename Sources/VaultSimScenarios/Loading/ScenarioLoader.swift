import Foundation
import VaultSimCore

/// Reads scenario files (YAML, format `vaultsim: 1`) into `Scenario`s. Every problem is reported
/// with its file, line and column; nothing about a malformed file is guessed.
public enum ScenarioLoader {
    public static let formatVersion = 1

    /// Loads every `.yaml`/`.yml` file under the given files and folders (folders recursively, in
    /// name order). Returns the scenarios of the good files and the errors of the bad ones.
    public static func load(paths: [String]) -> (scenarios: [Scenario], errors: [ScenarioLoadError]) {
        var scenarios: [Scenario] = []
        var errors: [ScenarioLoadError] = []
        for (file, root) in expand(paths, errors: &errors) {
            do {
                let text = try String(contentsOfFile: file, encoding: .utf8)
                switch parseReportingAll(text, file: file, defaultID: defaultID(file: file, root: root)) {
                case .success(let scenario): scenarios.append(scenario)
                case .failure(let problems): errors += problems.all
                }
            } catch {
                errors.append(ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "cannot read the file: \(error)"))
            }
        }
        var seen: [String: SourceLocation] = [:]
        for scenario in scenarios {
            if let first = seen[scenario.id] {
                errors.append(ScenarioLoadError(scenario.location, "duplicate scenario id '\(scenario.id)' (first at \(first))"))
            }
            seen[scenario.id] = scenario.location
        }
        return (scenarios, errors)
    }

    /// Every problem of one file, in the order of the file (at most `LoadProblems.limit`).
    public struct Problems: Error, Sendable {
        public var all: [ScenarioLoadError]
    }

    /// Parses one scenario document; throws its first problem.
    public static func parse(_ text: String, file: String, defaultID: String) throws(ScenarioLoadError) -> Scenario {
        switch parseReportingAll(text, file: file, defaultID: defaultID) {
        case .success(let scenario): return scenario
        case .failure(let problems):
            throw problems.all.first ?? ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "cannot load the scenario")
        }
    }

    /// Parses one scenario document, reporting every problem it finds rather than the first:
    /// each step, `given` and `then` are parsed on their own, and unknown keys anywhere are
    /// recorded without stopping. (`given` failing leaves the steps unparsed: their bindings
    /// would only add false problems.)
    public static func parseReportingAll(_ text: String, file: String, defaultID: String) -> Result<Scenario, Problems> {
        let sink = LoadProblems()
        let scenario = LoadProblems.$current.withValue(sink) { parseCollecting(text, file: file, defaultID: defaultID, sink: sink) }
        let problems = sink.problems
        if let scenario, problems.isEmpty { return .success(scenario) }
        return .failure(Problems(all: problems.isEmpty
            ? [ScenarioLoadError(SourceLocation(file: file, line: 1, column: 1), "cannot load the scenario")] : problems))
    }

    /// Runs one part of the parse; a problem is recorded and the part gives nil.
    private static func part<T>(_ sink: LoadProblems, _ body: () throws(ScenarioLoadError) -> T) -> T? {
        do {
            return try body()
        } catch {
            sink.record(error)
            return nil
        }
    }

    private static func parseCollecting(_ text: String, file: String, defaultID: String, sink: LoadProblems) -> Scenario? {
        let root: YAMLNode
        var top: MappingReader
        do throws(ScenarioLoadError) {
            root = try YAMLNode.parse(text, file: file)
            top = try MappingReader(root, context: "the scenario")
            let versionNode = try top.required("vaultsim")
            guard case .scalar(let version) = versionNode.value, version.intValue == formatVersion else {
                throw ScenarioLoadError(versionNode.location, "unsupported format version \(versionNode.json.jsonText); this VaultSim reads 'vaultsim: \(formatVersion)'")
            }
        } catch {
            sink.record(error)
            return nil
        }
        let id = part(sink) { () throws(ScenarioLoadError) in try top.string("id") ?? defaultID } ?? defaultID
        let title = part(sink) { () throws(ScenarioLoadError) in try top.string("title") ?? id } ?? id
        let tags = part(sink) { () throws(ScenarioLoadError) in try top.stringList("tags") ?? [] } ?? []
        let covers = part(sink) { () throws(ScenarioLoadError) in try top.stringList("covers") ?? [] } ?? []
        let sdkRange = part(sink) { () throws(ScenarioLoadError) -> SDKVersionRange? in
            guard let node = top.node("requires") else { return nil }
            return try parseRequires(node)
        } ?? nil
        let givenNode = top.node("given")
        guard let given = part(sink, { () throws(ScenarioLoadError) in try givenNode.map(parseGiven) ?? Given() }) else {
            top.rejectUnknownKeysRecording(allowed: topLevelKeys)
            return nil
        }
        var bindings: Set<String> = ["sandbox.id", "sdk.name", "sdk.version", "approval.latest", "connect.latest"]
        // The newest grant a Connect flow made at each provider (set once one has).
        for provider in ProviderCatalog.all where provider.kind == .oauth { bindings.insert("connected.\(provider.id)") }
        for grant in given.grants { bindings.insert("grants.\(grant.name)") }
        for secret in given.secrets { bindings.insert("secrets.\(secret.name)") }
        bindings.formUnion(identityBindings(given))

        var steps: [Step] = []
        var stepsParsed = true
        let stepsNode = part(sink) { () throws(ScenarioLoadError) -> [YAMLNode] in
            let stepsNode = try top.required("steps")
            guard case .sequence(let stepNodes) = stepsNode.value, !stepNodes.isEmpty else {
                throw ScenarioLoadError(stepsNode.location, "'steps' must be a non-empty list")
            }
            return stepNodes
        }
        let parser = StepParser(bindings: bindings, grantNames: Set(given.grants.map(\.name) + given.secrets.map(\.name)),
                                grantsByName: Dictionary(given.grants.map { ($0.name, $0.seed.provider) }, uniquingKeysWith: { a, _ in a }))
        if let token = given.client.userToken {
            part(sink) { () throws(ScenarioLoadError) in try parser.validatePlaceholders(in: .string(token), at: givenNode?.location ?? root.location) }
        }
        for (index, node) in (stepsNode ?? []).enumerated() {
            if let step = part(sink, { () throws(ScenarioLoadError) in try parser.parse(node, index: index) }) {
                steps.append(step)
            } else {
                stepsParsed = false
            }
        }
        let checks = part(sink) { () throws(ScenarioLoadError) in
            try top.node("then").map { node throws(ScenarioLoadError) in try parseThen(node, bindings: bindings) } ?? []
        }
        top.rejectUnknownKeysRecording(allowed: topLevelKeys)
        guard stepsNode != nil, stepsParsed, let checks else { return nil }
        return Scenario(id: id, title: title, tags: tags, covers: covers, sdkRange: sdkRange, location: root.location,
                        given: given, steps: steps, then: checks)
    }

    static let topLevelKeys = ["vaultsim", "id", "title", "tags", "covers", "requires", "given", "steps", "then"]

    // MARK: given

    static func parseGiven(_ node: YAMLNode) throws(ScenarioLoadError) -> Given {
        var reader = try MappingReader(node, context: "given")
        var given = Given()
        if let client = reader.node("client") { given.client = try parseClient(client) }
        if let grants = reader.node("grants") {
            var map = try MappingReader(grants, context: "given.grants")
            for name in map.keys {
                let seedNode = map.node(name)!
                given.grants.append((name, try parseGrantSeed(seedNode, context: "given.grants.\(name)")))
            }
        }
        if let secrets = reader.node("secrets") {
            var map = try MappingReader(secrets, context: "given.secrets")
            for name in map.keys {
                let seedNode = map.node(name)!
                if given.grants.contains(where: { $0.name == name }) {
                    throw ScenarioLoadError(seedNode.location, "'\(name)' names both a grant and a secret")
                }
                given.secrets.append((name, try parseSecretSeed(seedNode, context: "given.secrets.\(name)")))
            }
        }
        if let providers = reader.node("providers") {
            var map = try MappingReader(providers, context: "given.providers")
            for provider in map.keys {
                let providerNode = map.node(provider)!
                try requireKnownProvider(provider, at: providerNode.location)
                var p = try MappingReader(providerNode, context: "given.providers.\(provider)")
                if let data = p.node("data") { given.providerData.append((provider, data.json)) }
                if let faults = p.node("faults") {
                    guard case .sequence(let items) = faults.value else {
                        throw ScenarioLoadError(faults.location, "given.providers.\(provider).faults must be a list")
                    }
                    for item in items { given.faults.append(try parseFault(item, provider: provider, context: "fault")) }
                }
                if let accounts = p.node("accounts") {
                    guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
                        throw ScenarioLoadError(accounts.location, "given.providers.\(provider).accounts: \(provider) is not an OAuth provider, it has no user accounts")
                    }
                    guard case .sequence(let items) = accounts.value else {
                        throw ScenarioLoadError(accounts.location, "given.providers.\(provider).accounts must be a list of logins (or {login, display_name})")
                    }
                    for (index, item) in items.enumerated() {
                        let context = "given.providers.\(provider).accounts[\(index)]"
                        if case .scalar(.string(let login)) = item.value, !login.isEmpty {
                            given.accounts.append(AccountSeed(provider: provider, login: login, displayName: nil))
                            continue
                        }
                        var a = try MappingReader(item, context: context)
                        let login = try a.requiredString("login")
                        guard !login.isEmpty else { throw ScenarioLoadError(item.location, "\(context).login must not be empty") }
                        given.accounts.append(AccountSeed(provider: provider, login: login, displayName: try a.string("display_name")))
                        try a.rejectUnknownKeys(allowed: ["login", "display_name"])
                    }
                }
                if let configured = p.node("configured") {
                    guard case .scalar(.bool(let isConfigured)) = configured.value else {
                        throw ScenarioLoadError(configured.location, "given.providers.\(provider).configured must be true or false")
                    }
                    if !isConfigured { given.unconfiguredProviders.append(provider) }
                }
                if let scopes = try p.stringList("required_scopes") {
                    guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
                        throw ScenarioLoadError(providerNode.location, "given.providers.\(provider).required_scopes: \(provider) is not an OAuth provider")
                    }
                    given.requiredScopes.append((provider, scopes))
                }
                if let scopes = try p.stringList("allowed_scopes") {
                    guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth, !scopes.isEmpty else {
                        throw ScenarioLoadError(providerNode.location, "given.providers.\(provider).allowed_scopes: \(provider) is not an OAuth provider, or the list is empty")
                    }
                    given.allowedScopes.append((provider, scopes))
                }
                if let secretNode = p.node("client_secret") {
                    let secret = try MappingReader.string(secretNode, "given.providers.\(provider).client_secret")
                    guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth, !secret.isEmpty else {
                        throw ScenarioLoadError(secretNode.location, "given.providers.\(provider).client_secret: \(provider) is not an OAuth provider, or the secret is empty")
                    }
                    given.staleClientSecrets.append((provider, secret))
                }
                try p.rejectUnknownKeys(allowed: ["data", "faults", "configured", "accounts", "required_scopes", "allowed_scopes", "client_secret"])
            }
        }
        if let clock = reader.node("clock") { given.clock = try parseClock(clock) }
        if let policies = reader.node("policies") { given.policies = try parsePolicies(policies, context: "given.policies") }
        if let vault = reader.node("vault") { (given.behaviour, given.vaultFaults) = try parseBehaviour(vault) }
        if let identity = reader.node("identity") { given.identity = try parseIdentity(identity) }
        try resolveGrantOwners(&given, node)
        try reader.rejectUnknownKeys(allowed: ["client", "grants", "secrets", "providers", "clock", "vault", "policies", "identity"])
        return given
    }

    static func parseClient(_ node: YAMLNode) throws(ScenarioLoadError) -> ClientSetup {
        var reader = try MappingReader(node, context: "given.client")
        var client = ClientSetup()
        client.caller = try reader.string("caller")
        client.callerType = try reader.string("caller_type")
        if let key = reader.node("api_key") {
            guard let value = ClientSetup.APIKey(rawValue: (try? MappingReader.string(key, "")) ?? "") else {
                throw ScenarioLoadError(key.location, "given.client.api_key must be 'valid' or 'invalid'")
            }
            client.apiKey = value
        }
        if let vault = reader.node("vault") {
            guard let value = ClientSetup.Vault(rawValue: (try? MappingReader.string(vault, "")) ?? "") else {
                throw ScenarioLoadError(vault.location, "given.client.vault must be 'reachable' or 'unreachable'")
            }
            client.vault = value
        }
        client.timeout = try reader.seconds("timeout", atMost: 3600)
        if let node = reader.node("base_path") {
            let path = try MappingReader.string(node, "given.client.base_path")
            guard path.hasPrefix("/"), !path.contains("?"), !path.contains("#") else {
                throw ScenarioLoadError(node.location, "given.client.base_path must be a URL path starting with '/', such as /vault/v1")
            }
            client.basePath = path
        }
        if let node = reader.node("address") {
            let address = try MappingReader.string(node, "given.client.address")
            guard CIDR.address(address) != nil else {
                throw ScenarioLoadError(node.location, "given.client.address must be an IPv4 or IPv6 address (the caller address the vault sees)")
            }
            client.address = address
        }
        if let node = reader.node("context_manager") { client.contextManager = try MappingReader.flag(node, "given.client.context_manager") }
        client.userToken = try reader.string("user_token")
        try reader.rejectUnknownKeys(allowed: ["caller", "caller_type", "api_key", "vault", "timeout", "base_path", "address", "context_manager", "user_token"])
        return client
    }

    static func parseGrantSeed(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> GrantSeed {
        var reader = try MappingReader(node, context: context)
        let providerNode = try reader.required("provider")
        let provider = try MappingReader.string(providerNode, "\(context).provider")
        guard ProviderCatalog.descriptor(id: provider)?.kind == .oauth else {
            throw ScenarioLoadError(providerNode.location, "\(context).provider: '\(provider)' is not an OAuth provider (known: \(ProviderCatalog.all.filter { $0.kind == .oauth }.map(\.id).joined(separator: ", ")))")
        }
        var seed = GrantSeed(provider: provider)
        seed.account = try reader.string("account")
        seed.displayName = try reader.string("display_name")
        seed.scopes = try reader.stringList("scopes") ?? []
        if let status = reader.node("status") {
            guard let value = Grant.Status(rawValue: (try? MappingReader.string(status, "")) ?? "") else {
                throw ScenarioLoadError(status.location, "\(context).status must be one of: \(Grant.Status.allCases.map(\.rawValue).joined(separator: ", "))")
            }
            seed.status = value
        }
        if let node = reader.node("policies") { seed.policies = try parsePolicies(node, context: "\(context).policies") }
        if let node = reader.node("ttl") {
            let ttl = try StepParser.duration(node, context: "\(context).ttl")
            guard ttl >= 1, ttl <= Double(GrantSeed.maxTokenLifetime) else {
                throw ScenarioLoadError(node.location, "\(context).ttl must be between 1 second and 10 years")
            }
            seed.ttl = Int(ttl)
        }
        if let node = reader.node("token_lifetime") {
            let lifetime = try StepParser.duration(node, context: "\(context).token_lifetime")
            guard lifetime >= 1, lifetime <= Double(GrantSeed.maxTokenLifetime) else {
                throw ScenarioLoadError(node.location, "\(context).token_lifetime must be between 1 second and 10 years")
            }
            seed.tokenLifetime = Int(lifetime)
        }
        seed.userSub = try reader.string("user")   // a name of given.identity.users until parseGiven resolves it
        try reader.rejectUnknownKeys(allowed: ["provider", "account", "display_name", "scopes", "status", "token_lifetime", "ttl", "policies", "user"])
        return seed
    }

    static func parseSecretSeed(_ node: YAMLNode, context: String) throws(ScenarioLoadError) -> SecretSeed {
        var reader = try MappingReader(node, context: context)
        let typeNode = try reader.required("type")
        guard let type = CredentialType(rawValue: try MappingReader.string(typeNode, "\(context).type")) else {
            throw ScenarioLoadError(typeNode.location, "\(context).type must be one of: \(CredentialType.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        var seed = SecretSeed(type: type)
        if let providerNode = reader.node("provider") {
            let provider = try MappingReader.string(providerNode, "\(context).provider")
            guard ProviderCatalog.descriptor(id: provider)?.kind == .managed else {
                throw ScenarioLoadError(providerNode.location, "\(context).provider: '\(provider)' is not a managed-secret API (known: \(ProviderCatalog.all.filter { $0.kind == .managed }.map(\.id).joined(separator: ", ")))")
            }
            seed.provider = provider
        }
        if let secretNode = reader.node("secret") {
            let secret = try MappingReader.string(secretNode, "\(context).secret")
            guard secret.count >= 8 else {
                throw ScenarioLoadError(secretNode.location, "\(context).secret must have at least 8 characters (shorter values cannot be searched for leaks reliably); leave it out to have one generated")
            }
            seed.secret = secret
        }
        seed.identifier = try reader.string("identifier")
        seed.header = try reader.string("header")
        seed.secondaryName = try reader.string("secondary_name")
        seed.region = try reader.string("region")
        seed.service = try reader.string("service")
        try reader.rejectUnknownKeys(allowed: ["type", "provider", "secret", "identifier", "header", "secondary_name", "region", "service"])
        return seed
    }

    // MARK: then

    static func parseThen(_ node: YAMLNode, bindings: Set<String>) throws(ScenarioLoadError) -> [ThenCheck] {
        var reader = try MappingReader(node, context: "then")
        var checks: [ThenCheck] = []
        if let journal = reader.node("provider_journal") {
            var map = try MappingReader(journal, context: "then.provider_journal")
            for key in map.keys {
                let patternNode = map.node(key)!
                // `google` is the app's calls (caller sdk); `google by vault|browser|sdk|anyone` filters by caller.
                let words = key.split(separator: " ").map(String.init)
                let provider = words.first ?? key
                var caller: String? = "sdk"
                if words.count == 3, words[1] == "by", ["sdk", "vault", "browser", "anyone"].contains(words[2]) {
                    caller = words[2] == "anyone" ? nil : words[2]
                } else if words.count != 1 {
                    throw ScenarioLoadError(patternNode.location, "then.provider_journal: '\(key)' must be a provider, or 'PROVIDER by CALLER' with CALLER one of sdk, vault, browser, anyone")
                }
                try requireKnownProvider(provider, at: patternNode.location)
                checks.append(ThenCheck(subject: .providerJournal(provider, caller: caller), pattern: try Pattern.parse(patternNode, bindings: bindings),
                                        location: patternNode.location))
            }
        }
        for (key, subject) in [("audit", ThenCheck.Subject.audit), ("token_requests", .tokenRequests), ("grants", .grants)] {
            guard let node = reader.node(key) else { continue }
            checks.append(ThenCheck(subject: subject, pattern: try Pattern.parse(node, bindings: bindings), location: node.location))
        }
        if let overrides = reader.node("sdk") {
            guard case .mapping(let pairs) = overrides.value, !pairs.isEmpty else {
                throw ScenarioLoadError(overrides.location, "then.sdk must map SDK version ranges to checks, such as \">=0.12\": {token_requests: [...]}")
            }
            for pair in pairs {
                guard case .success(let range) = SDKVersionRange.parse(pair.key) else {
                    if case .failure(let error) = SDKVersionRange.parse(pair.key) {
                        throw ScenarioLoadError(pair.keyLocation, "then.sdk: \(error.message) (write a range such as \">=0.12\")")
                    }
                    continue
                }
                var inner = try MappingReader(pair.value, context: "then.sdk[\"\(pair.key)\"]")
                if inner.node("sdk") != nil {
                    throw ScenarioLoadError(pair.value.location, "then.sdk[\"\(pair.key)\"] cannot hold another sdk")
                }
                checks += try parseThen(pair.value, bindings: bindings).map { check in
                    var check = check
                    check.sdkRange = range
                    return check
                }
            }
        }
        try reader.rejectUnknownKeys(allowed: ["provider_journal", "audit", "token_requests", "grants", "sdk"])
        return checks
    }

    static func requireKnownProvider(_ provider: String, at location: SourceLocation) throws(ScenarioLoadError) {
        guard ProviderCatalog.descriptor(id: provider) == nil else { return }
        throw ScenarioLoadError(location, "unknown provider '\(provider)' (known: \(ProviderCatalog.all.map(\.id).joined(separator: ", ")))")
    }

    // MARK: files

    static func expand(_ paths: [String], errors: inout [ScenarioLoadError]) -> [(file: String, root: String)] {
        let fm = FileManager.default
        var files: [(String, String)] = []
        for path in paths {
            var isDirectory: ObjCBool = false
            guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else {
                errors.append(ScenarioLoadError(SourceLocation(file: path, line: 0, column: 0), "no such file or folder"))
                continue
            }
            if !isDirectory.boolValue {
                // Only regular files: a device or a pipe (/dev/zero) would be read without end.
                guard isRegularFile(path) else {
                    errors.append(ScenarioLoadError(SourceLocation(file: path, line: 0, column: 0), "not a regular file"))
                    continue
                }
                files.append((path, URL(fileURLWithPath: path).deletingLastPathComponent().path))
                continue
            }
            let found = (fm.enumerator(atPath: path)?.compactMap { $0 as? String } ?? [])
                .filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }
                .sorted()
            if found.isEmpty {
                errors.append(ScenarioLoadError(SourceLocation(file: path, line: 0, column: 0), "no scenario files (*.yaml) in this folder"))
            }
            for file in found.map({ (path as NSString).appendingPathComponent($0) }) {
                guard isRegularFile(file) else {
                    errors.append(ScenarioLoadError(SourceLocation(file: file, line: 0, column: 0), "not a regular file"))
                    continue
                }
                files.append((file, path))
            }
        }
        return files
    }

    /// A regular file, following symbolic links (a device or a FIFO named .yaml is not).
    static func isRegularFile(_ path: String) -> Bool {
        let resolved = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        return (try? FileManager.default.attributesOfItem(atPath: resolved)[.type] as? FileAttributeType) == .typeRegular
    }

    static func defaultID(file: String, root: String) -> String {
        var relative = file.hasPrefix(root) ? String(file.dropFirst(root.count)) : (file as NSString).lastPathComponent
        while relative.hasPrefix("/") { relative.removeFirst() }
        for suffix in [".yaml", ".yml"] where relative.hasSuffix(suffix) { relative.removeLast(suffix.count) }
        return relative
    }
}
