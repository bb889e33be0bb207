import Foundation
import VaultSimCore
import VaultSimProviders

/// Human approvals (alter-sdk 0.20.1+ `await_approval`, `get_approval_status`): the 202 that
/// `/sdk/proxy` answers for a grant whose policy requires approval, the status poll, the result,
/// and the decision a person makes on the approval page (which executes the call).
enum ApprovalEndpoint {
    /// The longest `wait` a status poll may ask for, in seconds (the backend's long-poll cap).
    static let maximumWait = 25

    /// The approval page's URL: the page token in it is what lets a person decide.
    static func pageURL(_ approval: Approval, sandbox: Sandbox, serverURL: String) -> String {
        "\(serverURL)\(ProviderRoutes.mountPrefix)/\(sandbox.id)/approvals/\(approval.id)?token=\(approval.pageToken)"
    }

    /// The `PendingApproval` shape (one gate: VaultSim has a single approver).
    static func pending(_ approval: Approval, sandbox: Sandbox, serverURL: String) -> JSONValue {
        let seconds = max(0, Int(approval.expiresAt.timeIntervalSince(sandbox.clock.now).rounded(.down)))
        let url = pageURL(approval, sandbox: sandbox, serverURL: serverURL)
        return [
            "approval_id": .string(approval.id), "approval_group_id": .string(approval.groupID), "status": "pending",
            "expires_at": .string(approval.expiresAt.rfc3339), "expires_in": .number(Double(seconds)), "approval_url": .string(url),
            "gates": [["approval_id": .string(approval.id), "expires_at": .string(approval.expiresAt.rfc3339),
                       "expires_in": .number(Double(seconds)), "approval_url": .string(url)]],
        ]
    }

    /// The `ApprovalStatus` shape at `now`.
    static func statusBody(_ approval: Approval, at now: Date) -> JSONValue {
        let status = approval.status(at: now)
        func date(_ value: Date?) -> JSONValue { value.map { .string($0.rfc3339) } ?? .null }
        // A gate shows the approver's decision; execution is the group's.
        let gate: Approval.Status = [.approved, .executing, .executed, .failed].contains(status) ? .approved : status
        return [
            "approval_id": .string(approval.id), "status": .string(status.rawValue), "approval_group_id": .string(approval.groupID),
            "gates": [["approval_id": .string(approval.id), "status": .string(gate.rawValue), "expires_at": .string(approval.expiresAt.rfc3339),
                       "decided_at": date(approval.decidedAt)]],
            "expires_at": .string(approval.expiresAt.rfc3339), "decided_at": date(approval.decidedAt),
            "decision_reason": approval.decisionReason.map(JSONValue.string) ?? .null, "executed_at": date(approval.executedAt),
            "execution_error": approval.executionError.map(JSONValue.string) ?? .null, "has_result": .bool(approval.result != nil),
        ]
    }

    static func find(_ call: SDKCall) throws -> Approval {
        let id = call.pathParameters["approval_id"] ?? ""
        guard let approval = call.sandbox.approvals.approval(id: id) else {
            throw VaultError(status: 404, code: "approval_not_found", message: "No approval \(id) in this app", details: ["approval_id": .string(id)])
        }
        return approval
    }

    /// `GET /sdk/approvals/{id}[?wait=N]`: the status, held up to `wait` seconds (real time) until
    /// it changes.
    static func status(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        var approval = try find(call)
        let waitText = QueryString.decode(call.query)["wait"]
        let wait = try waitText.map { text throws -> Int in
            guard let seconds = Int(text), (0...maximumWait).contains(seconds) else {
                throw VaultError(status: 422, code: "invalid_query", message: "wait must be a whole number of seconds from 0 to \(maximumWait), got '\(text)'")
            }
            return seconds
        } ?? 0
        let sandbox = call.sandbox
        let first = approval.status(at: sandbox.clock.now)
        let deadline = ContinuousClock.now + .seconds(wait)
        while !first.isTerminal, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            approval = sandbox.approvals.approval(id: approval.id) ?? approval
            if approval.status(at: sandbox.clock.now) != first { break }
        }
        return (200, statusBody(approval, at: sandbox.clock.now))
    }

    /// `GET /sdk/approvals/{id}/result`: the provider's answer once the call was executed; the
    /// approval's own refusal otherwise.
    static func result(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let approval = try find(call)
        switch approval.status(at: call.sandbox.clock.now) {
        case .executed:
            guard let result = approval.result else { break }
            return (200, ProxyEndpoint.result(result.status, headers: result.headers, body: result.body, milliseconds: result.milliseconds,
                                              approvalID: approval.id))
        case .denied:
            throw VaultError(status: 403, code: "approval_denied", message: approval.decisionReason ?? "The approver denied the request")
        case .expired:
            throw VaultError(status: 410, code: "approval_expired", message: "The approval window elapsed without a decision")
        case .failed:
            throw VaultError(status: 502, code: "approval_execution_failed", message: approval.executionError ?? "The approved call failed")
        case .pending, .approved, .executing:
            break
        }
        throw VaultError(status: 409, code: "approval_not_ready", message: "Approval \(approval.id) has no result yet",
                         details: ["status": .string(approval.status(at: call.sandbox.clock.now).rawValue)])
    }

    /// A person's decision. Approving executes the call at once (as the vault's worker would),
    /// with the grant's credential at that moment: a grant revoked meanwhile makes it `failed`.
    /// Returns the approval as it ends up; a `VaultError` when it can no longer be decided.
    static func decide(id: String, approve: Bool, reason: String?, sandbox: Sandbox, transport: any ProviderTransport,
                       serverURL: String) async throws(VaultError) -> Approval {
        let now = sandbox.clock.now
        var refusal: VaultError?
        let decided = sandbox.approvals.update(id: id) { approval in
            let status = approval.status(at: now)
            guard status == .pending else {
                if status == .expired { approval.status = .expired }
                refusal = VaultError(status: 409, code: "approval_decided", message: "This request was already \(status.rawValue)")
                return
            }
            approval.status = approve ? .executing : .denied
            approval.decidedAt = now
            approval.decisionReason = reason.flatMap { $0.isEmpty ? nil : $0 }
        }
        guard let approval = decided else { throw VaultError(status: 404, code: "approval_not_found", message: "No such approval") }
        if let refusal { throw refusal }
        guard approve else { return approval }

        let call = SDKCall(sandbox: sandbox, caller: approval.caller, body: Data(), pathParameters: [:], query: "",
                           transport: transport, serverURL: serverURL)
        func record(_ outcome: String, providerID: String?) {
            try? sandbox.store.append(tokenRequest: TokenRequestRecord(
                receivedAt: sandbox.clock.now, grantID: approval.grantID, providerID: providerID, method: approval.method, url: approval.url,
                reason: approval.reason, callerInfo: approval.caller, outcome: outcome), touching: outcome == "proxied" ? approval.grantID : nil)
        }
        do {
            let prepared = try ProxyEndpoint.Prepared(approval: approval)
            let (grant, answer, milliseconds) = try await ProxyEndpoint.perform(prepared, grantID: approval.grantID, call: call,
                                                                                reason: approval.reason)
            record("proxied", providerID: grant.providerID)
            return sandbox.approvals.update(id: id) {
                $0.status = .executed
                $0.executedAt = sandbox.clock.now
                $0.result = Approval.Result(status: answer.status, headers: answer.headers, body: answer.body, milliseconds: milliseconds)
            } ?? approval
        } catch {
            let message = (error as? VaultError).map { "\($0.code): \($0.message)" } ?? "VaultSim internal error (\(type(of: error)))"
            record((error as? VaultError)?.code ?? "internal_error", providerID: nil)
            return sandbox.approvals.update(id: id) {
                $0.status = .failed
                $0.executedAt = sandbox.clock.now
                $0.executionError = message
            } ?? approval
        }
    }
}
