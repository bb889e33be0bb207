import Foundation
#if canImport(Glibc)
import Glibc
#endif
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import Testing
import VaultSimCore
@testable import VaultSimProviders
@testable import VaultSimServer

/// Issue 11: input that used to kill the server, control-API inputs out of range, who may use the
/// control API, the envelope of every refusal, and starting on a port in use.
struct HardeningTests {
    let vault: TestVault
    var sandbox: Sandbox { vault.sandbox }

    init() async throws { vault = try await TestVault.make() }

    func call(_ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:], body: String? = nil) async throws -> (Int, JSONValue, HTTPFields) {
        try await vault.send(method, uri, headers: headers, body: body)
    }

    /// Headers of a JSON request, plus `extra`.
    static func json(_ extra: [String: String] = [:]) -> HTTPFields {
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in extra { fields[HTTPField.Name(name)!] = value }
        return fields
    }

    var control: String { "/_vaultsim/sandboxes/\(sandbox.id)" }

    /// An access token Google issued for the calendar and Gmail.
    func googleToken() async throws -> String {
        let grant = try await vault.seed(GrantSeed(provider: "google", scopes: [
            "https://www.googleapis.com/auth/calendar", "https://www.googleapis.com/auth/gmail.readonly",
        ]))
        return try #require(try sandbox.store.credential(grantID: grant.id)).accessToken
    }

    // MARK: 1. query input never traps a provider

    @Test(arguments: ["pageToken=p-1", "pageToken=garbage", "pageToken=p", "pageToken=p99999999999999999999", "pageToken=p%2B1",
                      "maxResults=-5", "maxResults=0", "maxResults=99999999999", "maxResults=abc"])
    func calendarAnswersBadPagingWithGoogles400(query: String) async throws {
        let token = try await googleToken()
        let uri = "/sandboxes/\(sandbox.id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events?\(query)"
        let (status, json, _) = try await call(.get, uri, headers: [.authorization: "Bearer \(token)"])
        #expect(status == 400)
        #expect(json["error"]?["status"] == "INVALID_ARGUMENT")
        let location = json["error"]?["errors"]?.arrayValue?.first?["location"]?.stringValue
        #expect(location == String(query.prefix { $0 != "=" }))
    }

    @Test(arguments: ["pageToken=p-1", "pageToken=x1", "maxResults=-1", "maxResults=4294967296"])
    func gmailAnswersBadPagingWithGoogles400(query: String) async throws {
        let token = try await googleToken()
        let uri = "/sandboxes/\(sandbox.id)/hosts/gmail.googleapis.com/gmail/v1/users/me/messages?\(query)"
        let (status, json, _) = try await call(.get, uri, headers: [.authorization: "Bearer \(token)"])
        #expect(status == 400)
        #expect(json["error"]?["status"] == "INVALID_ARGUMENT")
    }

    @Test func aPageTokenPastTheEndIsAnEmptyPageAndAHugePageSizeIsCapped() async throws {
        let token = try await googleToken()
        let events = "/sandboxes/\(sandbox.id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events"
        let (pastEnd, page, _) = try await call(.get, events + "?pageToken=p999999999", headers: [.authorization: "Bearer \(token)"])
        #expect(pastEnd == 200)
        #expect(page["items"] == [])
        #expect(page["nextPageToken"] == nil)
        let (capped, _, _) = try await call(.get, events + "?maxResults=100000", headers: [.authorization: "Bearer \(token)"])
        #expect(capped == 200)
    }

    @Test func gitHubPagesAsLargeAsIntAreAnsweredNotTrapped() async throws {
        let grant = try await vault.seed(GrantSeed(provider: "github", account: "alice", scopes: ["repo"]))
        let token = try #require(try sandbox.store.credential(grantID: grant.id)).accessToken
        let uri = "/sandboxes/\(sandbox.id)/hosts/api.github.com/user/repos?page=9223372036854775807&per_page=9223372036854775807"
        let (status, json, _) = try await call(.get, uri, headers: [.authorization: "Bearer \(token)"])
        #expect(status == 200)
        #expect(json == [])
    }

    @Test func slackTimestampsStayInRangeHoweverFarTheClockMoved() {
        let far = SlackTimestamp.next(now: Date(timeIntervalSince1970: 1e16), after: nil)
        #expect(SlackTimestamp.micros(far) == SlackTimestamp.maxMicros)
        let afterTheLast = SlackTimestamp.next(now: Date(timeIntervalSince1970: 0), after: SlackTimestamp.maxMicros)
        #expect(SlackTimestamp.micros(afterTheLast) == SlackTimestamp.maxMicros)
        #expect(SlackTimestamp.next(now: Date(timeIntervalSince1970: -1e12), after: nil) == "0.000000")
    }

    // MARK: 2. control-API numbers are checked at the boundary

    @Test(arguments: ["1000", "-1", "0", "99", "101", "199", "600", "500.5", "1e300", #""500""#, "true"])
    func faultStatusOutsideTwoHundredToFiveNinetyNineIsRefusedNamingTheField(status: String) async throws {
        let (code, json, _) = try await call(.post, control + "/providers/google/faults", headers: Self.json(), body: #"{"status": \#(status)}"#)
        #expect(code == 400)
        #expect(json["detail"]?["error"] == "invalid_request")
        #expect(json["detail"]?["details"]?["field"] == "status")
        #expect(json["detail"]?["message"]?.stringValue?.contains("google") == true)
        #expect(sandbox.faults.all.isEmpty)
    }

    @Test func anInformationalFaultStatusIsRefusedSayingWhy() async throws {
        let (code, json, _) = try await call(.post, control + "/providers/slack/faults", headers: Self.json(), body: #"{"status": 101}"#)
        #expect(code == 400)
        #expect(json["detail"]?["message"]?.stringValue?.contains("informational") == true)
    }

    @Test(arguments: [
        (#"{"status": 503, "delay_ms": 600001}"#, "delay_ms"), (#"{"status": 503, "delay_ms": -1}"#, "delay_ms"),
        (#"{"status": 503, "delay_ms": 1.5}"#, "delay_ms"), (#"{"status": 503, "delay_ms": 1e300}"#, "delay_ms"),
        (#"{"status": 503, "times": 0}"#, "times"), (#"{"status": 503, "times": 1000001}"#, "times"),
        (#"{"status": 503, "times": "2"}"#, "times"), (#"{"status": 204, "body": "x"}"#, "body"),
        (#"{"status": 503, "method": 7}"#, "method"), (#"{"status": 503, "path_prefix": "calendar"}"#, "path_prefix"),
        (#"{"status": 503, "stauts": 1}"#, "stauts"),
        (#"{"pass_through": true, "delay_ms": 10, "status": 503}"#, "status"), (#"{"pass_through": true}"#, "delay_ms"),
        (#"{"pass_through": "yes", "delay_ms": 10}"#, "pass_through"),
    ])
    func faultMembersOutOfRangeAreRefusedNamingTheField(body: String, field: String) async throws {
        let (code, json, _) = try await call(.post, control + "/providers/google/faults", headers: Self.json(), body: body)
        #expect(code == 400)
        #expect(json["detail"]?["details"]?["field"] == .string(field))
        #expect(sandbox.faults.all.isEmpty)
    }

    @Test(arguments: ["1e300", "1.5", "-1", #""60""#, "3155760001", "null"])
    func clockAdvanceRefusesAnythingButAnIntegerUpToAHundredYears(seconds: String) async throws {
        let before = sandbox.clock.offsetSeconds
        let (code, json, _) = try await call(.post, control + "/clock/advance", headers: Self.json(), body: #"{"seconds": \#(seconds)}"#)
        #expect(code == 400)
        #expect(json["detail"]?["details"]?["field"] == "seconds")
        #expect(abs(sandbox.clock.offsetSeconds - before) < 1)
    }

    @Test func theClockCannotBeMovedMoreThanAHundredYearsInAll() async throws {
        let hundredYears = Int(VirtualClock.maxShift)
        #expect(try await call(.post, control + "/clock/advance", headers: Self.json(), body: #"{"seconds": \#(hundredYears)}"#).0 == 200)
        let (code, json, _) = try await call(.post, control + "/clock/advance", headers: Self.json(), body: #"{"seconds": 1}"#)
        #expect(code == 400)
        #expect(json["detail"]?["details"]?["field"] == "seconds")
    }

    @Test(arguments: ["[]", #""sandbox""#, "null", "42"])
    func bodiesThatAreNotObjectsAreRefused(body: String) async throws {
        for (method, path) in [(HTTPRequest.Method.post, "/_vaultsim/sandboxes"), (.post, control + "/providers/google/faults"),
                               (.post, control + "/clock/advance"), (.put, control + "/providers/google/data"),
                               (.post, control + "/grants")] {
            let (code, json, _) = try await call(method, path, headers: Self.json(), body: body)
            #expect(code == 400, "\(method) \(path)")
            #expect(json["detail"]?["message"]?.stringValue?.contains("JSON object") == true, "\(method) \(path)")
        }
    }

    @Test(arguments: ["..%2F..%2Fetc", "myspace", "GOOGLE", "%00"])
    func aProviderVaultSimDoesNotSimulateIsA404NamingTheKnownOnes(provider: String) async throws {
        let requests: [(HTTPRequest.Method, String, String?)] = [
            (.put, control + "/providers/\(provider)/data", "{}"),
            (.post, control + "/providers/\(provider)/faults", #"{"status": 500}"#),
            (.post, control + "/providers/\(provider)/accounts", #"{"login": "a"}"#),
            (.post, control + "/providers/\(provider)/accounts/a/revoke-app", nil),
            (.get, control + "/providers/\(provider)/journal", nil),
        ]
        for (method, path, body) in requests {
            let (code, json, _) = try await call(method, path, headers: Self.json(), body: body)
            #expect(code == 404, "\(method) \(path)")
            #expect(json["detail"]?["error"] == "unknown_provider", "\(method) \(path)")
            #expect(json["detail"]?["details"]?["known"]?.arrayValue?.contains("google") == true)
        }
        #expect(sandbox.faults.all.isEmpty)
    }

    // MARK: 3. only this machine's tools use the control API

    /// One request through the server's router as if addressed to `authority` (HummingbirdTesting
    /// itself always says `localhost`).
    func send(authority: String?, _ method: HTTPRequest.Method, _ uri: String, headers: HTTPFields = [:],
              body: String? = nil) async throws -> (Int, JSONValue) {
        let app = Application(responder: AuthorityRewriting(authority: authority, inner: vault.server.router().buildResponder()))
        return try await app.test(.router) { client in
            try await client.execute(uri: uri, method: method, headers: headers, body: body.map { ByteBuffer(string: $0) }) { response in
                (Int(response.status.code), JSONValue.parse(Data(buffer: response.body)) ?? .null)
            }
        }
    }

    @Test(arguments: ["evil.example", "evil.example:8780", "127.0.0.1.evil.example", "localhost.evil.example:80", "127.0.0.2",
                      "localhost:80x", "[::2]:80", "127.0.0.1@evil.example"])
    func aRequestAddressedToAnotherNameIsRefused(authority: String) async throws {
        let (code, json) = try await send(authority: authority, .get, control + "/api-key")
        #expect(code == 403)
        #expect(json["detail"]?["error"] == "foreign_host")
        #expect(json["detail"]?["details"]?["host"] == .string(authority))
    }

    @Test(arguments: ["127.0.0.1", "127.0.0.1:8780", "localhost", "LOCALHOST:1", "[::1]", "[::1]:8780", nil])
    func aRequestAddressedToLoopbackIsServed(authority: String?) async throws {
        let (code, json) = try await send(authority: authority, .get, control)
        #expect(code == 200)
        #expect(json["id"] == .string(sandbox.id))
    }

    @Test(arguments: ["https://evil.example", "http://evil.example:8780", "null", "http://127.0.0.1.evil.example", "file://"])
    func aWebPageOfAnotherSiteCannotChangeAnything(origin: String) async throws {
        let (code, json, _) = try await call(.delete, control, headers: Self.json(["Origin": origin]))
        #expect(code == 403)
        #expect(json["detail"]?["error"] == "foreign_origin")
        #expect(vault.registry.sandbox(id: sandbox.id) != nil)
    }

    @Test func aPageOnLoopbackMayChangeThings() async throws {
        let (code, _, _) = try await call(.post, control + "/clock/advance", headers: Self.json(["Origin": "http://localhost:3000"]),
                                          body: #"{"seconds": 1}"#)
        #expect(code == 200)
    }

    @Test(arguments: ["text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
                      "application/jsonp"])
    func aBodyThatIsNotDeclaredJSONIsRefused(contentType: String) async throws {
        let (code, json, _) = try await call(.post, "/_vaultsim/sandboxes", headers: [.contentType: contentType], body: #"{"name":"x"}"#)
        #expect(code == 415)
        #expect(json["detail"]?["error"] == "unsupported_media_type")
    }

    @Test func aCrossSiteTextPlainPostIsRefused() async throws {
        let headers: HTTPFields = [.contentType: "text/plain", .origin: "https://evil.example"]
        let (code, _, _) = try await call(.post, control + "/clock/advance", headers: headers, body: #"{"seconds": 60}"#)
        #expect(code == 403)
        #expect(sandbox.clock.offsetSeconds < 30)
    }

    @Test func aBrowserPageMustDeclareItsBodyJSON() async throws {
        let (code, json, _) = try await call(.post, control + "/clock/advance", headers: [.origin: "http://localhost:5173"],
                                             body: #"{"seconds": 60}"#)
        #expect(code == 415)
        #expect(json["detail"]?["error"] == "unsupported_media_type")
    }

    @Test func anEmptyBodyNeedsNoContentType() async throws {
        let (code, created, _) = try await call(.post, "/_vaultsim/sandboxes")
        #expect(code == 201)
        let id = try #require(created["id"]?.stringValue)
        #expect(try await call(.delete, "/_vaultsim/sandboxes/\(id)").0 == 200)
    }

    @Test func apiKeysAreReturnedOnlyToTheCreatorAndOnTheirOwnRoute() async throws {
        let (created, sandboxJSON, _) = try await call(.post, "/_vaultsim/sandboxes", headers: Self.json(), body: #"{"name":"keys"}"#)
        #expect(created == 201)
        let id = try #require(sandboxJSON["id"]?.stringValue)
        let key = try #require(sandboxJSON["api_key"]?.stringValue)

        let (_, list, _) = try await call(.get, "/_vaultsim/sandboxes")
        let listed = try #require(list["sandboxes"]?.arrayValue)
        #expect(listed.contains { $0["id"] == .string(id) })
        #expect(listed.allSatisfy { $0["api_key"] == nil })
        #expect(!list.jsonText.contains("alter_key_"))

        let (_, one, _) = try await call(.get, "/_vaultsim/sandboxes/\(id)")
        #expect(one["id"] == .string(id))
        #expect(one["api_key"] == nil)

        let (status, keyJSON, _) = try await call(.get, "/_vaultsim/sandboxes/\(id)/api-key")
        #expect(status == 200)
        #expect(keyJSON["api_key"] == .string(key))
        #expect(try await call(.delete, "/_vaultsim/sandboxes/\(id)").0 == 200)
    }

    @Test func loopbackNamesAreTold() {
        #expect(ControlAccess.isLoopback(authority: "127.0.0.1:8780"))
        #expect(ControlAccess.isLoopback(authority: "[::1]:8780"))
        #expect(!ControlAccess.isLoopback(authority: "[::1]x"))
        #expect(!ControlAccess.isLoopback(authority: "localhost:"))
        #expect(ControlAccess.isLoopback(origin: "http://127.0.0.1:3000"))
        #expect(ControlAccess.isLoopback(origin: "https://localhost"))
        #expect(!ControlAccess.isLoopback(origin: "chrome-extension://localhost"))
        #expect(!ControlAccess.isLoopback(origin: "http://user@localhost"))
    }

    // MARK: 4. every refusal in the envelope

    @Test(arguments: ["/nope", "/_vaultsim/nope", "/sandboxes/\u{61}", "/sdk"])
    func anUnknownRouteIsA404InTheEnvelope(path: String) async throws {
        let (code, json, headers) = try await call(.post, path, headers: Self.json(), body: "{}")
        #expect(code == 404)
        #expect(json["detail"]?["error"] == "not_found")
        #expect(json["detail"]?["message"]?.stringValue?.contains(path) == true)
        #expect(json["detail"]?["details"] != nil)
        #expect(headers[.contentType] == "application/json")
    }

    /// Under /sdk/ a path VaultSim does not serve is 501 `not_simulated`, whatever the method: an
    /// SDK reads a 404 there as "grant not found".
    @Test(arguments: [(HTTPRequest.Method.post, "/sdk/nope"), (.post, "/sdk/oauth/grants/x/y/z"), (.get, "/sdk/agents/me"),
                      (.patch, "/sdk/agents/a1"), (.delete, "/sdk/grants/g1/delegations/me"), (.put, "/sdk/x"),
                      (.get, "/sdk/keys")])
    func anUnsimulatedSDKRouteIsA501NamingIt(method: HTTPRequest.Method, path: String) async throws {
        let (code, json, headers) = try await call(method, path, headers: Self.json(), body: method == .get ? nil : "{}")
        #expect(code == 501)
        #expect(json["detail"]?["error"] == "not_simulated")
        #expect(json["detail"]?["message"]?.stringValue?.contains("\(method.rawValue) \(path)") == true)
        #expect(json["detail"]?["details"]?["path"]?.stringValue == path)
        #expect(headers[.contentType] == "application/json")
    }

    @Test func aPathServedWithOtherMethodsIsA405SayingWhichInTheEnvelope() async throws {
        let (sdk, sdkJSON, sdkHeaders) = try await call(.get, "/sdk/token")
        #expect(sdk == 405)
        #expect(sdkJSON["detail"]?["error"] == "method_not_allowed")
        #expect(sdkHeaders[.allow] == "POST")

        let (controlStatus, controlJSON, controlHeaders) = try await call(.put, "/_vaultsim/sandboxes", headers: Self.json(), body: "{}")
        #expect(controlStatus == 405)
        #expect(controlJSON["detail"]?["details"]?["allowed"] == ["GET", "POST"])
        #expect(controlHeaders[.allow] == "GET, POST")
    }

    @Test func theControlAPIsBodyLimitIsA413InTheEnvelope() async throws {
        let body = #"{"name":""# + String(repeating: "x", count: 16 << 20) + #""}"#
        let (code, json, _) = try await call(.post, "/_vaultsim/sandboxes", headers: Self.json(), body: body)
        #expect(code == 413)
        #expect(json["detail"]?["error"] == "request_rejected")
    }

    // MARK: 5. starting on a port in use

    @Test func startingOnAPortInUseFailsAtOnceSayingSo() async throws {
        let first = VaultSimServer(registry: SandboxRegistry(), fixtures: SharedTestServer.fixtures)
        let running = try await first.start()
        let port = try #require(running.address.port)
        let second = VaultSimServer(registry: SandboxRegistry(), fixtures: SharedTestServer.fixtures)
        let began = ContinuousClock.now
        do {
            let unexpected = try await second.start(port: port)
            await unexpected.stop()
            Issue.record("a second server started on port \(port)")
        } catch {
            #expect("\(error)".contains("127.0.0.1:\(port) is already in use"))
            // At once, not after the 20 s start timeout (with room for a loaded machine).
            #expect(ContinuousClock.now - began < .seconds(15))
        }
        #expect(second.address.port == nil)
        await running.stop()
    }

    // MARK: 7. retention

    @Test func journalRetentionPrunesEverySandboxOfTheRegistry() throws {
        let registry = SandboxRegistry()
        let sandboxes = try [registry.create(name: "a"), registry.create(name: "b")]
        for sandbox in sandboxes {
            for age in [7200.0, 10, 5] {
                try sandbox.store.append(audit: AuditRecord(receivedAt: sandbox.clock.now.addingTimeInterval(-age), grantID: nil,
                                                            callerInfo: CallerInfo(), payloadText: "{}"))
            }
        }
        let deleted = JournalRetention(maxAge: 3600, maxRows: 1).prune(registry, logger: vault.server.logger)
        #expect(deleted == 4)
        #expect(try sandboxes.allSatisfy { try $0.store.auditRecords().count == 1 })
    }
}

/// Hands the request on as if it had been addressed to `authority`.
struct AuthorityRewriting<Inner: HTTPResponder>: HTTPResponder {
    typealias Context = Inner.Context
    let authority: String?
    let inner: Inner

    func respond(to request: Request, context: Context) async throws -> Response {
        var head = request.head
        head.authority = authority
        return try await inner.respond(to: Request(head: head, body: request.body), context: context)
    }
}

/// Connections that say nothing (idle, or half-open after part of a request) are closed after the
/// idle timeout, so they cannot pile up and lock others out.
struct IdleConnectionTests {
    @Test func aSilentConnectionAndAHalfSentRequestAreClosedAfterTheIdleTimeout() async throws {
        var server = VaultSimServer(registry: SandboxRegistry(), fixtures: FixtureLibrary())
        server.idleTimeout = .seconds(1)
        let running = try await server.start()
        defer { Task { await running.stop() } }
        let port = try #require(running.address.port)
        // Closed by the server, not by the 20 s this side waits: far less than a 30 s idle timeout
        // would take, with room for a loaded machine (no tighter clock bound).
        for first in ["", "GET /_vaultsim/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"] {
            let closed = try await RawConnection.offThePool { try RawConnection.closesWithin(seconds: 20, port: port, sending: first) }
            #expect(closed, "the server kept a connection that sent \(first.isEmpty ? "nothing" : "half a request")")
        }
        // A whole request on a fresh connection is still answered.
        #expect(try await RawConnection.offThePool { try RawConnection.answers(port: port) })
    }
}

/// A bare TCP client (Glibc sockets), to behave as no HTTP client would.
enum RawConnection {
    /// Runs blocking socket work on a thread of its own: blocking one of the task pool's two
    /// threads would starve the server under test (its routes run on that pool).
    static func offThePool<T: Sendable>(_ work: @escaping @Sendable () throws -> T) async throws -> T {
        try await withCheckedThrowingContinuation { continuation in
            Thread { continuation.resume(with: Result { try work() }) }.start()
        }
    }

    static func connect(port: Int, timeoutSeconds: Int = 6) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard result == 0 else { close(fd); throw POSIXError(.ECONNREFUSED) }
        var timeout = timeval(tv_sec: timeoutSeconds, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        return fd
    }

    /// Sends `text`, then waits: true when the server closes the connection (read returns 0).
    static func closesWithin(seconds: Int, port: Int, sending text: String) throws -> Bool {
        let fd = try connect(port: port, timeoutSeconds: seconds)
        defer { close(fd) }
        if !text.isEmpty { _ = text.withCString { send(fd, $0, strlen($0), 0) } }
        var buffer = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = recv(fd, &buffer, buffer.count, 0)
            if n == 0 { return true }
            if n < 0 { return false }   // timed out (SO_RCVTIMEO) or failed: still open
        }
    }

    static func answers(port: Int) throws -> Bool {
        let fd = try connect(port: port)
        defer { close(fd) }
        let request = "GET /_vaultsim/health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        _ = request.withCString { send(fd, $0, strlen($0), 0) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let n = recv(fd, &buffer, buffer.count, 0)
        return n > 0 && String(decoding: buffer[0..<n], as: UTF8.self).hasPrefix("HTTP/1.1 200")
    }
}
