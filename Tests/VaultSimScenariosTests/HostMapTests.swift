import Testing
import VaultSimCore
@testable import VaultSimScenarios

struct HostMapTests {
    let map = HostMap(serverURL: "http://127.0.0.1:4000", sandboxID: "sb1")

    @Test func realURLsMapToTheSandboxsGatewayByHost() throws {
        #expect(try map.fakeURL(for: "https://www.googleapis.com/calendar/v3/calendars/{id}/events?x=1")
                == "http://127.0.0.1:4000/sandboxes/sb1/hosts/www.googleapis.com/calendar/v3/calendars/{id}/events?x=1")
        #expect(try map.fakeURL(for: "HTTPS://API.INTERNAL.COM:443/v1/loyalty/points")
                == "http://127.0.0.1:4000/sandboxes/sb1/hosts/api.internal.com/v1/loyalty/points")
        #expect(try map.fakeURL(for: "https://gmail.googleapis.com") == "http://127.0.0.1:4000/sandboxes/sb1/hosts/gmail.googleapis.com/")
        #expect(try map.fakeURL(for: "https://slack.com/api/chat.postMessage") == "http://127.0.0.1:4000/sandboxes/sb1/hosts/slack.com/api/chat.postMessage")
        #expect(try map.fakeURL(for: "https://api.github.com/user") == "http://127.0.0.1:4000/sandboxes/sb1/hosts/api.github.com/user")
    }

    @Test func fakeURLsMapBackToTheirRealHost() {
        let base = "http://127.0.0.1:4000/sandboxes/sb1/hosts/"
        #expect(map.realURL(for: base + "gmail.googleapis.com/gmail/v1/users/me/messages") == "https://gmail.googleapis.com/gmail/v1/users/me/messages")
        #expect(map.realURL(for: base + "www.googleapis.com/calendar/v3/x?y=1") == "https://www.googleapis.com/calendar/v3/x?y=1")
        #expect(map.realURL(for: base + "slack.com") == "https://slack.com/")
        #expect(map.realURL(for: "http://127.0.0.1:4000/sandboxes/other/hosts/www.googleapis.com/x") == "http://127.0.0.1:4000/sandboxes/other/hosts/www.googleapis.com/x")
    }

    @Test func urlsInsideJSONAreMappedBack() {
        let value: JSONValue = ["details": ["url": "http://127.0.0.1:4000/sandboxes/sb1/hosts/api.internal.com/v1/loyalty/points"], "n": 1,
                                "message": "Failed to call http://127.0.0.1:4000/sandboxes/sb1/hosts/slack.com/api/x: reset"]
        #expect(map.realURLs(in: value) == ["details": ["url": "https://api.internal.com/v1/loyalty/points"], "n": 1,
                                            "message": "Failed to call https://slack.com/api/x: reset"])
    }

    @Test func unknownHostsAreRefused() {
        #expect(throws: HostMap.UnknownHost.self) { try map.fakeURL(for: "https://example.org/x") }
        #expect(throws: HostMap.UnknownHost.self) { try map.fakeURL(for: "ftp://www.googleapis.com/x") }
    }
}
