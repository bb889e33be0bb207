import Foundation
import Testing
@testable import VaultSimCore

struct AccessPolicyTests {
    @Test func cidrsMatchIPv4AndIPv6Networks() throws {
        let v4 = try #require(CIDR("203.0.113.9/24"))
        #expect(v4.contains(try #require(CIDR.address("203.0.113.250"))))
        #expect(!v4.contains(try #require(CIDR.address("203.0.114.1"))))
        #expect(v4.contains(try #require(CIDR.address("::ffff:203.0.113.5"))))
        let v6 = try #require(CIDR("2001:db8:ab::/48"))
        #expect(v6.contains(try #require(CIDR.address("[2001:db8:ab:ffff::1]"))))
        #expect(!v6.contains(try #require(CIDR.address("2001:db8:ac::1"))))
        #expect(!v6.contains(try #require(CIDR.address("203.0.113.5"))))
        #expect(try #require(CIDR("10.1.2.3")).contains(try #require(CIDR.address("10.1.2.3"))))
        for bad in ["10.0.0.0/33", "2001:db8::/129", "10.0.0/8", "example.com/8", "", "1.2.3.4/-1", "1.2.3.4/x"] {
            #expect(CIDR(bad) == nil, "\(bad)")
        }
    }

    @Test func aTimeWindowIsEvaluatedInItsTimeZone() throws {
        let policy = AccessPolicy(name: "hours", rule: .timeWindow(timeZone: "Asia/Tokyo", weekdays: [2, 3, 4, 5, 6], from: 9 * 60, to: 17 * 60))
        let mondayNineTokyo = try Date("2026-03-02T09:00:00+09:00", strategy: .iso8601)
        #expect(policy.violation(at: mondayNineTokyo, address: "127.0.0.1", recentRequests: []) == nil)
        let violation = policy.violation(at: mondayNineTokyo.addingTimeInterval(-60), address: "127.0.0.1", recentRequests: [])
        #expect(violation?.code == "outside_allowed_hours")
        #expect(violation?.status == 403)
        #expect(violation?.details["local_time"] == "2026-03-02T08:59:00+09:00")
        #expect(policy.violation(at: mondayNineTokyo.addingTimeInterval(8 * 3600), address: "127.0.0.1", recentRequests: [])?.code
                == "outside_allowed_hours")
    }

    @Test func aRateLimitCountsOnlyTheWindowAndSaysWhenToRetry() {
        let now = Date(timeIntervalSince1970: 1_800_000_000)
        let policy = AccessPolicy(name: "burst", rule: .rateLimit(requests: 2, seconds: 60))
        #expect(policy.violation(at: now, address: "x", recentRequests: [now.addingTimeInterval(-70), now.addingTimeInterval(-5)]) == nil)
        let refused = policy.violation(at: now, address: "x", recentRequests: [now.addingTimeInterval(-50), now.addingTimeInterval(-5)])
        #expect(refused?.status == 429)
        #expect(refused?.headers["Retry-After"] == "10")
    }

    @Test func theJSONFormRoundTripsAndRefusesNonsense() throws {
        let text = #"{"name":"h","type":"time_window","time_zone":"Europe/Paris","days":["mon","fri"],"hours":"08:30-24:00"}"#
        let policy = try JSONDecoder().decode(AccessPolicy.self, from: Data(text.utf8))
        #expect(policy.rule == .timeWindow(timeZone: "Europe/Paris", weekdays: [2, 6], from: 510, to: 1440))
        #expect(try JSONDecoder().decode(AccessPolicy.self, from: JSONEncoder().encode(policy)) == policy)
        for bad in [#"{"name":"h","type":"time_window","time_zone":"Mars/Olympus","days":["mon"],"hours":"09:00-17:00"}"#,
                    #"{"name":"h","type":"time_window","time_zone":"UTC","days":["funday"],"hours":"09:00-17:00"}"#,
                    #"{"name":"h","type":"time_window","time_zone":"UTC","days":["mon"],"hours":"17:00-09:00"}"#,
                    #"{"name":"r","type":"rate_limit","requests":0,"per_seconds":60}"#,
                    #"{"name":"i","type":"ip_allowlist","cidrs":["300.1.1.1/8"]}"#] {
            #expect(throws: DecodingError.self) { try JSONDecoder().decode(AccessPolicy.self, from: Data(bad.utf8)) }
        }
    }
}
