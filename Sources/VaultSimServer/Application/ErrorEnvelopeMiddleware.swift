import HTTPTypes
import Hummingbird
import Logging
import NIOHTTP1
import VaultSimCore

/// Every refusal leaves in the vault's envelope `{"detail": {"error", "message", "details"}}`:
/// - a path no route serves: 404 `not_found`; under `/sdk/` 501 `not_simulated` naming the route
///   instead, whatever the method (an SDK reads a 404 there as "grant not found", which would
///   hide that VaultSim lacks the endpoint; an unknown grant on a served route is still a 404);
/// - a path served with other methods: 405 `method_not_allowed`, with `Allow`;
/// - an error a route throws instead of answering: a `VaultError` as itself, Hummingbird's
///   `HTTPError`s (a body over a limit: 413) as `request_rejected` with their status, a body the
///   HTTP parser could not read as 400 `malformed_request`, anything else as 500 `internal_error`.
///
/// The router's first middleware, so it wraps every route and the router's own not-found answer
/// (which Hummingbird sends with an empty body). Answers routes write themselves (a provider's
/// 404, a fault's status) pass through untouched.
struct ErrorEnvelopeMiddleware<Context: RequestContext>: RouterMiddleware {
    let routes: RouteTable<Context>
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        // The router names the endpoint before calling a route's middleware; not at all when
        // nothing matched.
        guard context.endpointPath != nil else { return await unmatched(request, context: context) }
        let isHEAD = request.method == .head
        do {
            return try await next(request, context)
        } catch let error as VaultError {
            return error.response(forHEAD: isHEAD)
        } catch let error as HTTPError {
            return VaultError.httpRefusal(status: error.status, error.body ?? "\(error)").response(headers: error.headers, forHEAD: isHEAD)
        } catch let error as any HTTPResponseError {
            return VaultError.httpRefusal(status: error.status, "\(error)").response(forHEAD: isHEAD)
        } catch let error as HTTPParserError {
            // The body could not be read as HTTP (a malformed chunk, fewer bytes than its
            // Content-Length): the client's fault, said as such.
            return VaultError.badRequest("The request body is not valid HTTP/1.1 (\(error)): check its Content-Length or chunked encoding",
                                         code: "malformed_request").response(forHEAD: isHEAD)
        } catch {
            // Only the error's type: a store error can quote a row, and rows hold tokens.
            logger.error("route failed", metadata: ["path": "\(request.uri.path)", "error": "\(type(of: error))"])
            return VaultError(status: 500, code: "internal_error", message: "VaultSim internal error (\(type(of: error)))")
                .response(forHEAD: isHEAD)
        }
    }

    private func unmatched(_ request: Request, context: Context) async -> Response {
        let path = request.uri.path
        let method = request.method.rawValue
        let allowed = await routes.methods(servingPathOf: request, context: context)
        guard !allowed.isEmpty else {
            if path.hasPrefix("/sdk/") {
                return VaultError(status: 501, code: "not_simulated",
                                  message: "VaultSim does not simulate \(method) \(path) yet (see docs/sdk-generations.md for what it serves)",
                                  details: ["method": .string(method), "path": .string(path)])
                    .response(forHEAD: request.method == .head)
            }
            return VaultError(status: 404, code: "not_found", message: "VaultSim has no route \(method) \(path)",
                              details: ["method": .string(method), "path": .string(path)])
                .response(forHEAD: request.method == .head)
        }
        let names = allowed.map(\.rawValue)
        let error = VaultError(status: 405, code: "method_not_allowed",
                               message: "\(path) does not accept \(method); it accepts \(names.joined(separator: ", "))",
                               details: ["method": .string(method), "path": .string(path), "allowed": .array(names.map(JSONValue.string))])
        return error.response(headers: [.allow: names.joined(separator: ", ")], forHEAD: request.method == .head)
    }
}
