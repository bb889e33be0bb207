import AsyncHTTPClient
import Foundation
import VaultSimCore
import VaultSimServer

/// The person who decides a human approval (`user: {approval: latest, action: …}`), in a
/// browser's place: opens the newest approval's page over HTTP, reads the request it shows, and
/// presses Approve or Deny (with a reason), or leaves (`ignore`, `open`). Reports what it saw:
/// `{outcome, status, request: {method, url, body}, result_status, page_status}`.
struct ApprovalUser {
    let plan: UserPlan
    let sandbox: Sandbox
    let serverURL: String
    /// How long to wait for an approval to appear.
    let wait: Duration

    func run() async throws -> JSONValue {
        let approval = try await findApproval()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let report = try await decide(approval, client: client)
            try await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func decide(_ approval: Approval, client: HTTPClient) async throws -> JSONValue {
        let url = VaultSimServer.approvalURL(approval, sandbox: sandbox, serverURL: serverURL)
        let (status, page) = try await fetch(client, "GET", url)
        var report: JSONObject = [
            "page_status": .number(Double(status)), "title": .string(page.title),
            "request": ["method": .string(text(page, "method")), "url": .string(text(page, "url")), "body": .string(text(page, "body")),
                        "reason": .string(text(page, "reason"))],
            "outcome": "ignored", "status": .string(page.elements["status"]?.attributes["data-status"] ?? ""), "result_status": .null,
        ]
        guard plan.action == .approve || plan.action == .deny else { return .object(report) }
        let formID = plan.action == .approve ? "approve" : "deny"
        guard let form = page.forms.first(where: { $0.id == formID }) else {
            throw SimulatedUser.Failure(description: "the approval page (\(status)) has no \(formID) button: \(page.title)")
        }
        let hidden = form.fields.filter { $0.kind == "hidden" }.map { ($0.name, $0.value) }
        let answers = plan.action == .deny ? [("reason", plan.reason ?? "")] : []
        guard let target = URL(string: form.action, relativeTo: URL(string: url))?.absoluteString else {
            throw SimulatedUser.Failure(description: "the approval form's action '\(form.action)' is not a URL")
        }
        let (after, decided) = try await fetch(client, "POST", target, body: QueryString.encode(hidden + answers))
        report["outcome"] = plan.action == .approve ? "approved" : "denied"
        report["page_status"] = .number(Double(after))
        report["status"] = .string(decided.elements["status"]?.attributes["data-status"] ?? "")
        if let done = sandbox.approvals.approval(id: approval.id)?.result { report["result_status"] = .number(Double(done.status)) }
        return .object(report)
    }

    private func text(_ page: HTMLPage, _ id: String) -> String {
        page.elements[id]?.text.trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
    }

    private func fetch(_ client: HTTPClient, _ method: String, _ url: String, body: String? = nil) async throws -> (Int, HTMLPage) {
        switch try await SimulatedUser.fetch(client, method, url, body: body, serverURL: serverURL) {
        case .page(_, let status, let page): return (status, page)
        case .landed(let target): throw SimulatedUser.Failure(description: "the approval page sent the browser away, to \(target)")
        }
    }

    /// The newest approval, waiting until the vault has one (the SDK may be asking now).
    private func findApproval() async throws -> Approval {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        while true {
            if let newest = sandbox.approvals.all.last { return newest }
            guard clock.now < deadline else {
                throw SimulatedUser.Failure(description: "no approval appeared within \(wait) (a proxy_request on a grant whose policy requires approval makes one)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
