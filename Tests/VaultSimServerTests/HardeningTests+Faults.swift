import Foundation
import Testing
import VaultSimCore
@testable import VaultSimServer

/// Faults set through the control API that are accepted: they answer, or slow the usual answer.
extension HardeningTests {
    @Test func aFaultInRangeIsAcceptedAndAnswers() async throws {
        let (code, _, _) = try await call(.post, control + "/providers/google/faults", headers: Self.json(),
                                          body: #"{"status": 503, "delay_ms": 0, "times": 1, "method": "GET", "path_prefix": "/calendar"}"#)
        #expect(code == 201)
        let (answer, _, _) = try await call(.get, "/sandboxes/\(sandbox.id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events")
        #expect(answer == 503)
    }

    /// A pass-through fault slows the provider's own answer.
    @Test func aPassThroughFaultAnswersAsUsualOnlyLater() async throws {
        let (code, _, _) = try await call(.post, control + "/providers/google/faults", headers: Self.json(),
                                          body: #"{"pass_through": true, "delay_ms": 400, "times": 1, "path_prefix": "/calendar"}"#)
        #expect(code == 201)
        let started = ContinuousClock.now
        let (answer, json, _) = try await call(.get, "/sandboxes/\(sandbox.id)/hosts/www.googleapis.com/calendar/v3/calendars/primary/events")
        #expect(ContinuousClock.now - started >= .milliseconds(400))
        #expect(answer == 401 && json["error"]?["status"] == "UNAUTHENTICATED", "the fake Google's own answer to a call without a token")
        #expect(sandbox.faults.all.isEmpty, "used once")
    }
}
