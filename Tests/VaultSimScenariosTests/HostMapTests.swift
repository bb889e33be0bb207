import Testing
import VaultSimCore
@testable import VaultSimScenarios

struct HostMapTests {
    let map = HostMap(serverURL: "http://127.0.0.1:4000", sandboxID: "sb1")

    @Test func realURLsMapToTheSandboxsFakeProvider() throws {
        #expect(try map.fakeURL(for: "https://www.googleapis.com/calendar/v3/calendars/{id}/events?x=1")
                == "http://127.0.0.1:4000/sandboxes/sb1/providers/google/calendar/v3/calendars/{id}/events?x=1")
        #expect(try map.fakeURL(for: "HTTPS://API.INTERNAL.COM:443/v1/loyalty/points")
                == "http://127.0.0.1:4000/sandboxes/sb1/providers/internal/v1/loyalty/points")
        #expect(try map.fakeURL(for: "https://gmail.googleapis.com") == "http://127.0.0.1:4000/sandboxes/sb1/providers/google/")
    }

    @Test func fakeURLsMapBackToTheRightRealHost() {
        let base = "http://127.0.0.1:4000/sandboxes/sb1/providers/google"
        #expect(map.realURL(for: base + "/gmail/v1/users/me/messages") == "https://gmail.googleapis.com/gmail/v1/users/me/messages")
        #expect(map.realURL(for: base + "/calendar/v3/x") == "https://www.googleapis.com/calendar/v3/x")
        #expect(map.realURL(for: "http://127.0.0.1:4000/sandboxes/other/providers/google/x") == "http://127.0.0.1:4000/sandboxes/other/providers/google/x")
    }

    @Test func urlsInsideJSONAreMappedBack() {
        let value: JSONValue = ["details": ["url": "http://127.0.0.1:4000/sandboxes/sb1/providers/internal/v1/loyalty/points"], "n": 1]
        #expect(map.realURLs(in: value) == ["details": ["url": "https://api.internal.com/v1/loyalty/points"], "n": 1])
    }

    @Test func unknownHostsAndUnsimulatedProvidersAreRefused() {
        #expect(throws: HostMap.UnknownHost.self) { try map.fakeURL(for: "https://example.org/x") }
        #expect(throws: HostMap.UnknownHost.self) { try map.fakeURL(for: "ftp://www.googleapis.com/x") }
        #expect(throws: HostMap.NoFakeAPI.self) { try map.fakeURL(for: "https://api.github.com/user") }
    }
}
