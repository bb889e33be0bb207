import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore
import VaultSimProviders

/// The hosted Connect pages a user opens at `connect_url`: choose a provider (and a grant
/// duration when the session's policy offers one), go to the provider's own consent page, come
/// back to the vault's callback, see the outcome. The redirect flow ends at `return_url` with the
/// outcome in its query; the popup flow posts the outcome to `window.opener` at `allowed_origin`
/// only. Pages are readable without JavaScript; only the postMessage needs it.
extension VaultSimServer {
    /// The path of a Connect session's hosted page on this server.
    public static func connectPath(sandboxID: String, token: String) -> String {
        ConnectPages.sessionPath(sandboxID: sandboxID, token: token)
    }
}

struct ConnectPages: Sendable {
    let server: VaultSimServer

    static let callbackPath = "/connect/callback"

    /// Where the hosted page of a session is served.
    static func sessionURL(serverURL: String, sandboxID: String, token: String) -> String {
        "\(serverURL)\(sessionPath(sandboxID: sandboxID, token: token))"
    }

    static func sessionPath(sandboxID: String, token: String) -> String {
        "\(ProviderRoutes.mountPrefix)/\(sandboxID)/connect/\(token)"
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("\(ProviderRoutes.mountPrefix)/:sandbox/connect/:token") { request, context in
            await page(request, context) { sandbox, token, _ in try await chooser(sandbox, token: token) }
        }
        router.post("\(ProviderRoutes.mountPrefix)/:sandbox/connect/:token/start") { request, context in
            await page(request, context, form: true) { sandbox, token, body in
                try start(sandbox, token: token, form: QueryString.decode(body))
            }
        }
        router.post("\(ProviderRoutes.mountPrefix)/:sandbox/connect/:token/finish") { request, context in
            await page(request, context) { sandbox, token, _ in
                let session = try service(sandbox).finish(token: token)
                return outcome(session, sandbox: sandbox)
            }
        }
        router.get(RouterPath(Self.callbackPath)) { request, _ in
            let query = QueryString.decode(request.uri.query ?? "")
            let state = query["state"] ?? ""
            guard let dot = state.firstIndex(of: "."), let sandbox = server.registry.sandbox(id: String(state[..<dot])) else {
                return Self.errorPage(400, "This sign-in link is not valid", "The provider sent the browser back without a state this vault issued.")
                    .httpResponse
            }
            return await Self.recorded(request, body: Data(), in: sandbox) { _ in await callback(query, sandbox: sandbox) }
        }
    }

    /// Passes a browser's request to a hosted page through the interception chain (so it is
    /// journaled, and replayed when the sandbox replays), then renders the page's answer.
    static func recorded(_ request: Request, body: Data, in sandbox: Sandbox,
                         _ handler: @escaping @Sendable (Exchange.Request) async -> Exchange.Response) async -> Response {
        var fields = request.headers
        if let authority = request.head.authority { fields.insert(HTTPField(name: HTTPField.Name("Host")!, value: authority), at: 0) }
        let exchange = Exchange.Request(method: request.method.rawValue, scheme: "http", host: request.head.authority ?? "", path: request.uri.path,
                                        query: request.uri.query ?? "", headers: fields, body: body)
        do {
            let answer = try await InterceptionChain.standard.run(exchange, in: ExchangeContext(sandbox: sandbox, caller: .browser, service: "vault")) {
                request, _ in ExchangeAnswer(await handler(request), by: "vault")
            }
            return try await ExchangeResponder.response(answer)
        } catch {
            return errorPage(500, "Connect could not go on", "VaultSim internal error (\(type(of: error)))").httpResponse
        }
    }

    // MARK: pages

    private func chooser(_ sandbox: Sandbox, token: String, notice: String? = nil) async throws(VaultError) -> Exchange.Response {
        let connect = service(sandbox)
        let session = try connect.session(token: token)
        switch session.status(at: sandbox.clock.now) {
        case .pending: break
        case .expired:
            // The popup flow's opener hears it (the result page posts it); the redirect flow does not go back.
            guard session.returnURL == nil else { return Self.errorPage(410, "This Connect session has expired", "Ask the app for a new link and try again.") }
            return outcome(session, sandbox: sandbox)
        case .completed, .error: return outcome(session, sandbox: sandbox)
        }
        try connect.markOpened(session)
        let policy = session.grantPolicy
        var context: [String: Any] = [
            "app": sandbox.app.displayName,
            "action": Self.sessionPath(sandboxID: sandbox.id, token: token),
            "providers": try connect.offeredProviders(session).map { ["id": $0.id, "name": $0.displayName] },
            "durations": (policy?.choices ?? []).map { seconds -> [String: Any] in
                ["seconds": seconds, "label": Self.durationLabel(seconds), "selected": seconds == policy?.preselected]
            },
            "connected": session.results.map { result -> [String: Any] in
                ["provider": ProviderCatalog.descriptor(id: result.providerID)?.displayName ?? result.providerID,
                 "account": result.accountIdentifier ?? ""]
            },
            "expiresAt": session.expiresAt.readable,
            "hasConnected": !session.results.isEmpty, "hasDurations": !(policy?.choices ?? []).isEmpty,
            "origin": session.messageOrigin ?? "", "postMessage": session.messageOrigin != nil,
        ]
        if let notice { context["notice"] = notice }
        return Self.html(200, ConnectTemplates.render("choose", context))
    }

    private func start(_ sandbox: Sandbox, token: String, form: [String: String]) throws(VaultError) -> Exchange.Response {
        var ttl: Int?
        if let text = form["ttl"], !text.isEmpty {
            guard let seconds = Int(text) else { throw VaultError.badRequest("ttl must be a number of seconds") }
            ttl = seconds
        }
        let realURL = try service(sandbox).begin(token: token, providerID: form["provider"] ?? "", ttlSeconds: ttl,
                                                 callbackURL: server.callbackURL)
        return Self.redirect(gatewayURL(realURL, sandboxID: sandbox.id))
    }

    private func callback(_ query: [String: String], sandbox: Sandbox) async -> Exchange.Response {
        let state = query["state"] ?? ""
        do {
            let result = try await service(sandbox).complete(state: state, code: query["code"], error: query["error"],
                                                              errorDescription: query["error_description"])
            let session = result.session
            if session.status(at: sandbox.clock.now) == .pending, let connected = result.connected {
                let name = ProviderCatalog.descriptor(id: connected.providerID)?.displayName ?? connected.providerID
                return try await chooser(sandbox, token: session.token, notice: "Connected \(name) as \(connected.accountIdentifier ?? "an account").")
            }
            return outcome(session, sandbox: sandbox)
        } catch {
            return Self.errorPage(error.status, "Connect could not finish", error.message)
        }
    }

    /// The end of a session: to `return_url` with the outcome, or the result page (which posts
    /// the outcome to `allowed_origin` when the session names one).
    private func outcome(_ session: ConnectSession, sandbox: Sandbox) -> Exchange.Response {
        let status = session.status(at: sandbox.clock.now)
        if let returnURL = session.returnURL {
            var query: [(String, String)] = [("status", status.rawValue)]
            for result in session.results { query += [("grant_id", result.grantID), ("provider_id", result.providerID)] }
            if status == .error {
                query += [("error_code", session.errorCode ?? "unknown_error"), ("error_message", session.errorMessage ?? "")]
            }
            return Self.redirect(returnURL + (returnURL.contains("?") ? "&" : "?") + QueryString.encode(query))
        }
        let (title, message): (String, String) = switch status {
        case .completed: ("You're all set", "Your accounts are connected. You can close this window and return to \(sandbox.app.displayName).")
        case .error: (session.errorCode == "connect_denied" ? "Access was not granted" : "Connection failed", session.errorMessage ?? "The OAuth flow failed.")
        case .expired: ("This Connect session has expired", "Ask the app for a new link and try again.")
        case .pending: ("Still connecting", "Finish connecting in the window you started from.")
        }
        var payload: JSONObject = ["type": "alter-connect", "status": .string(status.rawValue),
                                   "connections": .array(session.results.map(Self.connection))]
        if status == .error {
            payload["error"] = ["error_code": .string(session.errorCode ?? "unknown_error"), "error_message": .string(session.errorMessage ?? "")]
        }
        let context: [String: Any] = [
            "title": title, "message": message, "status": status.rawValue, "origin": session.messageOrigin ?? "",
            "payload": JSONValue.object(payload).jsonText, "postMessage": session.messageOrigin != nil,
            "hasConnected": !session.results.isEmpty,
            "connected": session.results.map { result -> [String: Any] in
                ["provider": ProviderCatalog.descriptor(id: result.providerID)?.displayName ?? result.providerID,
                 "account": result.accountIdentifier ?? "", "scopes": result.scopes.joined(separator: ", ")]
            },
        ]
        return Self.html(status == .expired ? 410 : 200, ConnectTemplates.render("result", context))
    }

    /// A connection as the Connect widget hands it to `onSuccess` (its documented `Grant`).
    static func connection(_ result: ConnectResultRecord) -> JSONValue {
        let account = result.accountIdentifier ?? ""
        var metadata: JSONObject = [:]
        if account.contains("@") { metadata["account_email"] = .string(account) }
        return [
            "grant_id": .string(result.grantID), "provider": .string(result.providerID),
            "provider_name": .string(ProviderCatalog.descriptor(id: result.providerID)?.displayName ?? result.providerID),
            "account_identifier": .string(account), "timestamp": result.connectedAt.map { .string($0.rfc3339) } ?? .null,
            "operation": .string(result.operation ?? "creation"), "scopes": .array(result.scopes.map(JSONValue.string)),
            "status": "active", "metadata": .object(metadata),
        ]
    }

    // MARK: helpers

    private func service(_ sandbox: Sandbox) -> ConnectService {
        ConnectService(credentials: server.credentials(sandbox))
    }

    /// Runs a page of a session named in the path, through the interception chain; a
    /// `VaultError` becomes an HTML error page. A `form` page gets its body checked first.
    private func page(_ request: Request, _ context: some RequestContext, form: Bool = false,
                      _ body: @escaping @Sendable (Sandbox, String, Data) async throws -> Exchange.Response) async -> Response {
        let sandboxID = context.parameters.get("sandbox") ?? ""
        guard let sandbox = server.registry.sandbox(id: sandboxID) else {
            return Self.errorPage(404, "No such sandbox", "VaultSim has no sandbox '\(sandboxID)' (it may have been deleted).").httpResponse
        }
        var bytes = Data()
        if form {
            do {
                bytes = try await Self.formBody(request)
            } catch {
                return Self.errorPage(413, "Connect could not go on", "\(error)").httpResponse
            }
        }
        let token = context.parameters.get("token") ?? ""
        return await Self.recorded(request, body: bytes, in: sandbox) { request in
            do {
                return try await body(sandbox, token, request.body)
            } catch let error as VaultError {
                return Self.errorPage(error.status, error.status == 410 ? "This Connect session has expired" : "Connect could not go on", error.message)
            } catch {
                return Self.errorPage(500, "Connect could not go on", "VaultSim internal error (\(type(of: error)))")
            }
        }
    }

    /// A real provider URL as this sandbox's gateway serves it to a browser.
    private func gatewayURL(_ realURL: String, sandboxID: String) -> String {
        let rest = realURL.drop { $0 != ":" }.dropFirst(3)
        let hostEnd = rest.firstIndex { $0 == "/" || $0 == "?" } ?? rest.endIndex
        return ProviderRoutes.baseURL(serverURL: server.address.baseURL, sandboxID: sandboxID, host: String(rest[..<hostEnd]))
            + rest[hostEnd...]
    }

    /// A person's page of one sandbox (an approval, a sign-in): the sandbox named in the path (404
    /// when it is gone), the form of a POST (refused over its limits, with `unreadable` as the
    /// title), then `handler` inside the interception chain (`recorded`), given the sandbox, the
    /// form's fields and the URL's query fields.
    static func sandboxPage(_ request: Request, _ context: some RequestContext, registry: SandboxRegistry, form: Bool, unreadable: String,
                            _ handler: @escaping @Sendable (Sandbox, _ fields: [String: String], _ query: [String: String]) async -> Exchange.Response) async -> Response {
        let sandboxID = context.parameters.get("sandbox") ?? ""
        guard let sandbox = registry.sandbox(id: sandboxID) else {
            return errorPage(404, "No such sandbox", "VaultSim has no sandbox '\(sandboxID)' (it may have been deleted).").httpResponse
        }
        var bytes = Data()
        if form {
            do {
                bytes = try await formBody(request)
            } catch {
                return errorPage(413, unreadable, "\(error)").httpResponse
            }
        }
        let query = QueryString.decode(request.uri.query ?? "")
        return await recorded(request, body: bytes, in: sandbox) { exchange in
            await handler(sandbox, QueryString.decode(exchange.body), query)
        }
    }

    /// A form's bytes, refused over 64 KiB or over the codec's limits.
    static func formBody(_ request: Request) async throws -> Data {
        let buffer = try await request.body.collect(upTo: 64 << 10)
        if let refusal = QueryString.check(buffer.readableBytesView) {
            throw HTTPError(.contentTooLarge, message: "The form has \(refusal).")
        }
        return Data(buffer: buffer)
    }

    static func durationLabel(_ seconds: Int) -> String {
        switch seconds {
        case let s where s % 86400 == 0: s == 86400 ? "1 day" : "\(s / 86400) days"
        case let s where s % 3600 == 0: s == 3600 ? "1 hour" : "\(s / 3600) hours"
        case let s where s % 60 == 0: "\(s / 60) minutes"
        default: "\(seconds) seconds"
        }
    }

    static func html(_ status: Int, _ text: String) -> Exchange.Response {
        Exchange.Response(status: status, headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"], body: Data(text.utf8))
    }

    static func redirect(_ location: String) -> Exchange.Response {
        Exchange.Response(status: 303, headers: [.location: location, .cacheControl: "no-store"])
    }

    static func errorPage(_ status: Int, _ title: String, _ message: String) -> Exchange.Response {
        html(status, ConnectTemplates.render("error", ["title": title, "message": message]))
    }
}
