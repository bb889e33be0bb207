import Foundation
import Testing
@testable import VaultSimCore

struct VaultStoreTests {
    @Test func listingPagesThroughActiveOAuthGrantsInCreationOrder() throws {
        let sandbox = try Sandbox.open(name: "t", store: VaultStore.inMemory())
        let ids = try (0..<5).map { try sandbox.seed(grant: GrantSeed(provider: $0 < 3 ? "google" : "github", account: "u\($0)")).id }
        try sandbox.seed(secret: SecretSeed(type: .bearer))
        _ = try sandbox.store.revoke(grantID: ids[1], reason: nil, at: Date())

        let page = try sandbox.store.activeOAuthGrants(providerID: nil, limit: 2, offset: 1)
        #expect(page.total == 4)
        #expect(page.grants.map(\.id) == [ids[2], ids[3]])
        let google = try sandbox.store.activeOAuthGrants(providerID: "google", limit: 10, offset: 0)
        #expect(google.grants.map(\.id) == [ids[0], ids[2]])
    }

    @Test func revokingAGrantRevokesItsTokens() throws {
        let sandbox = try Sandbox.open(name: "t", store: VaultStore.inMemory())
        let grant = try sandbox.seed(grant: GrantSeed(provider: "google"))
        #expect(try sandbox.store.usableAccessToken(grantID: grant.id, at: sandbox.clock.now) != nil)
        let revoked = try sandbox.store.revoke(grantID: grant.id, reason: "user", at: sandbox.clock.now)
        #expect(revoked?.status == .revoked)
        #expect(revoked?.revokeReason == "user")
        #expect(try sandbox.store.usableAccessToken(grantID: grant.id, at: sandbox.clock.now) == nil)
        #expect(try sandbox.store.refreshToken(grantID: grant.id) == nil)
    }

    @Test func accessTokensExpireOnTheVirtualClock() throws {
        let sandbox = try Sandbox.open(name: "t", store: VaultStore.inMemory())
        let grant = try sandbox.seed(grant: GrantSeed(provider: "google", tokenLifetime: 60))
        #expect(try sandbox.store.usableAccessToken(grantID: grant.id, at: sandbox.clock.now) != nil)
        sandbox.clock.advance(by: 61)
        #expect(try sandbox.store.usableAccessToken(grantID: grant.id, at: sandbox.clock.now) == nil)
    }

    @Test func fileStoreKeepsTheSandboxAcrossReopening() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("vaultsim-\(UUID().uuidString).sqlite").path
        defer { for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) } }
        let first = try Sandbox.open(name: "dev", store: VaultStore.file(at: path))
        let grant = try first.seed(grant: GrantSeed(provider: "google"))
        let again = try Sandbox.open(name: "ignored", store: VaultStore.file(at: path))
        #expect(again.id == first.id)
        #expect(again.apiKey == first.apiKey)
        #expect(again.name == "dev")
        #expect(try again.store.grant(id: grant.id) != nil)
        #expect(try again.store.writer.read { try String.fetchOne($0, sql: "PRAGMA journal_mode") } == "wal")
    }

    @Test func issuedSecretsNameEverySecretHandedOut() throws {
        let sandbox = try Sandbox.open(name: "t", store: VaultStore.inMemory())
        try sandbox.seed(grant: GrantSeed(provider: "google"))
        try sandbox.seed(secret: SecretSeed(type: .basic, secret: "hunter2-password", identifier: "svc"))
        let labels = try sandbox.issuedSecrets().map(\.label)
        #expect(labels.first == "the API key")
        #expect(labels.filter { $0.hasPrefix("access token") }.count == 1)
        #expect(labels.filter { $0.hasPrefix("refresh token") }.count == 1)
        let values = try sandbox.issuedSecrets().map(\.value)
        #expect(values.contains("hunter2-password"))
        #expect(values.contains(Data("svc:hunter2-password".utf8).base64EncodedString()))
    }
}
