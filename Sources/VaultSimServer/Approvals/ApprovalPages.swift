import Foundation
import HTTPTypes
import Hummingbird
import Mustache
import VaultSimCore
import VaultSimProviders

/// The approval page a person opens at `approval_url`: the exact request the vault will make
/// (method, URL, headers the app set, body, the app's reason), with Approve and Deny. Approving
/// makes the call at once; the page then shows the provider's status. Readable without
/// JavaScript; the page token in the URL is what lets its holder decide.
extension VaultSimServer {
    /// Where a person decides an approval (its `approval_url`).
    public static func approvalURL(_ approval: Approval, sandbox: Sandbox, serverURL: String) -> String {
        ApprovalEndpoint.pageURL(approval, sandbox: sandbox, serverURL: serverURL)
    }
}

struct ApprovalPages: Sendable {
    let server: VaultSimServer

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("\(ProviderRoutes.mountPrefix)/:sandbox/approvals/:approval") { request, context in
            await page(request, context, form: false)
        }
        router.post("\(ProviderRoutes.mountPrefix)/:sandbox/approvals/:approval") { request, context in
            await page(request, context, form: true)
        }
    }

    private func page(_ request: Request, _ context: some RequestContext, form: Bool) async -> Response {
        let id = context.parameters.get("approval") ?? ""
        return await ConnectPages.sandboxPage(request, context, registry: server.registry, form: form,
                                              unreadable: "The decision could not be read") { sandbox, fields, query in
            guard let approval = sandbox.approvals.approval(id: id), let token = fields["token"] ?? query["token"],
                  HMACVerifier.constantTimeEqual(token, approval.pageToken) else {
                return ConnectPages.errorPage(404, "No such request", "This approval link is not valid: check that it was copied whole.")
            }
            guard form else { return show(approval, sandbox: sandbox) }
            let decision = fields["decision"] ?? ""
            guard decision == "approve" || decision == "deny" else {
                return ConnectPages.errorPage(400, "No decision", "Press Approve or Deny.")
            }
            do {
                let decided = try await ApprovalEndpoint.decide(id: id, approve: decision == "approve", reason: fields["reason"], sandbox: sandbox,
                                                               transport: server.transport, serverURL: server.address.baseURL)
                return show(decided, sandbox: sandbox)
            } catch let error as VaultError {
                return ConnectPages.errorPage(error.status, "This request can no longer be decided", error.message)
            } catch {
                return ConnectPages.errorPage(500, "This request can no longer be decided", "VaultSim internal error (\(type(of: error)))")
            }
        }
    }

    private func show(_ approval: Approval, sandbox: Sandbox) -> Exchange.Response {
        let status = approval.status(at: sandbox.clock.now)
        let grant = (try? sandbox.store.grant(id: approval.grantID)) ?? nil
        let context: [String: Any] = [
            "app": sandbox.app.displayName, "method": approval.method, "url": approval.url,
            "provider": grant.map { ProviderCatalog.descriptor(id: $0.providerID)?.displayName ?? $0.providerID } ?? "",
            "account": grant?.accountIdentifier ?? "", "hasAccount": grant?.accountIdentifier != nil, "hasProvider": grant != nil,
            "headers": approval.headers.map { ["name": $0.0, "value": $0.1] }, "hasHeaders": !approval.headers.isEmpty,
            "body": String(decoding: approval.body, as: UTF8.self), "hasBody": !approval.body.isEmpty,
            "reason": approval.reason ?? "", "hasReason": approval.reason != nil,
            "caller": approval.caller.caller ?? "", "hasCaller": approval.caller.caller != nil,
            "expiresAt": approval.expiresAt.rfc3339, "token": approval.pageToken,
            "action": "\(ProviderRoutes.mountPrefix)/\(sandbox.id)/approvals/\(approval.id)",
            "status": status.rawValue, "pending": status == .pending,
            "resultStatus": approval.result.map { String($0.status) } ?? "", "hasResult": approval.result != nil,
            "executionError": approval.executionError ?? "", "failed": status == .failed,
            "decisionReason": approval.decisionReason ?? "", "hasDecisionReason": approval.decisionReason != nil,
        ]
        return ConnectPages.html(status == .expired ? 410 : 200, ApprovalTemplates.render(context))
    }
}

enum ApprovalTemplates {
    static let library: MustacheLibrary = {
        do {
            return MustacheLibrary(templates: ["head": try MustacheTemplate(string: ConnectTemplates.head),
                                               "approval": try MustacheTemplate(string: page)])
        } catch {
            preconditionFailure("the approval page template does not parse: \(error)")
        }
    }()

    static func render(_ context: [String: Any]) -> String {
        library.render(context, withTemplate: "approval") ?? ""
    }

    static let page = """
        <!DOCTYPE html>
        <html lang="en"><head>{{>head}}<title>Approve a request - {{app}}</title></head>
        <body>
        <h1>Approve a request</h1>
        <p>{{app}} asks to make this request{{#hasProvider}} at {{provider}}{{/hasProvider}}{{#hasAccount}} as {{account}}{{/hasAccount}} with your credential.</p>
        <div class="card" id="request">
        <p><strong id="method">{{method}}</strong> <code id="url">{{url}}</code></p>
        {{#hasHeaders}}<ul id="headers">{{#headers}}<li><code>{{name}}: {{value}}</code></li>{{/headers}}</ul>{{/hasHeaders}}
        {{#hasBody}}<pre id="body">{{body}}</pre>{{/hasBody}}
        {{#hasReason}}<p>Reason: <span id="reason">{{reason}}</span></p>{{/hasReason}}
        {{#hasCaller}}<p>Asked by: <span id="caller">{{caller}}</span></p>{{/hasCaller}}
        </div>
        <p id="status" data-status="{{status}}">Status: {{status}}{{#pending}} (decide before {{expiresAt}}){{/pending}}</p>
        {{#pending}}
        <form method="post" action="{{action}}" id="approve"><input type="hidden" name="token" value="{{token}}">
        <input type="hidden" name="decision" value="approve"><button type="submit">Approve</button></form>
        <form method="post" action="{{action}}" id="deny"><input type="hidden" name="token" value="{{token}}">
        <input type="hidden" name="decision" value="deny"><label>Reason <input name="reason"></label> <button type="submit">Deny</button></form>
        {{/pending}}
        {{#hasResult}}<p class="notice" id="result">Approved: the request was made; the provider answered HTTP {{resultStatus}}.</p>{{/hasResult}}
        {{#failed}}<p id="error">Approved, but the request failed: {{executionError}}</p>{{/failed}}
        {{#hasDecisionReason}}<p id="decision-reason">Reason given: {{decisionReason}}</p>{{/hasDecisionReason}}
        </body></html>
        """
}
