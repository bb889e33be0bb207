import AsyncHTTPClient
import Foundation
import NIOCore
import Synchronization
import VaultSimCore
import VaultSimServer

/// The Connect sessions user steps have opened in one scenario run (so `session: new` takes the
/// next one).
final class OpenedSessions: Sendable {
    private let tokens = Mutex(Set<String>())

    /// Marks a token opened; false when it already was.
    func open(_ token: String) -> Bool { tokens.withLock { $0.insert(token).inserted } }
}

/// The user of a scenario, in a browser's place: fetches the hosted Connect page over HTTP,
/// submits its forms, follows redirects to the provider's consent page, chooses an account and
/// scopes there, answers Allow or Cancel, and follows the redirects back through the vault's
/// callback. No shortcut through the control API: the pages themselves are what is tested.
/// Reports what it saw as JSON, for the step's `expect`.
struct SimulatedUser {
    let plan: UserPlan
    let sandbox: Sandbox
    let serverURL: String
    let opened: OpenedSessions
    /// How long to wait for a session to appear.
    let wait: Duration
    /// The session to act on, when the caller knows it (otherwise `plan.session` chooses).
    var token: String?

    static let maxRedirects = 10

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// A fetched page, or a redirect that leaves VaultSim (to the app's `return_url`).
    enum Arrival {
        case page(url: String, status: Int, page: HTMLPage)
        case landed(url: String)
    }

    func run() async throws -> JSONValue {
        let session = try await findSession()
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        do {
            let report = try await browse(session, client: client)
            try await client.shutdown()
            return report
        } catch {
            try? await client.shutdown()
            throw error
        }
    }

    private func browse(_ session: ConnectSession, client: HTTPClient) async throws -> JSONValue {
        var report: JSONObject = ["outcome": "pending", "providers_offered": [], "durations_offered": [], "consent_pages": [],
                                  "landed": .null, "post_message": .null]
        var consents: [JSONValue] = []
        var arrival = try await fetch(client, "GET", "\(serverURL)\(VaultSimServer.connectPath(sandboxID: sandbox.id, token: session.token))")
        if case .page(_, _, let page) = arrival {
            report["providers_offered"] = .array(page.forms.compactMap(\.id).filter { $0.hasPrefix("provider-") }
                .map { .string(String($0.dropFirst("provider-".count))) })
            let ttl = page.forms.flatMap(\.selects).first { $0.name == "ttl" }
            report["durations_offered"] = .array((ttl?.options ?? []).compactMap { Int($0.value) }.map { .number(Double($0)) })
        }
        if plan.action == .abandon || plan.action == .open {
            return finish(report, arrival: arrival, abandoned: plan.action == .abandon, consents: consents)
        }
        var providers = plan.providers
        if providers.isEmpty, case .page(_, _, let page) = arrival {
            let offered = page.forms.compactMap(\.id).filter { $0.hasPrefix("provider-") }.map { String($0.dropFirst("provider-".count)) }
            providers = plan.everyProvider ? offered : Array(offered.prefix(1))
        }
        for provider in providers {
            guard case .page(let url, _, let page) = arrival else { break }
            guard let form = page.forms.first(where: { $0.id == "provider-\(provider)" }) else {
                let offered = page.forms.compactMap(\.id).filter { $0.hasPrefix("provider-") }.map { $0.dropFirst("provider-".count) }
                if offered.isEmpty { break }
                throw Failure(description: "the hosted page does not offer \(provider) (it offers: \(offered.joined(separator: ", ")))")
            }
            arrival = try await submit(client, form, from: url, answers: try durationAnswer(form))
            guard case .page(let consentURL, _, let consentPage) = arrival else { break }
            guard let consent = consentPage.forms.first(where: { $0.id == "consent" }) else {
                // The provider refused the authorization request with its own error page.
                consents.append(["provider": .string(provider), "error_page": .string(consentPage.headings.first ?? consentPage.title)])
                break
            }
            consents.append(describe(consent, page: consentPage, provider: provider))
            if let linger = plan.linger { _ = sandbox.clock.advance(by: linger) }
            arrival = try await submit(client, consent, from: consentURL, answers: try consentAnswers(consent, provider: provider))
        }
        if plan.finish, case .page(let url, _, let page) = arrival, let finishForm = page.forms.first(where: { $0.id == "finish" }) {
            arrival = try await submit(client, finishForm, from: url, answers: [])
        }
        return finish(report, arrival: arrival, abandoned: false, consents: consents)
    }

    // MARK: reading pages

    private func finish(_ report: JSONObject, arrival: Arrival, abandoned: Bool, consents: [JSONValue]) -> JSONValue {
        var report = report
        report["consent_pages"] = .array(consents)
        switch arrival {
        case .landed(let url):
            let query = URLComponents(string: url)?.queryItems ?? []
            var fields: JSONObject = [:]
            for item in query {
                let value = JSONValue.string(item.value ?? "")
                switch fields[item.name] {
                case nil: fields[item.name] = value
                case .array(let values)?: fields[item.name] = .array(values + [value])
                case let one?: fields[item.name] = [one, value]
                }
            }
            report["landed"] = ["url": .string(url), "query": .object(fields)]
            report["outcome"] = fields["status"] ?? "landed"
            report["status"] = 303
        case .page(_, let status, let page):
            report["status"] = .number(Double(status))
            report["title"] = .string(page.title)
            report["message"] = .string(page.elements["message"]?.text ?? page.elements["notice"]?.text ?? "")
            let result = page.elements["connect-result"]
            if let origin = result?.attributes["data-origin"], !origin.isEmpty {
                report["post_message"] = ["target_origin": .string(origin),
                                          "data": JSONValue.parse(result?.attributes["data-payload"] ?? "") ?? .null]
            }
            if abandoned {
                report["outcome"] = "abandoned"
            } else if let status = result?.attributes["data-status"] {
                report["outcome"] = .string(status)
            } else if status == 410 {
                report["outcome"] = "expired"
            } else if page.forms.contains(where: { $0.id?.hasPrefix("provider-") == true }) {
                report["outcome"] = "pending"
            } else {
                report["outcome"] = status >= 400 ? "error_page" : "unknown"
            }
        }
        return .object(report)
    }

    private func describe(_ consent: HTMLPage.Form, page: HTMLPage, provider: String) -> JSONValue {
        [
            "provider": .string(provider), "heading": .string(page.elements["consent-heading"]?.text ?? page.headings.first ?? ""),
            "accounts": .array(consent.fields.filter { $0.name == "account" }.map { .string($0.value) }),
            "scopes": .array(consent.fields.filter { $0.name == "grant_scope" }.map { .string($0.value) }),
            "buttons": .array(consent.buttons.map { .string($0.label) }),
        ]
    }

    private func durationAnswer(_ form: HTMLPage.Form) throws -> [(String, String)] {
        guard let select = form.selects.first(where: { $0.name == "ttl" }) else {
            if plan.duration != nil { throw Failure(description: "the hosted page offers no grant duration to pick") }
            return []
        }
        if let duration = plan.duration {
            guard select.options.contains(where: { $0.value == String(duration) }) else {
                throw Failure(description: "the hosted page offers no duration of \(duration) s (it offers: \(select.options.map(\.value).joined(separator: ", ")))")
            }
            return [("ttl", String(duration))]
        }
        return (select.options.first(where: \.selected) ?? select.options.first).map { [("ttl", $0.value)] } ?? []
    }

    private func consentAnswers(_ consent: HTMLPage.Form, provider: String) throws -> [(String, String)] {
        let accounts = consent.fields.filter { $0.name == "account" }
        let account: String
        if let wanted = plan.account {
            guard accounts.contains(where: { $0.value == wanted }) else {
                throw Failure(description: "\(provider)'s account chooser does not list \(wanted) (it lists: \(accounts.map(\.value).joined(separator: ", ")))")
            }
            account = wanted
        } else {
            account = (accounts.first(where: \.checked) ?? accounts.first)?.value ?? ""
        }
        let offered = consent.fields.filter { $0.name == "grant_scope" }.map(\.value)
        let ticked = plan.scopes ?? offered
        for scope in ticked where !offered.contains(scope) {
            throw Failure(description: "\(provider)'s consent page does not ask for \(scope) (it asks for: \(offered.joined(separator: ", ")))")
        }
        return [("account", account)] + ticked.map { ("grant_scope", $0) } + [("decision", plan.action == .deny ? "cancel" : "allow")]
    }

    // MARK: HTTP

    /// Submits a form: its hidden fields, then `answers`, to its action resolved against `url`.
    private func submit(_ client: HTTPClient, _ form: HTMLPage.Form, from url: String, answers: [(String, String)]) async throws -> Arrival {
        let answered = Set(answers.map(\.0))
        let hidden = form.fields.filter { $0.kind == "hidden" && !answered.contains($0.name) }.map { ($0.name, $0.value) }
        let body = QueryString.encode(hidden + answers)
        guard let target = URL(string: form.action.isEmpty ? url : form.action, relativeTo: URL(string: url))?.absoluteString else {
            throw Failure(description: "the form's action '\(form.action)' on \(url) is not a URL")
        }
        if form.method == "get" {
            return try await fetch(client, "GET", target + (target.contains("?") ? "&" : "?") + body)
        }
        return try await fetch(client, "POST", target, body: body)
    }

    /// Sends a request as a browser does, following redirects while they stay on this server.
    private func fetch(_ client: HTTPClient, _ method: String, _ start: String, body: String? = nil) async throws -> Arrival {
        try await Self.fetch(client, method, start, body: body, serverURL: serverURL)
    }

    /// A browser's request (`x-vaultsim-caller: browser`), redirects followed while they stay on
    /// `serverURL`. Shared with the approver (`ApprovalUser`).
    static func fetch(_ client: HTTPClient, _ method: String, _ start: String, body: String? = nil, serverURL: String) async throws -> Arrival {
        var url = start
        var method = method
        var body = body
        for _ in 0...Self.maxRedirects {
            guard url.hasPrefix(serverURL) else { return .landed(url: url) }
            var request = HTTPClientRequest(url: url)
            request.method = .init(rawValue: method)
            request.headers.add(name: "accept", value: "text/html,application/xhtml+xml")
            request.headers.add(name: "user-agent", value: "VaultSim simulated user")
            request.headers.add(name: "x-vaultsim-caller", value: "browser")
            if let body {
                request.headers.add(name: "content-type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: body))
            }
            let response = try await client.execute(request, timeout: .seconds(30))
            let bytes = try await response.body.collect(upTo: 4 << 20)
            let status = Int(response.status.code)
            if [301, 302, 303, 307, 308].contains(status), let location = response.headers.first(name: "location") {
                guard let next = URL(string: location, relativeTo: URL(string: url))?.absoluteString else {
                    throw Failure(description: "\(url) redirected to '\(location)', which is not a URL")
                }
                url = next
                if status != 307, status != 308 {
                    method = "GET"
                    body = nil
                }
                continue
            }
            return .page(url: url, status: status, page: HTMLPage(String(buffer: bytes)))
        }
        throw Failure(description: "more than \(Self.maxRedirects) redirects from \(start)")
    }

    // MARK: sessions

    /// The session to act on: waits until the vault has one (the SDK may be creating it now).
    private func findSession() async throws -> ConnectSession {
        let clock = ContinuousClock()
        let deadline = clock.now + wait
        if let token {
            guard let session = try sandbox.store.connectSession(token: token), opened.open(token) else {
                throw Failure(description: "the Connect session \(token.prefix(11))… is gone or already opened")
            }
            return session
        }
        while true {
            let sessions = try sandbox.store.connectSessions(limit: 50)
            switch plan.session {
            case .latest:
                if let newest = sessions.first {
                    _ = opened.open(newest.token)
                    return newest
                }
            case .new:
                // Oldest first among those no user step has opened.
                if let next = sessions.reversed().first(where: { opened.open($0.token) }) { return next }
            }
            guard clock.now < deadline else {
                throw Failure(description: "no \(plan.session == .new ? "new " : "")Connect session appeared within \(wait) (the SDK creates one with connect() or create_connect_session())")
            }
            try await Task.sleep(for: .milliseconds(20))
        }
    }
}
