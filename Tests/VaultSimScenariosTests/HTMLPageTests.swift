import Foundation
import Testing
import VaultSimCore
@testable import VaultSimScenarios
@testable import VaultSimServer

/// What the simulated user reads of a page (`HTMLPage`): the title, forms and their fields,
/// buttons and selects, elements by id with their attributes, entities decoded, and script
/// bodies and comments left alone.
struct HTMLPageTests {
    /// A page in the shape of `ConsentPage.template` (Google's wording).
    static let consent = """
        <!DOCTYPE html>
        <html lang="en">
        <head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>Acme &amp; Co wants access to your Google Account - Google</title>
        <style>
        body{font-family:system-ui} form > label{display:block} button[value=allow]{color:#fff}
        </style></head>
        <body>
        <!-- <form id="commented-out" method="post" action="/nope"><button>No</button></form> -->
        <p class="brand">Google</p>
        <h1 id="consent-heading">Acme &amp; Co wants access to your Google Account</h1>
        <form method="POST" action="auth" id="consent">
        <input type="hidden" name="client_id" value="123.apps.googleusercontent.com">
        <input type="hidden" name="redirect_uri" value="http://127.0.0.1:8780/connect/callback?a=1&amp;b=2">
        <input type="hidden" name="state" value="sb1.abc&#39;def&#x27;">
        <fieldset id="accounts"><legend>Choose an account</legend>
        <label><input type="radio" name="account" value="alice@example.com" checked> Alice Example &lt;alice@example.com&gt;</label>
        <label><input type="radio" name="account" value="bob@example.com"> Bob Example &lt;bob@example.com&gt;</label>
        </fieldset>
        <fieldset id="scopes"><legend>This will allow Acme &amp; Co to:</legend>
        <label><input type="checkbox" name="grant_scope" value="email" checked> See your primary Google Account email address <small>(email)</small></label>
        <label><input type="checkbox" name="grant_scope" value="https://www.googleapis.com/auth/calendar.readonly" checked> See and download any calendar <small>(https://www.googleapis.com/auth/calendar.readonly)</small></label>
        <label><input type="checkbox" name="grant_scope" value="profile"> See your personal info</label>
        </fieldset>
        <p id="compare">1 < 2 &amp;&amp; 3 > 2</p>
        <div class="buttons">
        <button type="submit" name="decision" value="cancel">Cancel</button>
        <button type="submit" name="decision" value="allow">Allow</button>
        </div>
        </form>
        </body>
        </html>
        """

    @Test func titleHeadingsAndTheOneFormAreRead() throws {
        let page = HTMLPage(Self.consent)
        #expect(page.title == "Acme & Co wants access to your Google Account - Google")
        #expect(page.headings == ["Acme & Co wants access to your Google Account"])
        // The commented-out form is not a form.
        #expect(page.forms.count == 1)
        #expect(!page.elements.keys.contains("commented-out"))
        let form = try #require(page.forms.first)
        #expect(form.id == "consent")
        #expect(form.method == "post")
        #expect(form.action == "auth")
    }

    @Test func hiddenFieldsAreReadWithEntitiesDecoded() throws {
        let form = try #require(HTMLPage(Self.consent).forms.first)
        let hidden = form.fields.filter { $0.kind == "hidden" }
        #expect(hidden.map(\.name) == ["client_id", "redirect_uri", "state"])
        #expect(hidden.map(\.value) == ["123.apps.googleusercontent.com", "http://127.0.0.1:8780/connect/callback?a=1&b=2", "sb1.abc'def'"])
    }

    @Test func radiosAndCheckboxesCarryCheckedAndTheirLabels() throws {
        let form = try #require(HTMLPage(Self.consent).forms.first)
        let accounts = form.fields.filter { $0.name == "account" }
        #expect(accounts.map(\.kind) == ["radio", "radio"])
        #expect(accounts.map(\.value) == ["alice@example.com", "bob@example.com"])
        #expect(accounts.map(\.checked) == [true, false])
        #expect(accounts.map(\.label) == ["Alice Example <alice@example.com>", "Bob Example <bob@example.com>"])

        let scopes = form.fields.filter { $0.name == "grant_scope" }
        #expect(scopes.map(\.kind) == ["checkbox", "checkbox", "checkbox"])
        #expect(scopes.map(\.value) == ["email", "https://www.googleapis.com/auth/calendar.readonly", "profile"])
        #expect(scopes.map(\.checked) == [true, true, false])
        #expect(scopes.first?.label == "See your primary Google Account email address (email)")
        #expect(scopes.last?.label == "See your personal info")
        // Fields come in document order.
        #expect(form.fields.map(\.name) == ["client_id", "redirect_uri", "state", "account", "account", "grant_scope", "grant_scope", "grant_scope"])
    }

    @Test func buttonsHaveNameValueAndLabel() throws {
        let form = try #require(HTMLPage(Self.consent).forms.first)
        #expect(form.buttons.map(\.name) == ["decision", "decision"])
        #expect(form.buttons.map(\.value) == ["cancel", "allow"])
        #expect(form.buttons.map(\.label) == ["Cancel", "Allow"])
    }

    @Test func elementsByIdKeepTheirAttributesAndText() throws {
        let page = HTMLPage(Self.consent)
        #expect(page.elements["consent-heading"]?.name == "h1")
        #expect(page.elements["consent-heading"]?.text == "Acme & Co wants access to your Google Account")
        #expect(page.elements["consent"]?.name == "form")
        #expect(page.elements["consent"]?.attributes["method"] == "POST")
        #expect(page.elements["consent"]?.attributes["action"] == "auth")
        #expect(page.elements["accounts"]?.name == "fieldset")
        // A bare '<' in text is text, and the rest of the page still parses.
        #expect(page.elements["compare"]?.text == "1 < 2 && 3 > 2")
    }

    /// The result page's shape: the payload in a data attribute, and a script whose body holds
    /// markup that must not become elements.
    static let result = """
        <!DOCTYPE html>
        <html lang="en"><head><title>You&#39;re all set</title></head>
        <body>
        <h1>You&#39;re all set</h1>
        <p id="message">Your accounts are connected. You can close this window and return to O&#x27;Brien &amp; Sons.</p>
        <ul id="connections">
        <li>Google: bob@example.com <small>(email, profile)</small></li>
        </ul>
        <div id="connect-result" data-status="completed" data-origin="https://app.example.com" data-payload="{&quot;type&quot;:&quot;alter-connect&quot;,&quot;status&quot;:&quot;completed&quot;,&quot;connections&quot;:[{&quot;grant_id&quot;:&quot;g-1&quot;,&quot;provider_id&quot;:&quot;google&quot;,&quot;account_identifier&quot;:&quot;bob@example.com&quot;}]}"></div>
        <script>
        (function () {
          var el = document.getElementById("connect-result");
          if (!window.opener) return;
          if (1 < 2 && "<form id='fake' method='post' action='/steal'><button>Go</button></form>") {
            document.write("<div id=\\"injected\\">x</div>");
          }
          window.opener.postMessage(JSON.parse(el.getAttribute("data-payload")), el.getAttribute("data-origin"));
        })();
        </script>
        </body></html>
        """

    @Test func dataAttributesAreEntityDecoded() throws {
        let page = HTMLPage(Self.result)
        #expect(page.title == "You're all set")
        #expect(page.elements["message"]?.text == "Your accounts are connected. You can close this window and return to O'Brien & Sons.")
        #expect(page.elements["connections"]?.text == "Google: bob@example.com (email, profile)")
        let result = try #require(page.elements["connect-result"])
        #expect(result.name == "div")
        #expect(result.attributes["data-status"] == "completed")
        #expect(result.attributes["data-origin"] == "https://app.example.com")
        let payload = try #require(JSONValue.parse(result.attributes["data-payload"] ?? ""), "data-payload is not JSON: \(result.attributes["data-payload"] ?? "nil")")
        #expect(payload["type"]?.stringValue == "alter-connect")
        #expect(payload["status"]?.stringValue == "completed")
        #expect(payload["connections"]?.arrayValue?.first?["account_identifier"]?.stringValue == "bob@example.com")
    }

    @Test func aScriptBodyIsNotMarkup() {
        let page = HTMLPage(Self.result)
        #expect(page.forms.isEmpty, "a <form> inside <script> became a form")
        #expect(!page.elements.keys.contains("fake"))
        #expect(!page.elements.keys.contains("injected"))
        #expect(page.headings == ["You're all set"])
    }

    @Test func selectsOptionsAndFormsWithoutQuotesOrMethodAreRead() throws {
        let page = HTMLPage("""
            <form method="post" action="/sandboxes/sb1/connect/cs_x/start" class="card provider" id="provider-google">
            <input type="hidden" name="provider" value="google">
            <h2>Google</h2>
            <label>Keep access for
            <select name="ttl">
            <option value="3600">1 hour</option>
            <option value="86400" selected>1 day</option>
            <option>30 days</option>
            </select></label>
            <p><button type="submit">Continue with Google</button></p>
            </form>
            <form method=post action=/sandboxes/sb1/connect/cs_x/finish id=finish><button type=submit>Finish</button></form>
            <form action="/search"><input name="q"><input type="checkbox" name="opt"></form>
            """)
        #expect(page.forms.map(\.id) == ["provider-google", "finish", nil])
        #expect(page.headings == ["Google"])
        try #require(page.forms.count == 3)

        let provider = page.forms[0]
        #expect(provider.fields.map(\.name) == ["provider"])
        #expect(provider.selects.map(\.name) == ["ttl"])
        let options = try #require(provider.selects.first?.options)
        #expect(options.map(\.value) == ["3600", "86400", "30 days"])
        #expect(options.map(\.label) == ["1 hour", "1 day", "30 days"])
        #expect(options.map(\.selected) == [false, true, false])
        #expect(provider.buttons.count == 1)
        #expect(provider.buttons.first?.name == nil)
        #expect(provider.buttons.first?.value == nil)
        #expect(provider.buttons.first?.label == "Continue with Google")
        #expect(page.elements["provider-google"]?.attributes["class"] == "card provider")

        let finish = page.forms[1]
        #expect(finish.method == "post")
        #expect(finish.action == "/sandboxes/sb1/connect/cs_x/finish")
        #expect(finish.buttons.map(\.label) == ["Finish"])

        let search = page.forms[2]
        #expect(search.method == "get")
        #expect(search.fields.map(\.kind) == ["text", "checkbox"])
        #expect(search.fields.map(\.value) == ["", "on"])
        #expect(search.fields.map(\.checked) == [false, false])
    }

    @Test func entitiesNumericNamedAndUnknown() {
        #expect(HTMLPage.decodeEntities("it&#39;s &#x27;quoted&#X27; &quot;twice&quot;") == "it's 'quoted' \"twice\"")
        #expect(HTMLPage.decodeEntities("&lt;b&gt; &amp;amp; &apos;") == "<b> &amp; '")
        #expect(HTMLPage.decodeEntities("&copy; 2026, Tom & Jerry") == "&copy; 2026, Tom & Jerry")
        #expect(HTMLPage.decodeEntities("no entities") == "no entities")
    }

    // MARK: the real templates

    /// The hosted result page as `ConnectTemplates` renders it: everything echoed comes back
    /// exactly, the payload included, and the postMessage script makes no element.
    @Test func theRenderedResultPageReadsBack() throws {
        let payload = #"{"type":"alter-connect","status":"error","connections":[],"error":{"error_code":"connect_denied","error_message":"The user denied access on Google's consent page <b>"}}"#
        let html = ConnectTemplates.render("result", [
            "title": "Access was not granted", "message": "The user denied access on Google's consent page <b>", "status": "error",
            "origin": "https://app.example.com", "payload": payload, "postMessage": true, "hasConnected": false,
            "connected": [[String: Any]](),
        ])
        #expect(html.contains("<script>"), "the postMessage script is missing")
        let page = HTMLPage(html)
        #expect(page.title == "Access was not granted")
        #expect(page.elements["message"]?.text == "The user denied access on Google's consent page <b>")
        let result = try #require(page.elements["connect-result"])
        #expect(result.attributes["data-status"] == "error")
        #expect(result.attributes["data-origin"] == "https://app.example.com")
        #expect(result.attributes["data-payload"] == payload)
        #expect(page.forms.isEmpty)
    }

    /// The hosted provider choice as `ConnectTemplates` renders it: one form per provider with
    /// its duration select, and Finish once something is connected.
    @Test func theRenderedChoicePageReadsBack() throws {
        let providers: [[String: String]] = [["id": "google", "name": "Google"], ["id": "slack", "name": "Slack"]]
        let durations: [[String: Any]] = [["seconds": 3600, "label": "1 hour", "selected": false],
                                          ["seconds": 86400, "label": "1 day", "selected": true]]
        let connected: [[String: String]] = [["provider": "GitHub", "account": "octocat"]]
        let html = ConnectTemplates.render("choose", [
            "app": "O'Brien & Sons", "action": "/sandboxes/sb1/connect/cs_tok",
            "providers": providers, "durations": durations, "connected": connected,
            "expiresAt": "2026-03-02T10:10:00Z", "hasConnected": true, "hasDurations": true,
        ])
        let page = HTMLPage(html)
        #expect(page.title == "Connect your accounts - O'Brien & Sons")
        #expect(page.forms.map(\.id) == ["provider-google", "provider-slack", "finish"])
        try #require(page.forms.count == 3)
        let google = page.forms[0]
        #expect(google.method == "post")
        #expect(google.action == "/sandboxes/sb1/connect/cs_tok/start")
        #expect(google.fields.filter { $0.kind == "hidden" }.map(\.value) == ["google"])
        let options = try #require(google.selects.first(where: { $0.name == "ttl" })?.options)
        #expect(options.map(\.value) == ["3600", "86400"])
        #expect(options.map(\.label) == ["1 hour", "1 day"])
        #expect(options.map(\.selected) == [false, true])
        #expect(google.buttons.map(\.label) == ["Continue with Google"])
        #expect(page.forms[2].action == "/sandboxes/sb1/connect/cs_tok/finish")
        #expect(page.elements["connected"]?.text.contains("GitHub: octocat") == true)
    }
}
