import AsyncHTTPClient
import Foundation
import VaultSimCore
import VaultSimServer

/// The person `authenticate()` asks to sign in (`user: {sign_in: new, account: alice}`), in a
/// browser's place: opens the sign-in page the SDK's `auth_url` names, over HTTP, reads the
/// accounts it offers, and presses Sign in as `account` (the first offered when not given), or
/// Cancel (`deny`), or leaves (`open`). Reports `{outcome, status, page_status, title,
/// accounts, signed_in_as}`; `outcome` is `signed_in`, `cancelled` or `opened`.
struct SignInUser {
    let plan: UserPlan
    let sandbox: Sandbox
    let serverURL: String
    let opened: OpenedSessions
    /// How long to wait for a sign-in to appear.
    let wait: Duration

    func run() async throws -> JSONValue {
        let session = try await findSession()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let report = try await signIn(session, client: client)
            try await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func signIn(_ session: AuthSession, client: HTTPClient) async throws -> JSONValue {
        let url = VaultSimServer.signInURL(session, sandbox: sandbox, serverURL: serverURL)
        let (status, page) = try await fetch(client, "GET", url)
        let fields: [HTMLPage.Field] = page.forms.first { $0.id == "sign-in" }?.fields ?? []
        let accounts: [String] = fields.filter { $0.kind == "radio" && $0.name == "user" }.map(\.value)
        var report: JSONObject = [
            "outcome": "opened", "page_status": .number(Double(status)), "title": .string(page.title),
            "status": .string(page.elements["status"]?.attributes["data-status"] ?? ""),
            "accounts": .array(accounts.map { .string($0) }), "signed_in_as": .null,
        ]
        guard plan.action == .approve || plan.action == .deny else { return .object(report) }
        let formID = plan.action == .approve ? "sign-in" : "cancel"
        guard let form = page.forms.first(where: { $0.id == formID }) else {
            throw SimulatedUser.Failure(description: "the sign-in page (\(status), \(report["status"]?.stringValue ?? "")) has no \(formID) form: \(page.title)")
        }
        var answers = form.fields.filter { $0.kind == "hidden" }.map { ($0.name, $0.value) }
        if plan.action == .approve {
            let who = plan.account ?? accounts.first ?? ""
            guard accounts.contains(who) else {
                throw SimulatedUser.Failure(description: "the sign-in page offers no account '\(who)' (it offers: \(accounts.joined(separator: ", ")))")
            }
            answers.append(("user", who))
        }
        guard let target = URL(string: form.action, relativeTo: URL(string: url))?.absoluteString else {
            throw SimulatedUser.Failure(description: "the sign-in form's action '\(form.action)' is not a URL")
        }
        let (after, result) = try await fetch(client, "POST", target, body: QueryString.encode(answers))
        report["page_status"] = .number(Double(after))
        report["title"] = .string(result.title)
        report["status"] = .string(result.elements["status"]?.attributes["data-status"] ?? "")
        let signedInAs = result.elements["signed-in-as"]?.text.trimmingCharacters(in: .whitespacesAndNewlines)
        report["signed_in_as"] = signedInAs.map { .string($0) } ?? .null
        report["outcome"] = plan.action == .approve ? "signed_in" : "cancelled"
        return .object(report)
    }

    private func fetch(_ client: HTTPClient, _ method: String, _ url: String, body: String? = nil) async throws -> (Int, HTMLPage) {
        switch try await SimulatedUser.fetch(client, method, url, body: body, serverURL: serverURL) {
        case .page(_, let status, let page): return (status, page)
        case .landed(let target): throw SimulatedUser.Failure(description: "the sign-in page sent the browser away, to \(target)")
        }
    }

    /// `new`: the oldest sign-in no earlier step opened, waiting for one; `latest`: the newest.
    private func findSession() async throws -> AuthSession {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        while true {
            let sessions = sandbox.identity.sessions
            if plan.signIn == .latest, let newest = sessions.last { return newest }
            if plan.signIn != .latest, let next = sessions.first(where: { opened.open("sign-in:" + $0.pageToken) }) { return next }
            guard clock.now < deadline else {
                throw SimulatedUser.Failure(description: "no \(plan.signIn == .latest ? "" : "new ")sign-in appeared within \(wait) (authenticate() opens one)")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
