import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VaultSimCore
import VaultSimProviders

/// The app's identity provider's sign-in page, where `authenticate()`'s `auth_url` leads: the
/// people the IdP knows, to sign in as one (a radio list, then Sign in) or to Cancel. Signing in
/// completes the sign-in session with a fresh user token; Cancel ends it with
/// `error_message: "The user cancelled the sign-in"`. The page token in the URL is what lets its
/// holder sign in. Readable without JavaScript.
extension VaultSimServer {
    /// Where a person signs in for an `authenticate()` (its `auth_url`).
    public static func signInURL(_ session: AuthSession, sandbox: Sandbox, serverURL: String) -> String {
        IdentityPages.signInURL(serverURL: serverURL, sandboxID: sandbox.id, pageToken: session.pageToken)
    }
}

struct IdentityPages: Sendable {
    let server: VaultSimServer

    static let cancelledMessage = "The user cancelled the sign-in"

    static func signInURL(serverURL: String, sandboxID: String, pageToken: String) -> String {
        "\(serverURL)\(ProviderRoutes.mountPrefix)/\(sandboxID)/idp/sign-in?page=\(pageToken)"
    }

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("\(ProviderRoutes.mountPrefix)/:sandbox/idp/sign-in") { request, context in
            await page(request, context, form: false)
        }
        router.post("\(ProviderRoutes.mountPrefix)/:sandbox/idp/sign-in") { request, context in
            await page(request, context, form: true)
        }
    }

    private func page(_ request: Request, _ context: some RequestContext, form: Bool) async -> Response {
        await ConnectPages.sandboxPage(request, context, registry: server.registry, form: form,
                                       unreadable: "The sign-in could not be read") { sandbox, fields, query in
            guard let token = fields["page"] ?? query["page"], let session = sandbox.identity.session(pageToken: token) else {
                return ConnectPages.errorPage(404, "No such sign-in", "This sign-in link is not valid: check that it was copied whole.")
            }
            guard form else { return show(session, sandbox: sandbox) }
            let now = sandbox.clock.now
            guard session.status(at: now) == .pending else { return show(session, sandbox: sandbox) }
            switch fields["decision"] ?? "" {
            case "cancel":
                sandbox.identity.finish(pageToken: token, user: nil, token: nil, errorMessage: Self.cancelledMessage, at: now)
            case "sign_in":
                guard let name = fields["user"], let user = sandbox.identity.user(named: name) else {
                    return show(session, sandbox: sandbox, problem: "Choose who signs in.", status: 400)
                }
                sandbox.identity.finish(pageToken: token, user: user, token: AuthEndpoint.mint(for: user, in: sandbox), errorMessage: nil, at: now)
            default:
                return show(session, sandbox: sandbox, problem: "Press Sign in or Cancel.", status: 400)
            }
            return show(sandbox.identity.session(pageToken: token) ?? session, sandbox: sandbox)
        }
    }

    private func show(_ session: AuthSession, sandbox: Sandbox, problem: String? = nil, status: Int = 200) -> Exchange.Response {
        let state = session.status(at: sandbox.clock.now)
        let users = sandbox.identity.users
        let context: [String: Any] = [
            "app": sandbox.app.displayName, "status": state.rawValue, "pending": state == .pending,
            "completed": state == .completed, "cancelled": state == .error, "expired": state == .expired,
            "signedInAs": session.user?.name ?? "", "message": session.errorMessage ?? "",
            "users": users.enumerated().map { index, user in
                ["name": user.name, "sub": user.sub, "email": user.email ?? "", "hasEmail": user.email != nil, "checked": index == 0] as [String: Any]
            },
            "token": session.pageToken, "action": "\(ProviderRoutes.mountPrefix)/\(sandbox.id)/idp/sign-in",
            "problem": problem ?? "", "hasProblem": problem != nil, "expiresAt": session.expiresAt.rfc3339,
        ]
        return ConnectPages.html(state == .expired ? 410 : status, IdentityTemplates.library.render(context, withTemplate: "sign-in") ?? "")
    }
}

enum IdentityTemplates {
    static let library: MustacheLibrary = {
        do {
            return MustacheLibrary(templates: ["head": try MustacheTemplate(string: ConnectTemplates.head),
                                               "sign-in": try MustacheTemplate(string: page)])
        } catch {
            preconditionFailure("the sign-in page template does not parse: \(error)")
        }
    }()

    static let page = """
        <!DOCTYPE html>
        <html lang="en"><head>{{>head}}<title>Sign in - {{app}}</title></head>
        <body>
        <h1>Sign in to {{app}}</h1>
        <p id="status" data-status="{{status}}">{{#pending}}Choose your account (before {{expiresAt}}).{{/pending}}{{#completed}}You are signed in as <strong id="signed-in-as">{{signedInAs}}</strong>. You can close this window.{{/completed}}{{#cancelled}}<span id="message">{{message}}</span>{{/cancelled}}{{#expired}}This sign-in has expired. Start again from the app.{{/expired}}</p>
        {{#hasProblem}}<p class="notice" id="problem">{{problem}}</p>{{/hasProblem}}
        {{#pending}}
        <form method="post" action="{{action}}" id="sign-in"><input type="hidden" name="page" value="{{token}}">
        <input type="hidden" name="decision" value="sign_in">
        <fieldset><legend>Accounts</legend>
        {{#users}}<label><input type="radio" name="user" value="{{name}}"{{#checked}} checked{{/checked}}> {{name}}{{#hasEmail}} &lt;{{email}}&gt;{{/hasEmail}}</label><br>{{/users}}
        </fieldset>
        <button type="submit">Sign in</button></form>
        <form method="post" action="{{action}}" id="cancel"><input type="hidden" name="page" value="{{token}}">
        <input type="hidden" name="decision" value="cancel"><button type="submit">Cancel</button></form>
        {{/pending}}
        </body></html>
        """
}
