import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Logging
import Testing
import VaultSimCore
import VaultSimProviders
@testable import VaultSimServer

/// The `/sdk/*` endpoints in-process: signatures, the error envelope, token responses.
struct SDKRoutesTests {
    let vault: TestVault
    var registry: SandboxRegistry { vault.registry }
    var sandbox: Sandbox { vault.sandbox }

    init() async throws { vault = try await TestVault.make() }

    /// Headers the way alter-sdk 0.11.0 signs a call.
    static func signed(_ path: String, body: String, apiKey: String, caller: String? = nil,
                       timestamp: Int = Int(Date().timeIntervalSince1970)) -> HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        fields[HTTPField.Name("x-api-key")!] = apiKey
        if let caller {
            fields[HTTPField.Name("X-Alter-Caller")!] = caller
            fields[HTTPField.Name("X-Alter-Caller-Type")!] = "agent"
        }
        let signature = RequestSigning.sign(method: "POST", path: path, body: Data(body.utf8), apiKey: apiKey, timestamp: timestamp,
                                            nonce: SecretGenerator.token(32).lowercased())
        for (name, value) in signature { fields[HTTPField.Name(name)!] = value }
        return fields
    }

    func post(_ path: String, _ body: String, headers: HTTPFields? = nil, caller: String? = nil) async throws -> (Int, JSONValue, HTTPFields) {
        try await vault.send(.post, path, headers: headers ?? Self.signed(path, body: body, apiKey: sandbox.apiKey, caller: caller), body: body)
    }

    @Test func tokenForAnOAuthGrantCarriesBearerInjectionAndMetadata() async throws {
        let grant = try await vault.seed(GrantSeed(provider: "google", account: "a@example.com", scopes: ["s1"]))
        let body = #"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://x"}}"#
        let (status, json, headers) = try await post("/sdk/token", body, caller: "agent-1")
        #expect(status == 200)
        #expect(json["access_token"]?.stringValue?.hasPrefix("ya29.") == true)
        #expect(json["grant_id"] == .string(grant.id))
        #expect(json["provider_id"] == "google")
        #expect(json["injection_header"] == "Authorization")
        #expect(json["injection_format"] == "Bearer {token}")
        #expect(json["scopes"] == ["s1"])
        #expect(json["expires_in"]?.intValue.map { $0 > 3500 } == true)
        #expect(headers[HTTPField.Name("X-Alter-Actor-ID")!]?.count == 36)
        let record = try sandbox.store.tokenRequests().last
        #expect(record?.caller == "agent-1")
        #expect(record?.outcome == "issued")
    }

    @Test func unknownGrantIsA404InTheFastAPIEnvelope() async throws {
        let (status, json, _) = try await post("/sdk/token", #"{"grant_id":"nope","reason":null,"request":{"method":"GET","url":"https://x"}}"#)
        #expect(status == 404)
        #expect(json["detail"]?["error"] == "grant_not_found")
        #expect(json["detail"]?["message"] == "OAuth grant not found: this app has no grant 'nope'")
        #expect(json["detail"]?["details"]?["grant_id"] == "nope")
    }

    @Test func forgedSignatureIsA401() async throws {
        var headers = Self.signed("/sdk/token", body: "{}", apiKey: sandbox.apiKey)
        headers[HTTPField.Name("X-Alter-Signature")!] = String(repeating: "0", count: 64)
        let (status, json, _) = try await post("/sdk/token", "{}", headers: headers)
        #expect(status == 401)
        #expect(json["detail"]?["error"] == "invalid_signature")
    }

    @Test func staleTimestampIsA401() async throws {
        let headers = Self.signed("/sdk/oauth/grants/list", body: "{}", apiKey: sandbox.apiKey, timestamp: Int(Date().timeIntervalSince1970) - 900)
        let (status, json, _) = try await post("/sdk/oauth/grants/list", "{}", headers: headers)
        #expect(status == 401)
        #expect(json["detail"]?["error"] == "stale_timestamp")
    }

    @Test func replayedRequestIsA401() async throws {
        let headers = Self.signed("/sdk/oauth/grants/list", body: "{}", apiKey: sandbox.apiKey)
        let first = try await post("/sdk/oauth/grants/list", "{}", headers: headers)
        let second = try await post("/sdk/oauth/grants/list", "{}", headers: headers)
        #expect(first.0 == 200)
        #expect(second.0 == 401)
        #expect(second.1["detail"]?["error"] == "replayed_nonce")
    }

    @Test func unknownAPIKeyIsA401() async throws {
        let other = SecretGenerator.apiKey()
        let (status, json, _) = try await post("/sdk/oauth/grants/list", "{}", headers: Self.signed("/sdk/oauth/grants/list", body: "{}", apiKey: other))
        #expect(status == 401)
        #expect(json["detail"]?["error"] == "invalid_key")
        // A hint a developer can act on, naming the key by its first characters only.
        let hint = json["detail"]?["hint"]?.stringValue ?? ""
        #expect(hint.contains(String(other.prefix(14))) && hint.contains("vaultsim serve"), "\(json)")
        #expect(!hint.contains(other))
    }

    @Test func sandboxesDoNotSeeEachOthersGrants() async throws {
        let other = try vault.server.createSandbox(name: "other")
        let grant = try await vault.seed(GrantSeed(provider: "google"), in: other)
        let (status, _, _) = try await post("/sdk/token", #"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://x"}}"#)
        #expect(status == 404)
    }

    @Test func managedSecretTokenCarriesItsInjectionRules() async throws {
        let grant = try sandbox.seed(secret: SecretSeed(type: .apiKeyQuery, secret: "sk_test_1234567890", secondaryName: "key"))
        let (status, json, _) = try await post("/sdk/token", #"{"grant_id":"\#(grant.id)","reason":null,"request":{"method":"GET","url":"https://x"}}"#)
        #expect(status == 200)
        // The marker header carries the type; the key travels only in the query rule (a shape
        // every generation accepts: 0.22+ refuse a format without {token}).
        #expect(json["access_token"] == "api_key_query")
        #expect(json["injection_header"] == "X-Credential-Type")
        #expect(json["injection_format"] == "{token}")
        #expect(json["additional_credentials"] == ["api_key": "sk_test_1234567890"])
        #expect(json["additional_injections"] == [["target": "query_param", "key": "key", "value_source": "additional_credentials.api_key"]])
    }

    @Test func invalidListLimitIsA422() async throws {
        let body = #"{"provider_id":null,"limit":0,"offset":0}"#
        let (status, json, _) = try await post("/sdk/oauth/grants/list", body)
        #expect(status == 422)
        #expect(json["detail"]?["message"]?.stringValue?.contains("limit") == true)
    }

    @Test func malformedBodyIsA422() async throws {
        let (status, json, _) = try await post("/sdk/token", "not json")
        #expect(status == 422)
        #expect(json["detail"]?["error"] == "invalid_body")
    }

    @Test func oversizedBodyIsRefusedInTheEnvelope() async throws {
        let body = #"{"grant_id":""# + String(repeating: "x", count: 2 << 20) + #""}"#
        let (status, json, _) = try await post("/sdk/token", body)
        #expect(status == 413)
        #expect(json["detail"]?["error"] == "request_rejected")
    }

    @Test func aBaseURLPathPrefixIsServedAndSignedWithoutIt() async throws {
        let headers = Self.signed("/sdk/oauth/grants/list", body: "{}", apiKey: sandbox.apiKey)
        let (status, json, _) = try await vault.send(.post, "/alter/vault/sdk/oauth/grants/list", headers: headers, body: "{}")
        #expect(status == 200)
        #expect(json["total"] == 0)
    }

    @Test func aSandboxWithABasePathIsServedOnlyUnderIt() async throws {
        sandbox.setBehaviour { $0.basePath = "/alter/vault" }
        let body = "{}"
        let under = try await vault.send(.post, "/alter/vault/sdk/oauth/grants/list",
                                         headers: Self.signed("/sdk/oauth/grants/list", body: body, apiKey: sandbox.apiKey), body: body)
        #expect(under.0 == 200)
        let bare = try await vault.send(.post, "/sdk/oauth/grants/list",
                                        headers: Self.signed("/sdk/oauth/grants/list", body: body, apiKey: sandbox.apiKey), body: body)
        #expect(bare.0 == 404)
        #expect(bare.1["detail"]?["message"]?.stringValue?.contains("served under /alter/vault") == true)
        let other = try await vault.send(.post, "/other/sdk/oauth/grants/list",
                                         headers: Self.signed("/sdk/oauth/grants/list", body: body, apiKey: sandbox.apiKey), body: body)
        #expect(other.0 == 404)
    }

    @Test func onlyPrefixedSDKPathsAreRewritten() {
        #expect(BasePathResponder<RouterResponder<BasicRequestContext>>.strippingPrefix("/p/q/sdk/token?x=1") == "/sdk/token?x=1")
        #expect(BasePathResponder<RouterResponder<BasicRequestContext>>.strippingPrefix("/sdk/token") == nil)
        #expect(BasePathResponder<RouterResponder<BasicRequestContext>>.strippingPrefix("/sandboxes/s/hosts/www.googleapis.com/sdk/x") == nil)
        #expect(BasePathResponder<RouterResponder<BasicRequestContext>>.strippingPrefix("/_vaultsim/sdk/x") == nil)
    }
}

/// `serve` logs a refused key by its first characters, so a developer can tell a key of another
/// `--db` from a typo, and never logs the key itself.
struct UnknownKeyLogTests {
    @Test func aRefusedKeyIsLoggedByItsPrefixOnly() async throws {
        let log = CapturedLog()
        var logger = Logger(label: "unknown-key") { _ in CapturingLogHandler(log: log) }
        logger.logLevel = .info
        let server = VaultSimServer(registry: SandboxRegistry(), fixtures: SharedTestServer.fixtures, logger: logger)
        _ = try server.createSandbox(name: "keys")
        let other = SecretGenerator.apiKey()
        let status = try await server.application(host: "127.0.0.1", port: 0).test(.router) { client in
            try await client.execute(uri: "/sdk/oauth/grants/list", method: .post,
                                     headers: SDKRoutesTests.signed("/sdk/oauth/grants/list", body: "{}", apiKey: other),
                                     body: ByteBuffer(string: "{}")) { $0.status.code }
        }
        #expect(status == 401)
        let text = log.text
        #expect(text.contains("refused an unknown API key") && text.contains(String(other.prefix(14))), "\(text)")
        #expect(!text.contains(other))
    }
}
