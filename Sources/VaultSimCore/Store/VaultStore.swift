import Foundation
import GRDB
import Synchronization

/// The vault's persistent state for one sandbox, in SQLite through GRDB.
///
/// Runs use an in-memory database per sandbox; `vaultsim serve` uses a file database in WAL mode
/// with `synchronous=NORMAL` (see docs/architecture.md for why). All SQL lives in this type and
/// its extensions.
public final class VaultStore: Sendable {
    public let writer: any DatabaseWriter
    /// Token-request journal rows and `last_used_at` marks not written yet (see `append(tokenRequest:)`).
    private let pendingJournal = Mutex(PendingJournal())

    struct PendingJournal {
        var records: [TokenRequestRecord] = []
        var exchanges: [Exchange] = []
        var lastUsed: [String: Date] = [:]
    }

    /// How many token requests are journaled in one write.
    static let journalBatch = 64

    /// An in-memory store, for a sandbox of one run.
    public static func inMemory() throws -> VaultStore {
        try VaultStore(writer: DatabaseQueue(configuration: Self.configuration()))
    }

    /// A store in a file; created and migrated if needed.
    public static func file(at path: String) throws -> VaultStore {
        var configuration = Self.configuration()
        configuration.prepareDatabase { db in
            try db.execute(sql: "PRAGMA synchronous = NORMAL")
        }
        return try VaultStore(writer: DatabasePool(path: path, configuration: configuration))
    }

    private static func configuration() -> Configuration {
        var configuration = Configuration()
        configuration.foreignKeysEnabled = true
        configuration.label = "VaultStore"
        return configuration
    }

    init(writer: any DatabaseWriter) throws {
        self.writer = writer
        try Self.migrator.migrate(writer)
    }
}

// MARK: - Apps and keys

extension VaultStore {
    /// A value describing the sandbox this store belongs to (its id, name, development API key).
    public func meta(_ key: String) throws -> String? {
        try writer.read { try String.fetchOne($0, sql: "SELECT value FROM sandbox_meta WHERE key = ?", arguments: [key]) }
    }

    public func setMeta(_ key: String, _ value: String) throws {
        try writer.write {
            try $0.execute(sql: "INSERT OR REPLACE INTO sandbox_meta (key, value) VALUES (?, ?)", arguments: [key, value])
        }
    }

    public func insert(app: App) throws {
        try writer.write { try app.insert($0) }
    }

    public func apps() throws -> [App] {
        try writer.read { try App.fetchAll($0) }
    }

    public func insert(apiKey: APIKeyRecord) throws {
        try writer.write { try apiKey.insert($0) }
    }

    public func save(providerConfig: ProviderConfig) throws {
        try writer.write { try providerConfig.save($0) }
    }

    public func providerConfig(id: String) throws -> ProviderConfig? {
        try writer.read { try ProviderConfig.fetchOne($0, key: id) }
    }
}

// MARK: - Grants and credentials

extension VaultStore {
    public func insert(grant: Grant) throws {
        try writer.write { try grant.insert($0) }
    }

    public func grant(id: String) throws -> Grant? {
        try flushJournal()
        return try writer.read { try Grant.fetchOne($0, key: id) }
    }

    /// One page of the app's active OAuth grants, in the order they were made, and the total count.
    public func activeOAuthGrants(providerID: String?, limit: Int, offset: Int) throws -> (grants: [Grant], total: Int) {
        try oauthGrants(providerID: providerID, statuses: [.active], limit: limit, offset: offset)
    }

    /// One page of the app's OAuth grants in the given statuses, in the order they were made, and the total count.
    public func oauthGrants(providerID: String?, statuses: [Grant.Status], limit: Int, offset: Int) throws -> (grants: [Grant], total: Int) {
        try grants(kinds: [.oauth], providerID: providerID, statuses: statuses, limit: limit, offset: offset)
    }

    /// One page of grants of the given kinds, in creation order, with the count of all that match.
    public func grants(kinds: [Grant.Kind], providerID: String?, statuses: [Grant.Status], account: String? = nil,
                       limit: Int, offset: Int) throws -> (grants: [Grant], total: Int) {
        try flushJournal()
        return try writer.read { db in
            var request = Grant
                .filter(kinds.map(\.rawValue).contains(Column("kind")))
                .filter(statuses.map(\.rawValue).contains(Column("status")))
            if let providerID { request = request.filter(Column("provider_id") == providerID) }
            if let account { request = request.filter(Column("account_identifier") == account) }
            let total = try request.fetchCount(db)
            let page = try request.order(Column.rowID).limit(max(limit, 0), offset: max(offset, 0)).fetchAll(db)
            return (page, total)
        }
    }

    /// Records whose grant it is (identity mode resolves grants by the user's `sub`).
    public func setOwner(_ userSub: String?, grantID: String) throws -> Grant? {
        try writer.write { db in
            guard var grant = try Grant.fetchOne(db, key: grantID) else { return nil }
            grant.userSub = userSub
            try grant.update(db)
            return grant
        }
    }

    /// The grants of `providerID` that belong to the person `userSub`, newest first (every
    /// status: the token endpoint answers a revoked or expired one with its own error).
    public func grants(ofUser userSub: String, providerID: String, account: String?) throws -> [Grant] {
        try flushJournal()
        return try writer.read { db in
            var request = Grant.filter(Column("user_sub") == userSub).filter(Column("provider_id") == providerID)
            if let account { request = request.filter(Column("account_identifier") == account) }
            return try request.order(Column.rowID.desc).fetchAll(db)
        }
    }

    /// Marks the grant revoked at the vault. Returns the updated grant.
    public func revoke(grantID: String, reason: String?, at date: Date) throws -> Grant? {
        // A deleted grant stays deleted (it answers 410, not 403).
        if let grant = try grant(id: grantID), grant.status == .deleted { return grant }
        return try setStatus(.revoked, grantID: grantID, reason: reason, at: date)
    }

    /// Moves a grant to another status (revoked, credential_revoked, expired, deleted), with
    /// the reason and time; a deleted grant also loses its credential. Returns the updated grant.
    @discardableResult
    public func setStatus(_ status: Grant.Status, grantID: String, reason: String?, at date: Date) throws -> Grant? {
        try writer.write { db in
            guard var grant = try Grant.fetchOne(db, key: grantID) else { return nil }
            grant.status = status
            if status != .active {
                grant.revokedAt = date
                grant.revokeReason = reason
            }
            try grant.update(db)
            if status == .deleted { _ = try VaultCredential.deleteOne(db, key: grantID) }
            return grant
        }
    }

    /// Records an SDK's report that the provider refused a call for missing scopes; nil when
    /// there is no such grant.
    @discardableResult
    public func reportScopeMismatch(grantID: String, missingScopes: [String]?, at date: Date) throws -> Grant? {
        try writer.write { db in
            guard var grant = try Grant.fetchOne(db, key: grantID) else { return nil }
            grant.scopeMismatchReportedAt = date
            grant.reportedMissingScopesJSON = missingScopes.map(JSONValue.listText)
            try grant.update(db)
            return grant
        }
    }

    /// Every grant, oldest first (for `then.grants`).
    public func allGrants() throws -> [Grant] {
        try writer.read { try Grant.order(Column("created_at"), Column.rowID).fetchAll($0) }
    }

    public func insert(secret: ManagedSecret) throws {
        try writer.write { try secret.insert($0) }
    }

    public func managedSecret(grantID: String) throws -> ManagedSecret? {
        try writer.read { try ManagedSecret.fetchOne($0, key: grantID) }
    }

    /// The secrets of active managed-secret grants for one provider (what that API accepts).
    public func activeManagedSecrets(providerID: String) throws -> [ManagedSecret] {
        try writer.read { db in
            try ManagedSecret.fetchAll(db, sql: """
                SELECT managed_secrets.* FROM managed_secrets
                JOIN grants ON grants.id = managed_secrets.grant_id
                WHERE grants.provider_id = ? AND grants.status = 'active'
                """, arguments: [providerID])
        }
    }

    public func allManagedSecrets() throws -> [ManagedSecret] {
        try writer.read { try ManagedSecret.fetchAll($0) }
    }
}

// MARK: - Credentials

extension VaultStore {
    /// Everything `/sdk/token` needs about a grant, read in one transaction: the grant, the app's
    /// configuration of its provider, and the credential (OAuth) or secret (managed) it holds.
    public struct GrantContext: Sendable {
        public var grant: Grant
        public var config: ProviderConfig?
        public var credential: VaultCredential?
        public var secret: ManagedSecret?
        /// The app's policies, then the grant's own.
        public var policies: [AccessPolicy] = []
    }

    public func grantContext(id: String) throws -> GrantContext? {
        try writer.read { db in
            guard let grant = try Grant.fetchOne(db, key: id) else { return nil }
            let policies = try String.fetchAll(db, sql: "SELECT policy FROM policies WHERE grant_id IS NULL OR grant_id = ? ORDER BY grant_id IS NOT NULL, id",
                                               arguments: [id])
            return GrantContext(
                grant: grant, config: try ProviderConfig.fetchOne(db, key: grant.providerID),
                credential: grant.kind == .oauth ? try VaultCredential.fetchOne(db, key: id) : nil,
                secret: grant.kind == .managedSecret ? try ManagedSecret.fetchOne(db, key: id) : nil,
                policies: policies.compactMap { try? JSONDecoder().decode(AccessPolicy.self, from: Data($0.utf8)) })
        }
    }

    /// Adds a policy for the whole app (`grantID` nil) or for one grant.
    public func add(policy: AccessPolicy, grantID: String? = nil) throws {
        let text = String(decoding: try JSONEncoder().encode(policy), as: UTF8.self)
        try writer.write { db in
            try db.execute(sql: "INSERT INTO policies (grant_id, policy) VALUES (?, ?)", arguments: [grantID, text])
        }
    }

    /// When this grant's credential was handed out since `date` (for rate limits).
    public func handouts(grantID: String, since date: Date) throws -> [Date] {
        try flushJournal()
        return try writer.read { db in
            try Date.fetchAll(db, sql: """
                SELECT received_at FROM token_requests
                WHERE grant_id = ? AND received_at > ? AND outcome IN ('issued', 'refreshed', 'proxied')
                """, arguments: [grantID, date])
        }
    }

    public func save(credential: VaultCredential) throws {
        try writer.write { try credential.save($0) }
    }

    public func credential(grantID: String) throws -> VaultCredential? {
        try writer.read { try VaultCredential.fetchOne($0, key: grantID) }
    }

    /// A new grant with the credential the provider's code exchange returned, in one transaction.
    public func insert(grant: Grant, credential: VaultCredential) throws {
        try writer.write { db in
            try grant.insert(db)
            try credential.insert(db)
        }
    }

    /// The grant a new authorization of this account replaces: its newest OAuth grant at the
    /// provider that was not deleted.
    public func reconnectableGrant(providerID: String, accountIdentifier: String) throws -> Grant? {
        try writer.read { db in
            try Grant.filter(Column("kind") == Grant.Kind.oauth.rawValue && Column("provider_id") == providerID
                && Column("account_identifier") == accountIdentifier && Column("status") != Grant.Status.deleted.rawValue)
                .order(Column("created_at").desc, Column.rowID.desc).fetchOne(db)
        }
    }

    /// A reconnect: the grant keeps its id, takes the new scopes and credential, and is active;
    /// a reported scope mismatch is cleared.
    public func update(grant: Grant, credential: VaultCredential) throws {
        try writer.write { db in
            var grant = grant
            grant.status = .active
            grant.revokedAt = nil
            grant.scopeMismatchReportedAt = nil
            grant.reportedMissingScopesJSON = nil
            try grant.update(db)
            try credential.save(db)
        }
    }

    public func allCredentials() throws -> [VaultCredential] {
        try writer.read { try VaultCredential.fetchAll($0) }
    }

    public func allProviderConfigs() throws -> [ProviderConfig] {
        try writer.read { try ProviderConfig.fetchAll($0) }
    }
}

// MARK: - Actors, journals and audit

extension VaultStore {
    /// The actor id for a caller, created on first sight.
    public func actorID(caller: String, callerType: String, at date: Date) throws -> String {
        try writer.write { db in
            if let existing = try ActorRecord
                .filter(Column("caller") == caller && Column("caller_type") == callerType)
                .fetchOne(db)
            {
                return existing.id
            }
            let actor = ActorRecord(id: SecretGenerator.uuid(), caller: caller, callerType: callerType, firstSeenAt: date)
            try actor.insert(db)
            return actor.id
        }
    }

    public func append(audit record: AuditRecord) throws {
        var record = record
        try writer.write { try record.insert($0) }
    }

    public func auditRecords() throws -> [AuditRecord] {
        try writer.read { try AuditRecord.order(Column("id")).fetchAll($0) }
    }

    /// Journals a token request and, when it handed out a credential, marks the grant used. The
    /// rows are written in batches, off most requests' path (`/sdk/token` then costs one read
    /// transaction); every read of the journal or of a grant's `last_used_at` writes the batch first.
    public func append(tokenRequest record: TokenRequestRecord, touching grantID: String? = nil) throws {
        try pendingJournal.withLock { pending in
            pending.records.append(record)
            if let grantID { pending.lastUsed[grantID] = max(pending.lastUsed[grantID] ?? record.receivedAt, record.receivedAt) }
            if pending.records.count >= Self.journalBatch { try write(&pending) }
        }
    }

    /// Writes the journal rows not written yet (a no-op when there are none).
    public func flushJournal() throws {
        try pendingJournal.withLock { try write(&$0) }
    }

    /// Called with the lock held, so batches reach the table in the order they were journaled.
    private func write(_ pending: inout PendingJournal) throws {
        guard !pending.records.isEmpty || !pending.lastUsed.isEmpty || !pending.exchanges.isEmpty else { return }
        let batch = pending
        try writer.write { db in
            for var record in batch.records { try record.insert(db) }
            for var exchange in batch.exchanges { try exchange.insert(db) }
            for (grantID, date) in batch.lastUsed {
                _ = try Grant.filter(key: grantID).updateAll(db, Column("last_used_at").set(to: date))
            }
        }
        pending = PendingJournal()
    }

    public func tokenRequests() throws -> [TokenRequestRecord] {
        try flushJournal()
        return try writer.read { try TokenRequestRecord.order(Column("id")).fetchAll($0) }
    }

    /// Journals an exchange (an SDK's call to the vault, or any call to a fake provider). Written
    /// in batches like the token-request journal; every read writes the batch first.
    public func append(exchange: Exchange) throws {
        try pendingJournal.withLock { pending in
            pending.exchanges.append(exchange)
            if pending.exchanges.count >= Self.journalBatch { try write(&pending) }
        }
    }

    /// Every exchange journaled, in the order they arrived; optionally of one service (`vault`,
    /// a provider id), one caller (`sdk`, `vault`, `browser`), and those after the row `afterID`.
    public func exchanges(service: String? = nil, caller: String? = nil, afterID: Int64? = nil) throws -> [Exchange] {
        try flushJournal()
        return try writer.read { db in
            var request = Exchange.order(Column("id"))
            if let afterID { request = request.filter(Column("id") > afterID) }
            if let service { request = request.filter(Column("service") == service) }
            if let caller { request = request.filter(Column("caller") == caller) }
            return try request.fetchAll(db)
        }
    }

    /// The row id of the newest exchange journaled (nil: none yet).
    public func lastExchangeID() throws -> Int64? {
        try flushJournal()
        return try writer.read { db in try Int64.fetchOne(db, sql: "SELECT MAX(id) FROM exchanges") }
    }

    /// The gateway's journal (calls to fake providers), optionally of one provider and one caller.
    public func providerRequests(providerID: String? = nil, caller: String? = nil) throws -> [Exchange] {
        try flushJournal()
        return try writer.read { db in
            var request = Exchange.filter(Column("service") != "vault").order(Column("id"))
            if let providerID { request = request.filter(Column("service") == providerID) }
            if let caller { request = request.filter(Column("caller") == caller) }
            return try request.fetchAll(db)
        }
    }
}
