import Foundation
import Mustache
import VaultSimCore

/// A provider's consent page, as its users meet it: the authorization request is checked, then
/// the page lists the accounts the sandbox has at the provider (an account chooser), one
/// checkbox per requested scope (a user may grant fewer) and the provider's own buttons. The
/// form posts back to the same path; Allow issues a code and Cancel answers `access_denied`,
/// both by redirecting to the client's `redirect_uri` with its `state`.
struct ConsentPage {
    /// How one provider words and brands its page.
    struct Style: Sendable {
        var brand: String
        var heading: @Sendable (_ app: String) -> String
        var allowLabel: @Sendable (_ app: String) -> String
        var cancelLabel = "Cancel"
        var accountHeading: String
        /// Words for the scopes the provider's real page explains.
        var scopeDescriptions: [String: String]
        /// Extra parameters of the redirect after Cancel (GitHub adds a description and a URI).
        var deniedExtras: [(String, String)] = []
    }

    /// A checked authorization request: what the page offers and carries in its hidden fields.
    struct Request: Sendable {
        var clientID: String
        var redirectURI: String
        var scopes: [String]
        var state: String?
        var codeChallenge: String?
        var codeChallengeMethod: String?
        /// The request's parameters, carried through the form unchanged.
        var carried: [(String, String)]
    }

    let provider: any OAuthFakeProvider
    let server: AuthorizationServer
    let sandbox: Sandbox
    let style: Style

    /// Form fields the page adds; everything else the form posts is the request, carried through.
    static let answerFields: Set<String> = ["decision", "account", "grant_scope"]

    /// GET shows the page for a request `check` accepts; POST takes the user's answer to it.
    /// `check` reads the request's parameters (the query, or the carried form fields) and
    /// answers either a checked request or the provider's own error page.
    func handle(_ call: ProviderCall, action: String,
                check: ([String: String], _ carried: [(String, String)]) -> Result<Request, ProviderError>) -> ProviderResponse {
        let post = call.method == "POST"
        let pairs = post ? QueryString.pairs(call.body) : QueryString.pairs(call.rawQuery)
        let carried = pairs.filter { !Self.answerFields.contains($0.name) }.map { ($0.name, $0.value) }
        let parameters = Dictionary(carried, uniquingKeysWith: { _, last in last })
        switch check(parameters, carried) {
        case .failure(let error): return error.page
        case .success(let request): return post ? decide(pairs, request: request, action: action) : render(request, action: action)
        }
    }

    /// A request the provider refuses before asking anyone, with its error page.
    struct ProviderError: Error {
        var page: ProviderResponse
    }

    /// The page for a checked request (GET).
    func render(_ request: Request, action: String, error: String? = nil) -> ProviderResponse {
        let accounts = offeredAccounts()
        let app = sandbox.app.displayName
        var context: [String: Any] = [
            "brand": style.brand, "heading": style.heading(app), "app": app, "action": action,
            "accountHeading": style.accountHeading, "allow": style.allowLabel(app), "cancel": style.cancelLabel,
            "accounts": accounts.enumerated().map { index, account -> [String: Any] in
                ["login": account.login, "name": account.name, "email": account.email, "checked": index == 0]
            },
            "scopes": request.scopes.map { scope -> [String: Any] in
                ["value": scope, "description": style.scopeDescriptions[scope] ?? scope, "raw": scope]
            },
            "hidden": request.carried.map { ["name": $0.0, "value": $0.1] },
        ]
        if let error { context["error"] = error }
        return .text(error == nil ? 200 : 400, Self.template.render(context), contentType: "text/html; charset=utf-8")
    }

    /// The user's answer (POST): a redirect to the client with a code, or with `access_denied`.
    func decide(_ form: [(name: String, value: String)], request: Request, action: String) -> ProviderResponse {
        let decision = form.last { $0.name == "decision" }?.value ?? ""
        if decision == "cancel" {
            return redirect(request, [("error", "access_denied")] + style.deniedExtras)
        }
        guard decision == "allow" else { return render(request, action: action, error: "Choose \(style.allowLabel(sandbox.app.displayName)) or \(style.cancelLabel).") }
        let ticked = form.filter { $0.name == "grant_scope" }.map(\.value)
        let granted = request.scopes.filter(ticked.contains)
        guard !granted.isEmpty else { return render(request, action: action, error: "Select at least one permission to continue.") }
        let login = form.last { $0.name == "account" }?.value ?? ""
        guard let account = offeredAccounts().first(where: { $0.login == login }) else {
            return render(request, action: action, error: "Choose an account to continue.")
        }
        do {
            let stored = try ProviderStore(sandbox).ensure(account: account)
            let code = try server.authorize(.init(
                clientID: request.clientID, redirectURI: request.redirectURI, scopes: granted, accountID: stored.id,
                codeChallenge: request.codeChallenge, codeChallengeMethod: request.codeChallengeMethod))
            return redirect(request, [("code", code.code)])
        } catch {
            return redirect(request, [("error", "server_error"), ("error_description", "the authorization could not be recorded")])
        }
    }

    /// The accounts the sandbox has at the provider; a sandbox with none offers one made up,
    /// created when the user approves with it.
    private func offeredAccounts() -> [ProviderAccount] {
        let existing = (try? ProviderStore(sandbox).accounts(providerID: provider.descriptor.id)) ?? []
        if !existing.isEmpty { return existing }
        let login = provider.descriptor.id == "google" ? "dev@example.com" : "dev"
        return [provider.account(login: login, displayName: "Dev User")]
    }

    private func redirect(_ request: Request, _ parameters: [(String, String)]) -> ProviderResponse {
        var all = parameters
        if let state = request.state { all.append(("state", state)) }
        let separator = request.redirectURI.contains("?") ? "&" : "?"
        return ProviderResponse(status: 302, headers: ["location": request.redirectURI + separator + QueryString.encode(all),
                                                       "cache-control": "no-store"], body: Data())
    }

    // swift-mustache escapes every {{value}} for HTML (quotes included), so values are safe in
    // text and in attributes alike.
    static let template: MustacheTemplate = {
        do {
            return try MustacheTemplate(string: """
                <!DOCTYPE html>
                <html lang="en">
                <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
                <title>{{heading}} - {{brand}}</title>
                <style>
                body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;padding:0 1rem;color:#202124}
                .brand{font-weight:600;font-size:1.4rem} fieldset{border:1px solid #dadce0;border-radius:8px;margin:1rem 0}
                label{display:block;margin:.4rem 0} .error{color:#b3261e} .buttons{display:flex;gap:1rem;justify-content:flex-end}
                button{padding:.5rem 1.4rem;border-radius:4px;border:1px solid #dadce0;background:#fff}
                button[value=allow]{background:#1a73e8;color:#fff;border-color:#1a73e8}
                </style></head>
                <body>
                <p class="brand">{{brand}}</p>
                <h1 id="consent-heading">{{heading}}</h1>
                {{#error}}<p class="error" role="alert">{{error}}</p>{{/error}}
                <form method="post" action="{{action}}" id="consent">
                {{#hidden}}<input type="hidden" name="{{name}}" value="{{value}}">
                {{/hidden}}
                <fieldset id="accounts"><legend>{{accountHeading}}</legend>
                {{#accounts}}<label><input type="radio" name="account" value="{{login}}"{{#checked}} checked{{/checked}}> {{name}} &lt;{{email}}&gt;</label>
                {{/accounts}}
                </fieldset>
                <fieldset id="scopes"><legend>This will allow {{app}} to:</legend>
                {{#scopes}}<label><input type="checkbox" name="grant_scope" value="{{value}}" checked> {{description}} <small>({{raw}})</small></label>
                {{/scopes}}
                </fieldset>
                <p>Make sure you trust {{app}}. You can remove its access at any time in your account settings.</p>
                <div class="buttons">
                <button type="submit" name="decision" value="cancel">{{cancel}}</button>
                <button type="submit" name="decision" value="allow">{{allow}}</button>
                </div>
                </form>
                </body>
                </html>
                """)
        } catch {
            preconditionFailure("the consent page template does not parse: \(error)")
        }
    }()
}

extension ConsentPage.Style {
    static let google = ConsentPage.Style(
        brand: "Google", heading: { "\($0) wants access to your Google Account" }, allowLabel: { _ in "Allow" },
        accountHeading: "Choose an account",
        scopeDescriptions: [
            "openid": "Associate you with your personal info on Google",
            "email": "See your primary Google Account email address",
            "profile": "See your personal info, including any personal info you've made publicly available",
            "https://www.googleapis.com/auth/calendar.readonly": "See and download any calendar you can access using your Google Calendar",
            "https://www.googleapis.com/auth/calendar.events": "View and edit events on all your calendars",
            "https://www.googleapis.com/auth/calendar": "See, edit, share, and permanently delete all the calendars you can access using Google Calendar",
            "https://www.googleapis.com/auth/gmail.readonly": "View your email messages and settings",
        ])
    static let slack = ConsentPage.Style(
        brand: "Slack", heading: { "\($0) is requesting permission to access the Slack workspace" }, allowLabel: { _ in "Allow" },
        accountHeading: "Sign in as",
        scopeDescriptions: [
            "chat:write": "Send messages as the app", "channels:read": "View basic information about public channels in a workspace",
            "channels:history": "View messages and other content in public channels",
        ])
    static let github = ConsentPage.Style(
        brand: "GitHub", heading: { "Authorize \($0)" }, allowLabel: { "Authorize \($0)" }, accountHeading: "Signed in as",
        scopeDescriptions: [
            "read:user": "Read all user profile data", "repo": "Full control of private repositories",
            "user:email": "Access user email addresses (read-only)",
        ],
        deniedExtras: [("error_description", "The user has denied your application access."),
                       ("error_uri", "https://docs.github.com/apps/managing-oauth-apps/troubleshooting-authorization-request-errors/#access-denied")])
}
