import Foundation
import VaultSimCore

/// One thing a run found wrong, as data: what kind of check, where (the step and its
/// file:line:column), which value (a path such as `error.attributes.status_code`), what was
/// expected and what came. `message` is the whole sentence the console prints.
public struct Finding: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// A step's `expect` did not match what the SDK did.
        case expectation
        /// A step could not be carried out (the clock pushed too far, a Connect page not found).
        case step
        /// A `then` check of the journals, audit records or token requests.
        case then
        /// A fault that was to fire never did.
        case fault
        /// The driver failed: it crashed, hung, babbled or refused a command.
        case driver
        /// The sandbox could not be set up (`given`).
        case setup
        /// The SDK did not go through the intercepting proxy.
        case proxy
        /// A secret the vault issued appeared where the app could see it.
        case leak
        /// A call the SDK sent to the vault breaks the protocol's wire rules (a body that is not
        /// declared `application/json`, C4).
        case wire
    }

    public var kind: Kind
    /// The step's id (`step 2`, or the id the scenario gave it), or the check's name (`then.audit`).
    public var step: String?
    /// Where the step or check is written.
    public var location: SourceLocation?
    /// The value that differs, as a path into what was compared (`result.status`).
    public var path: String?
    public var expected: String?
    public var actual: String?
    public var message: String

    public init(kind: Kind, step: String? = nil, location: SourceLocation? = nil, path: String? = nil, expected: String? = nil,
                actual: String? = nil, message: String) {
        self.kind = kind
        self.step = step
        self.location = location
        self.path = path
        self.expected = expected
        self.actual = actual
        self.message = message
    }
}

/// One step as it ran: the op, what was sent to the driver, what came back, how long it took.
public struct StepRecord: Codable, Sendable, Equatable {
    public var id: String
    public var op: String
    public var location: SourceLocation
    /// The driver command's parameters, placeholders resolved (nil for steps that are no call).
    public var arguments: JSONValue?
    /// `{"result": …}`, `{"error": {class, ancestors, message, attributes}}`, `{"protocol_error": …}`
    /// or `{"failed": …}`; nil for a condition that simply took effect.
    public var answer: JSONValue?
    /// Seconds from the scenario's start to the step's start, and the step's own seconds.
    public var startedAfter: Double
    public var seconds: Double
    /// Whether the step met its expectation (conditions always do unless they failed).
    public var passed: Bool

    public init(id: String, op: String, location: SourceLocation, arguments: JSONValue?, answer: JSONValue?, startedAfter: Double,
                seconds: Double, passed: Bool) {
        self.id = id
        self.op = op
        self.location = location
        self.arguments = arguments
        self.answer = answer
        self.startedAfter = startedAfter
        self.seconds = seconds
        self.passed = passed
    }

    enum CodingKeys: String, CodingKey {
        case id, op, location, arguments, answer, seconds, passed
        case startedAfter = "started_after"
    }
}

extension Duration {
    /// The duration in seconds, as reports write it.
    public var seconds: Double { Double(components.seconds) + Double(components.attoseconds) / 1e18 }
}
