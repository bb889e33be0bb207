import Foundation
import GRDB

extension VaultStore {
    /// The tables that grow with every request: the gateway's journal, the audit records and the
    /// `/sdk/token` journal. Nothing else refers to their rows.
    static let journalTables = (
        journal: Exchange.databaseTableName,
        audit: AuditRecord.databaseTableName,
        tokenRequests: TokenRequestRecord.databaseTableName
    )

    /// Deletes old journal rows, so a long-running `vaultsim serve` keeps a bounded database:
    /// every row received before `cutoff`, then all but the `limit` newest rows of each table.
    ///
    /// Age is `received_at`, which is the sandbox's virtual clock: pass a cutoff computed from
    /// `sandbox.clock.now`. "Newest" is arrival order (the row id), which is `received_at` order
    /// unless the clock was set back. One write transaction for the three tables.
    ///
    /// ```swift
    /// let pruned = try sandbox.store.prune(olderThan: sandbox.clock.now.addingTimeInterval(-7 * 86400),
    ///                                      keepingAtMost: 100_000)
    /// ```
    /// - Returns: how many rows were deleted from each table.
    @discardableResult
    public func prune(olderThan cutoff: Date, keepingAtMost limit: Int) throws -> (journal: Int, audit: Int, tokenRequests: Int) {
        try flushJournal()
        let limit = max(limit, 0)
        let tables = Self.journalTables
        return try writer.write { db in
            let journal = try Self.prune(tables.journal, in: db, olderThan: cutoff, keepingAtMost: limit)
            let audit = try Self.prune(tables.audit, in: db, olderThan: cutoff, keepingAtMost: limit)
            let tokenRequests = try Self.prune(tables.tokenRequests, in: db, olderThan: cutoff, keepingAtMost: limit)
            return (journal, audit, tokenRequests)
        }
    }

    /// `table` is one of `journalTables` (never user input).
    private static func prune(_ table: String, in db: Database, olderThan cutoff: Date, keepingAtMost limit: Int) throws -> Int {
        try db.execute(sql: "DELETE FROM \(table) WHERE received_at < ?", arguments: [cutoff])
        var deleted = db.changesCount
        // The id of the newest row beyond the limit, if there is one; it and all older rows go.
        try db.execute(sql: """
            DELETE FROM \(table) WHERE id <= (SELECT id FROM \(table) ORDER BY id DESC LIMIT 1 OFFSET ?)
            """, arguments: [limit])
        deleted += db.changesCount
        return deleted
    }
}
