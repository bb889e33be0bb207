import Hummingbird
import Logging
import VaultSimCore

/// The `/sdk/*` endpoints alter-sdk 0.8–0.11 and the App generation (0.12–0.29) call; any other
/// path under `/sdk/` answers 501 `not_simulated` (`ErrorEnvelopeMiddleware`).
struct SDKRoutes: Sendable {
    let gateway: SDKGateway

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.post("/sdk/token") { request, context in
            await gateway.handle(request, context: context, endpoint: TokenEndpoint.handle)
        }
        router.post("/sdk/proxy") { request, context in
            await gateway.handle(request, context: context, endpoint: ProxyEndpoint.handle)
        }
        router.get("/sdk/approvals/:approval_id") { request, context in
            await gateway.handle(request, context: context, parameters: ["approval_id"], endpoint: ApprovalEndpoint.status)
        }
        router.get("/sdk/approvals/:approval_id/result") { request, context in
            await gateway.handle(request, context: context, parameters: ["approval_id"], endpoint: ApprovalEndpoint.result)
        }
        router.post("/sdk/oauth/audit/api-call") { request, context in
            await gateway.handle(request, context: context, endpoint: AuditEndpoint.handle)
        }
        router.post("/sdk/oauth/grants/list") { request, context in
            await gateway.handle(request, context: context, endpoint: GrantsEndpoint.list)
        }
        router.post("/sdk/grants/list") { request, context in
            await gateway.handle(request, context: context, endpoint: GrantsEndpoint.unifiedList)
        }
        router.post("/sdk/oauth/grants/:grant_id/revoke") { request, context in
            await gateway.handle(request, context: context, parameters: ["grant_id"], endpoint: GrantsEndpoint.revoke)
        }
        router.post("/sdk/grants/:grant_id/report-scope-mismatch") { request, context in
            await gateway.handle(request, context: context, parameters: ["grant_id"], endpoint: ScopeReportEndpoint.handle)
        }
        router.post("/sdk/oauth/connect/session") { request, context in
            await gateway.handle(request, context: context, endpoint: ConnectEndpoint.create)
        }
        router.post("/sdk/oauth/connect/session/poll") { request, context in
            await gateway.handle(request, context: context, endpoint: ConnectEndpoint.poll)
        }
        router.post("/sdk/auth/session") { request, context in
            await gateway.handle(request, context: context, endpoint: AuthEndpoint.session)
        }
        router.post("/sdk/auth/poll") { request, context in
            await gateway.handle(request, context: context, endpoint: AuthEndpoint.poll)
        }
        router.post("/sdk/auth/verify-token") { request, context in
            await gateway.handle(request, context: context, endpoint: AuthEndpoint.verifyToken)
        }
    }
}
