import Foundation
import Testing
@testable import VaultSimCore

/// `vaultsim serve`'s database stays bounded: old journal, audit and token-request rows go.
struct RetentionTests {
    /// One row in each of the three journals, received at `date`.
    static func journalEverything(_ sandbox: Sandbox, at date: Date, tag: String) throws {
        try sandbox.store.append(exchange: Exchange(
            caller: .sdk, service: "google",
            request: .init(method: "GET", scheme: "https", host: "www.googleapis.com", path: "/\(tag)", query: "", headers: [:], body: Data()),
            response: .init(status: 200, body: Data("{}".utf8)), answeredBy: "provider", startedAt: Date(), seconds: 0, virtualTime: date))
        try sandbox.store.append(audit: AuditRecord(receivedAt: date, grantID: nil, callerInfo: CallerInfo(), payloadText: #"{"tag":"\#(tag)"}"#))
        try sandbox.store.append(tokenRequest: TokenRequestRecord(
            receivedAt: date, grantID: nil, providerID: "google", method: "GET", url: "https://x/\(tag)", reason: nil,
            callerInfo: CallerInfo(), outcome: "issued"))
    }

    @Test func rowsOlderThanTheCutoffAreDeletedFromAllThreeJournals() throws {
        let sandbox = try makeSandbox()
        let now = sandbox.clock.now
        for day in [10, 9, 8] { try Self.journalEverything(sandbox, at: now.addingTimeInterval(-Double(day) * 86400), tag: "old\(day)") }
        for hour in [3, 2, 1] { try Self.journalEverything(sandbox, at: now.addingTimeInterval(-Double(hour) * 3600), tag: "new\(hour)") }

        let pruned = try sandbox.store.prune(olderThan: now.addingTimeInterval(-7 * 86400), keepingAtMost: 1000)

        #expect(pruned.journal == 3)
        #expect(pruned.audit == 3)
        #expect(pruned.tokenRequests == 3)
        #expect(try sandbox.store.providerRequests().map(\.path) == ["/new3", "/new2", "/new1"])
        #expect(try sandbox.store.auditRecords().compactMap { $0.payload["tag"]?.stringValue } == ["new3", "new2", "new1"])
        #expect(try sandbox.store.tokenRequests().map(\.url) == ["https://x/new3", "https://x/new2", "https://x/new1"])
    }

    @Test func onlyTheNewestRowsAreKeptWhenThereAreTooMany() throws {
        let sandbox = try makeSandbox()
        let now = sandbox.clock.now
        for i in 0..<10 { try Self.journalEverything(sandbox, at: now.addingTimeInterval(Double(i)), tag: "r\(i)") }

        let pruned = try sandbox.store.prune(olderThan: .distantPast, keepingAtMost: 4)

        #expect(pruned.journal == 6)
        #expect(pruned.audit == 6)
        #expect(pruned.tokenRequests == 6)
        #expect(try sandbox.store.providerRequests().map(\.path) == ["/r6", "/r7", "/r8", "/r9"])
        #expect(try sandbox.store.auditRecords().count == 4)
        #expect(try sandbox.store.tokenRequests().map(\.url) == ["https://x/r6", "https://x/r7", "https://x/r8", "https://x/r9"])
    }

    @Test func pruningAStoreWithinItsLimitsDeletesNothing() throws {
        let sandbox = try makeSandbox()
        try Self.journalEverything(sandbox, at: sandbox.clock.now, tag: "only")
        let pruned = try sandbox.store.prune(olderThan: sandbox.clock.now.addingTimeInterval(-60), keepingAtMost: 10)
        #expect(pruned.journal == 0 && pruned.audit == 0 && pruned.tokenRequests == 0)
        #expect(try sandbox.store.providerRequests().count == 1)
    }
}
