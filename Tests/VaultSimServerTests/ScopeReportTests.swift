import Foundation
import HTTPTypes
import Testing
import VaultSimCore
@testable import VaultSimServer

/// `POST /sdk/grants/{id}/report-scope-mismatch`: the body the App generation sends, what the
/// vault does with it (the grant is flagged until it is authorized again), and each refusal.
struct ScopeReportTests {
    let vault: TestVault
    var sandbox: Sandbox { vault.sandbox }

    init() async throws { vault = try await TestVault.make() }

    func post(_ path: String, _ body: String) async throws -> (Int, JSONValue, HTTPFields) {
        try await vault.send(.post, path, headers: SDKRoutesTests.signed(path, body: body, apiKey: sandbox.apiKey), body: body)
    }

    /// The body alter-sdk 0.29.0 sends, keys in its order.
    static func report(missing: String = "null", source: String = "www_authenticate_rfc6750") -> String {
        #"{"provider_status_code":403,"provider_error_code":"insufficient_scope","missing_scopes":\#(missing),"#
            + #""raw_www_authenticate":"Bearer error=\"insufficient_scope\"","api_endpoint":"https://www.googleapis.com/calendar/v3/calendars/primary/events","#
            + #""detection_source":"\#(source)","sdk_correlation_id":"c0rr3l4t10n"}"#
    }

    func tokenMismatch(_ grant: Grant) async throws -> JSONValue? {
        let (status, json, _) = try await post("/sdk/token", #"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://x"}}"#)
        #expect(status == 200)
        return json["scope_mismatch"]
    }

    /// A grant with a fresh credential, written straight to the store: no provider call, so the
    /// test does not wait on the shared server's provider traffic.
    func grantWithFreshToken() throws -> Grant {
        let now = sandbox.clock.now
        let grant = Grant(kind: .oauth, providerID: "google", accountIdentifier: "a@example.com", scopes: ["s1"], createdAt: now)
        try sandbox.store.insert(grant: grant, credential: credential(grant, scopes: ["s1"]))
        return grant
    }

    func credential(_ grant: Grant, scopes: [String]) -> VaultCredential {
        VaultCredential(grantID: grant.id, accessToken: "ya29.test-" + SecretGenerator.token(16), refreshToken: nil, tokenType: "Bearer",
                        scopes: scopes, expiresAt: sandbox.clock.now.addingTimeInterval(3600), obtainedAt: sandbox.clock.now)
    }

    @Test func aReportFlagsTheGrantUntilItIsAuthorizedAgain() async throws {
        let grant = try grantWithFreshToken()
        #expect(try await tokenMismatch(grant) == false)
        let (status, json, headers) = try await post("/sdk/grants/\(grant.id)/report-scope-mismatch", Self.report(missing: #"["s2"]"#))
        #expect(status == 204)
        #expect(json == .null)
        #expect(headers[.contentType] == nil)
        #expect(try sandbox.store.grant(id: grant.id)?.json["reported_missing_scopes"] == ["s2"])
        #expect(try await tokenMismatch(grant) == true)
        let (_, list, _) = try await post("/sdk/grants/list", "{}")
        #expect(list["grants"]?.arrayValue?.first?["scope_mismatch"] == true)
        // The user authorizes the same account again (the reconnect write): the flag is gone.
        let flagged = try #require(try sandbox.store.grant(id: grant.id))
        try sandbox.store.update(grant: flagged, credential: credential(grant, scopes: ["s1", "s2"]))
        #expect(try sandbox.store.grant(id: grant.id)?.scopeMismatchReportedAt == nil)
        #expect(try await tokenMismatch(grant) == false)
    }

    @Test(arguments: [
        (ScopeReportTests.report(source: "provider_specific"), "detection_source"),
        (ScopeReportTests.report(missing: "[" + Array(repeating: #""s""#, count: 51).joined(separator: ",") + "]"), "missing_scopes"),
        (ScopeReportTests.report(missing: "[1]"), "missing_scopes"),
        (#"{"provider_error_code":"insufficient_scope","api_endpoint":"x","detection_source":"www_authenticate_rfc6750"}"#, "provider_status_code"),
        (ScopeReportTests.report().replacingOccurrences(of: #""api_endpoint":"https"#, with: #""api_endpoint":7,"x":"https"#), "api_endpoint"),
    ])
    func aMalformedReportIsA422NamingTheField(body: String, field: String) async throws {
        let grant = try grantWithFreshToken()
        let (status, json, _) = try await post("/sdk/grants/\(grant.id)/report-scope-mismatch", body)
        #expect(status == 422)
        #expect(json["detail"]?["message"]?.stringValue?.contains(field) == true)
        #expect(try sandbox.store.grant(id: grant.id)?.scopeMismatchReportedAt == nil)
    }

    @Test func aReportOnAnUnknownGrantIsA404() async throws {
        let (status, json, _) = try await post("/sdk/grants/00000000-0000-4000-8000-000000000000/report-scope-mismatch", Self.report())
        #expect(status == 404)
        #expect(json["detail"]?["error"] == "grant_not_found")
    }
}
