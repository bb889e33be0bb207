import Foundation
import Synchronization

/// A provider call that waits for a person's decision (a grant whose policy requires approval):
/// the request exactly as the vault will make it (without the credential, which the vault adds
/// only when it executes), who asked, and where the decision stands.
public struct Approval: Sendable {
    /// The documented statuses. `pending` becomes `expired` on the sandbox clock.
    public enum Status: String, Sendable, CaseIterable {
        case pending, approved, executing, denied, expired, executed, failed

        public var isTerminal: Bool { [.denied, .expired, .executed, .failed].contains(self) }
    }

    /// The provider's answer to the executed call, in the `ApprovalResult` shape's terms.
    public struct Result: Sendable {
        public var status: Int
        public var headers: [(String, String)]
        public var body: Data
        public var milliseconds: Int

        public init(status: Int, headers: [(String, String)], body: Data, milliseconds: Int) {
            self.status = status
            self.headers = headers
            self.body = body
            self.milliseconds = milliseconds
        }
    }

    public var id: String
    public var groupID: String
    /// The secret part of the approval page's URL: only who received `approval_url` can decide.
    public var pageToken: String
    public var grantID: String
    public var method: String
    /// The real URL, query included.
    public var url: String
    public var headers: [(String, String)]
    public var body: Data
    public var reason: String?
    public var caller: CallerInfo
    public var createdAt: Date
    public var expiresAt: Date
    public var status: Status = .pending
    public var decidedAt: Date?
    public var decisionReason: String?
    public var executedAt: Date?
    public var executionError: String?
    public var result: Result?

    public init(grantID: String, method: String, url: String, headers: [(String, String)], body: Data, reason: String?,
                caller: CallerInfo, createdAt: Date, expiresAt: Date) {
        self.id = SecretGenerator.uuid()
        self.groupID = SecretGenerator.uuid()
        self.pageToken = SecretGenerator.token(32)
        self.grantID = grantID
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.reason = reason
        self.caller = caller
        self.createdAt = createdAt
        self.expiresAt = expiresAt
    }

    /// The status at `now`: a pending approval past its window has expired.
    public func status(at now: Date) -> Status {
        status == .pending && now >= expiresAt ? .expired : status
    }
}

/// A sandbox's approvals, newest last. In memory: they do not survive a restart of `serve`.
public final class ApprovalBook: Sendable {
    private let entries = Mutex<[Approval]>([])

    public init() {}

    public func add(_ approval: Approval) {
        entries.withLock { $0.append(approval) }
    }

    public func approval(id: String) -> Approval? {
        entries.withLock { list in list.last { $0.id == id } }
    }

    /// Every approval, oldest first.
    public var all: [Approval] { entries.withLock { $0 } }

    /// Changes one approval; returns it as changed, or nil when there is none with that id.
    @discardableResult
    public func update(id: String, _ change: (inout Approval) -> Void) -> Approval? {
        entries.withLock { list in
            guard let index = list.lastIndex(where: { $0.id == id }) else { return nil }
            change(&list[index])
            return list[index]
        }
    }
}
