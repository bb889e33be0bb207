import Foundation
import GRDB

/// A Connect session (`POST /sdk/oauth/connect/session`): the hosted pages a user opens to
/// connect accounts, and what the app's poll sees. It lives `ConnectService.sessionLifetime`
/// seconds on the sandbox clock; a session still pending after that is expired.
public struct ConnectSession: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "connect_sessions"

    /// What is stored; `expired` is never stored, it is a pending session past its time.
    public enum Status: String, Codable, Sendable {
        case pending, completed, error, expired
    }

    public var token: String
    /// Provider ids the user may connect (JSON array); nil: every provider the app configured.
    public var allowedProvidersJSON: String?
    public var returnURL: String?
    public var allowedOrigin: String?
    public var metadataJSON: String?
    /// `{max_ttl_seconds, default_ttl_seconds}` as the app sent it (JSON object).
    public var grantPolicyJSON: String?
    /// Provider id → scopes to ask for instead of the app's allowlist (JSON object).
    public var requiredScopesJSON: String?
    public var createdAt: Date
    public var expiresAt: Date
    public var status: Status
    public var errorCode: String?
    public var errorMessage: String?
    /// The connections made so far (JSON array of `ConnectResultRecord`).
    public var resultsJSON: String = "[]"
    /// When a browser first opened the hosted page.
    public var openedAt: Date?
    /// A repair session (`repair_grant_id`, alter-sdk 0.23.3+): the grant whose credential the
    /// authorization replaces.
    public var repairGrantID: String?
    /// The popup flow through the Connect widget (`@alter-ai/connect`): the origin of the page
    /// that opened the hosted page, accepted when it matches `allowedOrigin` or the app's
    /// origins. The hosted pages post to `allowedOrigin` when set, else to this.
    public var popupOrigin: String?

    /// Where the hosted pages post their events and outcome: nowhere without a known origin.
    public var messageOrigin: String? { allowedOrigin ?? popupOrigin }

    public init(token: String, allowedProviders: [String]?, returnURL: String?, allowedOrigin: String?, metadata: JSONValue?,
                grantPolicy: ConnectGrantPolicy?, requiredScopes: [String: [String]]?, createdAt: Date, expiresAt: Date) {
        self.token = token
        self.allowedProvidersJSON = allowedProviders.map(JSONValue.listText)
        self.returnURL = returnURL
        self.allowedOrigin = allowedOrigin
        self.metadataJSON = metadata?.jsonText
        self.grantPolicyJSON = grantPolicy?.json.jsonText
        self.requiredScopesJSON = requiredScopes.map { scopes in
            JSONValue.object(scopes.mapValues { .array($0.map(JSONValue.string)) }).jsonText
        }
        self.createdAt = createdAt
        self.expiresAt = expiresAt
        self.status = .pending
    }

    public var allowedProviders: [String]? { allowedProvidersJSON.map(JSONValue.list(fromText:)) }

    public var grantPolicy: ConnectGrantPolicy? {
        grantPolicyJSON.flatMap(JSONValue.parse).map { ConnectGrantPolicy(json: $0) }
    }

    public var requiredScopes: [String: [String]] {
        guard let object = requiredScopesJSON.flatMap(JSONValue.parse)?.objectValue else { return [:] }
        var scopes: [String: [String]] = [:]
        for (provider, list) in object { scopes[provider] = (list.arrayValue ?? []).compactMap(\.stringValue) }
        return scopes
    }

    public var results: [ConnectResultRecord] {
        get { (try? JSONDecoder().decode([ConnectResultRecord].self, from: Data(resultsJSON.utf8))) ?? [] }
        set { resultsJSON = (try? String(decoding: JSONEncoder().encode(newValue), as: UTF8.self)) ?? "[]" }
    }

    /// The status the app's poll sees at `now`.
    public func status(at now: Date) -> Status {
        status == .pending && now >= expiresAt ? .expired : status
    }

    enum CodingKeys: String, CodingKey {
        case token = "session_token"
        case allowedProvidersJSON = "allowed_providers"
        case returnURL = "return_url"
        case allowedOrigin = "allowed_origin"
        case metadataJSON = "metadata"
        case grantPolicyJSON = "grant_policy"
        case requiredScopesJSON = "required_scopes"
        case createdAt = "created_at"
        case expiresAt = "expires_at"
        case status
        case errorCode = "error_code"
        case errorMessage = "error_message"
        case resultsJSON = "results"
        case openedAt = "opened_at"
        case repairGrantID = "repair_grant_id"
        case popupOrigin = "popup_origin"
    }
}

/// The grant TTL bounds an app puts on a Connect session: the longest duration a user may pick,
/// and the one picked for them.
public struct ConnectGrantPolicy: Sendable, Equatable {
    public var maxTTLSeconds: Int?
    public var defaultTTLSeconds: Int?

    /// The longest grant TTL VaultSim accepts (ten years).
    public static let ttlRange = 60...(10 * 365 * 86400)

    public init(maxTTLSeconds: Int?, defaultTTLSeconds: Int?) {
        self.maxTTLSeconds = maxTTLSeconds
        self.defaultTTLSeconds = defaultTTLSeconds
    }

    init(json: JSONValue) {
        maxTTLSeconds = json["max_ttl_seconds"]?.intValue
        defaultTTLSeconds = json["default_ttl_seconds"]?.intValue
    }

    var json: JSONValue {
        var members: [String: JSONValue] = [:]
        if let maxTTLSeconds { members["max_ttl_seconds"] = .number(Double(maxTTLSeconds)) }
        if let defaultTTLSeconds { members["default_ttl_seconds"] = .number(Double(defaultTTLSeconds)) }
        return .object(members)
    }

    /// The durations the hosted page offers (seconds), longest last; empty when the user has no
    /// choice (no `max_ttl_seconds`).
    public var choices: [Int] {
        guard let maxTTLSeconds else { return [] }
        let common = [3600, 86400, 7 * 86400, 30 * 86400, 90 * 86400, 365 * 86400].filter { $0 < maxTTLSeconds }
        return Array(Set(common + [maxTTLSeconds] + (defaultTTLSeconds.map { [$0] } ?? []))).sorted()
    }

    /// The duration selected before the user picks one.
    public var preselected: Int? { defaultTTLSeconds ?? maxTTLSeconds }
}

/// One connection a Connect session made, as the poll reports it.
public struct ConnectResultRecord: Codable, Sendable, Equatable {
    public var grantID: String
    public var providerID: String
    public var accountIdentifier: String?
    public var scopes: [String]
    /// Set when the grant has a TTL: when it ends, who chose it (`developer` or `end_user`), when.
    public var policyExpiresAt: Date?
    public var policyCreatedBy: String?
    public var policyCreatedAt: Date?
    /// `creation` or `reauth` (an existing grant authorized again); nil in records from before it.
    public var operation: String?
    /// When the grant was made or authorized again (sandbox clock); nil in records from before it.
    public var connectedAt: Date?

    public init(grantID: String, providerID: String, accountIdentifier: String?, scopes: [String], policyExpiresAt: Date? = nil,
                policyCreatedBy: String? = nil, policyCreatedAt: Date? = nil, operation: String? = nil, connectedAt: Date? = nil) {
        self.operation = operation
        self.connectedAt = connectedAt
        self.grantID = grantID
        self.providerID = providerID
        self.accountIdentifier = accountIdentifier
        self.scopes = scopes
        self.policyExpiresAt = policyExpiresAt
        self.policyCreatedBy = policyCreatedBy
        self.policyCreatedAt = policyCreatedAt
    }
}

/// One provider authorization started from a Connect session: the `state` sent to the provider
/// and what the vault needs when the provider redirects back.
public struct ConnectFlow: Codable, Sendable, Equatable, FetchableRecord, PersistableRecord {
    public static let databaseTableName = "connect_flows"
    public var state: String
    public var sessionToken: String
    public var providerID: String
    public var codeVerifier: String?
    public var scopesJSON: String
    public var ttlSeconds: Int?
    /// `developer` (the session's default) or `end_user` (picked on the page).
    public var ttlChosenBy: String?
    public var createdAt: Date
    public var finishedAt: Date?

    public var scopes: [String] { JSONValue.list(fromText: scopesJSON) }

    enum CodingKeys: String, CodingKey {
        case state
        case sessionToken = "session_token"
        case providerID = "provider_id"
        case codeVerifier = "code_verifier"
        case scopesJSON = "scopes"
        case ttlSeconds = "ttl_seconds"
        case ttlChosenBy = "ttl_chosen_by"
        case createdAt = "created_at"
        case finishedAt = "finished_at"
    }
}

extension VaultStore {
    public func insert(connectSession session: ConnectSession) throws {
        try writer.write { try session.insert($0) }
    }

    public func connectSession(token: String) throws -> ConnectSession? {
        try writer.read { try ConnectSession.fetchOne($0, key: token) }
    }

    public func save(connectSession session: ConnectSession) throws {
        try writer.write { try session.save($0) }
    }

    /// Sessions newest first.
    public func connectSessions(limit: Int = 100) throws -> [ConnectSession] {
        try writer.read { db in
            try ConnectSession.order(Column("created_at").desc, Column.rowID.desc).limit(max(limit, 0)).fetchAll(db)
        }
    }

    public func insert(connectFlow flow: ConnectFlow) throws {
        try writer.write { try flow.insert($0) }
    }

    public func connectFlow(state: String) throws -> ConnectFlow? {
        try writer.read { try ConnectFlow.fetchOne($0, key: state) }
    }

    /// Marks a flow finished; false when it already was (a replayed callback).
    public func finish(connectFlow state: String, at date: Date) throws -> Bool {
        try writer.write { db in
            try ConnectFlow.filter(Column("state") == state && Column("finished_at") == nil)
                .updateAll(db, Column("finished_at").set(to: date)) == 1
        }
    }
}
