import HTTPTypes
import Hummingbird

/// Which methods a path has routes for, found without running any route: a second router with
/// the same routes, where `Probe` answers before any handler could. Hummingbird's router sends
/// a wrong method to its not-found answer and keeps its trie to itself, so this is how a 405
/// can be told from a 404.
struct RouteTable<Context: RequestContext>: Sendable {
    /// The methods a route may be registered for.
    static var candidates: [HTTPRequest.Method] { [.get, .head, .post, .put, .patch, .delete, .options] }

    private let responder: RouterResponder<Context>

    /// - Parameter addRoutes: registers the routes, exactly as for the real router.
    init(addRoutes: (Router<Context>) -> Void) {
        let router = Router(context: Context.self)
        router.add(middleware: Probe())
        addRoutes(router)
        responder = router.buildResponder()
    }

    /// The methods other than the request's own that have a route for its path.
    func methods(servingPathOf request: Request, context: Context) async -> [HTTPRequest.Method] {
        var found: [HTTPRequest.Method] = []
        for method in Self.candidates where method != request.method {
            var head = request.head
            head.method = method
            var probeContext = context
            // The endpoint path lives in a shared box: give each probe its own.
            probeContext.coreContext.endpointPath = EndpointPath()
            let probe = Request(head: head, body: RequestBody(buffer: ByteBuffer()))
            if let answer = try? await responder.respond(to: probe, context: probeContext), answer.status == Probe.matched {
                found.append(method)
            }
        }
        return found
    }

    /// Answers at once: `matched` when the router found a route (it names the endpoint before
    /// the route's middleware runs), 404 otherwise. Never calls the route.
    struct Probe: RouterMiddleware {
        static var matched: HTTPResponse.Status { .noContent }

        func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
            Response(status: context.endpointPath == nil ? .notFound : Self.matched)
        }
    }
}
