import Foundation
import Testing
@testable import VaultSimCore

/// A sandbox with in-memory databases, and an OAuth grant stored as a code exchange stores it.
func makeSandbox(_ name: String = "t") throws -> Sandbox {
    try Sandbox.open(name: name, store: VaultStore.inMemory(), providerDatabase: Sandbox.inMemoryProviderDatabase())
}

@discardableResult
func storeGrant(_ sandbox: Sandbox, provider: String = "google", account: String = "a@example.com", expiresIn: TimeInterval? = 3600,
                refreshToken: String? = "1//refresh-token-value") throws -> Grant {
    let now = sandbox.clock.now
    let grant = Grant(kind: .oauth, providerID: provider, accountIdentifier: account, scopes: ["s1"], createdAt: now)
    try sandbox.store.insert(grant: grant, credential: VaultCredential(
        grantID: grant.id, accessToken: "ya29.access-\(UUID().uuidString)", refreshToken: refreshToken, tokenType: "Bearer",
        scopes: ["s1"], expiresAt: expiresIn.map { now.addingTimeInterval($0) }, obtainedAt: now))
    return grant
}

struct VaultStoreTests {
    @Test func listingPagesThroughActiveOAuthGrantsInCreationOrder() throws {
        let sandbox = try makeSandbox()
        let ids = try (0..<5).map { try storeGrant(sandbox, provider: $0 < 3 ? "google" : "github", account: "u\($0)").id }
        try sandbox.seed(secret: SecretSeed(type: .bearer))
        _ = try sandbox.store.revoke(grantID: ids[1], reason: nil, at: Date())

        let page = try sandbox.store.activeOAuthGrants(providerID: nil, limit: 2, offset: 1)
        #expect(page.total == 4)
        #expect(page.grants.map(\.id) == [ids[2], ids[3]])
        let google = try sandbox.store.activeOAuthGrants(providerID: "google", limit: 10, offset: 0)
        #expect(google.grants.map(\.id) == [ids[0], ids[2]])
    }

    @Test func revokingAGrantAtTheVaultMarksItAndKeepsTheReason() throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox)
        let revoked = try sandbox.store.revoke(grantID: grant.id, reason: "user", at: sandbox.clock.now)
        #expect(revoked?.status == .revoked)
        #expect(revoked?.revokeReason == "user")
        #expect(try sandbox.store.grantContext(id: grant.id)?.grant.isActive == false)
    }

    @Test func oneReadGivesTheGrantItsConfigAndItsCredential() throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox)
        let context = try #require(try sandbox.store.grantContext(id: grant.id))
        #expect(context.config?.clientID?.hasSuffix(".apps.googleusercontent.com") == true)
        #expect(context.credential?.refreshToken == "1//refresh-token-value")
        #expect(context.secret == nil)
        #expect(try sandbox.store.grantContext(id: "nope") == nil)
    }

    @Test func fileStoreKeepsTheSandboxAcrossReopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-\(UUID().uuidString).sqlite").path
        defer { for file in [path, path + ".providers"] { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: file + suffix) } } }
        let first = try Sandbox.open(name: "dev", store: VaultStore.file(at: path), providerDatabase: Sandbox.fileProviderDatabase(at: path + ".providers"))
        let grant = try storeGrant(first)
        let again = try Sandbox.open(name: "ignored", store: VaultStore.file(at: path), providerDatabase: Sandbox.fileProviderDatabase(at: path + ".providers"))
        #expect(again.id == first.id)
        #expect(again.apiKey == first.apiKey)
        #expect(again.name == "dev")
        #expect(try again.store.credential(grantID: grant.id)?.accessToken == (try first.store.credential(grantID: grant.id)?.accessToken))
        #expect(try again.store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test func issuedSecretsNameEverySecretTheVaultHolds() throws {
        let sandbox = try makeSandbox()
        try storeGrant(sandbox)
        try sandbox.seed(secret: SecretSeed(type: .basic, secret: "hunter2-password", identifier: "svc"))
        let labels = try sandbox.issuedSecrets().map(\.label)
        #expect(labels.first == "the API key")
        #expect(labels.filter { $0.hasPrefix("access token") }.count == 1)
        #expect(labels.filter { $0.hasPrefix("refresh token") }.count == 1)
        let values = try sandbox.issuedSecrets().map(\.value)
        #expect(values.contains("hunter2-password"))
        #expect(values.contains("1//refresh-token-value"))
        #expect(values.contains(Data("svc:hunter2-password".utf8).base64EncodedString()))
    }

    @Test func tokenRequestsAreWrittenInBatchesAndEveryReadSeesThemAll() throws {
        let sandbox = try makeSandbox()
        let grant = try storeGrant(sandbox)
        let start = sandbox.clock.now
        func journal(_ n: Int) throws {
            try sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: start.addingTimeInterval(TimeInterval(n)), grantID: grant.id, providerID: "google", method: "GET",
                url: "https://x/\(n)", reason: nil, callerInfo: CallerInfo(), outcome: "issued"), touching: grant.id)
        }
        let rows = { try sandbox.store.writer.read { try Int.fetchOne($0, sql: "SELECT COUNT(*) FROM token_requests") ?? -1 } }
        for n in 0..<3 { try journal(n) }
        #expect(try rows() == 0)   // not yet written: off the request path
        #expect(try sandbox.store.tokenRequests().map(\.url) == ["https://x/0", "https://x/1", "https://x/2"])
        #expect(try rows() == 3)
        let lastUsed = try #require(try sandbox.store.grant(id: grant.id)?.lastUsedAt)
        #expect(abs(lastUsed.timeIntervalSince(start.addingTimeInterval(2))) < 0.01)   // the store keeps milliseconds
        for n in 3..<(3 + VaultStore.journalBatch) { try journal(n) }
        #expect(try rows() == 3 + VaultStore.journalBatch)   // a full batch is written at once
    }
}
