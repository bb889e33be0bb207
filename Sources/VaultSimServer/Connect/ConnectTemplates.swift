import Mustache

/// The hosted Connect pages' templates (swift-mustache; `{{value}}` is HTML-escaped, quotes
/// included, so values are safe in text and attributes). Kept in the binary, so a `vaultsim`
/// copied anywhere still has them.
enum ConnectTemplates {
    static let library: MustacheLibrary = {
        let sources: [String: String] = ["head": head, "choose": choose, "result": result, "error": error]
        do {
            return MustacheLibrary(templates: try sources.mapValues { try MustacheTemplate(string: $0) })
        } catch {
            preconditionFailure("a Connect page template does not parse: \(error)")
        }
    }()

    static func render(_ name: String, _ context: [String: Any]) -> String {
        library.render(context, withTemplate: name) ?? ""
    }

    static let head = """
        <meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <style>
        body{font-family:system-ui,sans-serif;max-width:36rem;margin:3rem auto;padding:0 1rem;color:#1f2328}
        .card{border:1px solid #d0d7de;border-radius:10px;padding:1rem 1.4rem;margin:1rem 0}
        button{padding:.5rem 1.2rem;border-radius:6px;border:1px solid #1f6feb;background:#1f6feb;color:#fff;cursor:pointer}
        .notice{background:#dafbe1;padding:.6rem 1rem;border-radius:6px} small{color:#59636e}
        </style>
        """

    static let choose = """
        <!DOCTYPE html>
        <html lang="en"><head>{{>head}}<title>Connect your accounts - {{app}}</title></head>
        <body>
        <h1>Connect your accounts</h1>
        <p>{{app}} asks to connect to your accounts through Alter Vault (VaultSim). Choose a service.</p>
        {{#notice}}<p class="notice" role="status" id="notice">{{notice}}</p>{{/notice}}
        {{#hasConnected}}<div class="card" id="connected"><h2>Connected</h2><ul>
        {{#connected}}<li>{{provider}}: {{account}}</li>
        {{/connected}}</ul></div>{{/hasConnected}}
        {{#providers}}<form method="post" action="{{action}}/start" class="card provider" id="provider-{{id}}">
        <input type="hidden" name="provider" value="{{id}}">
        <h2>{{name}}</h2>
        {{#hasDurations}}<label>Keep access for
        <select name="ttl">
        {{#durations}}<option value="{{seconds}}"{{#selected}} selected{{/selected}}>{{label}}</option>
        {{/durations}}</select></label>{{/hasDurations}}
        <p><button type="submit">Continue with {{name}}</button></p>
        </form>
        {{/providers}}
        {{#hasConnected}}<form method="post" action="{{action}}/finish" id="finish"><button type="submit">Finish</button></form>{{/hasConnected}}
        <p><small>This link works until {{expiresAt}}.</small></p>
        {{#postMessage}}<div id="connect-events" data-origin="{{origin}}"></div><script>
        (function () {
          // The popup flow: the widget's opener hears which provider was chosen and that its
          // OAuth starts (the form's answer is the provider's authorization page).
          var origin = document.getElementById("connect-events").getAttribute("data-origin");
          var forms = document.querySelectorAll("form.provider");
          for (var i = 0; i < forms.length; i++) {
            forms[i].addEventListener("submit", function (event) {
              if (!window.opener) return;
              var provider = event.currentTarget.querySelector("input[name=provider]").value;
              ["PROVIDER_SELECTED", "OAUTH_STARTED"].forEach(function (name) {
                window.opener.postMessage({type: "alter-connect:event", event: name, metadata: {provider: provider}}, origin);
              });
            });
          }
        })();
        </script>{{/postMessage}}
        </body></html>
        """

    static let result = """
        <!DOCTYPE html>
        <html lang="en"><head>{{>head}}<title>{{title}}</title></head>
        <body>
        <h1>{{title}}</h1>
        <p id="message">{{message}}</p>
        {{#hasConnected}}<ul id="connections">
        {{#connected}}<li>{{provider}}: {{account}} <small>({{scopes}})</small></li>
        {{/connected}}</ul>{{/hasConnected}}
        <div id="connect-result" data-status="{{status}}" data-origin="{{origin}}" data-payload="{{payload}}"></div>
        {{#postMessage}}<script>
        (function () {
          var el = document.getElementById("connect-result");
          if (!window.opener) return;
          // Sent to the session's allowed_origin (else the origin the widget opened it from) only:
          // a window at any other origin receives nothing.
          window.opener.postMessage(JSON.parse(el.getAttribute("data-payload")), el.getAttribute("data-origin"));
        })();
        </script>{{/postMessage}}
        </body></html>
        """

    static let error = """
        <!DOCTYPE html>
        <html lang="en"><head>{{>head}}<title>{{title}}</title></head>
        <body><h1>{{title}}</h1><p id="message">{{message}}</p></body></html>
        """
}
