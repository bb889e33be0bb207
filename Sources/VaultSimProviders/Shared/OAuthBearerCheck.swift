import Foundation
import VaultSimCore

/// Checks an OAuth bearer token as a provider's resource server does: the token must be one the
/// provider issued in this sandbox, unrevoked, unexpired on the sandbox clock, and carry one of
/// the scopes the endpoint needs.
enum OAuthBearerCheck {
    enum Outcome {
        case accepted(IssuedToken, Grant?)
        case missing
        case invalid
        case insufficientScope
    }

    static func check(_ call: ProviderCall, providerID: String, anyOf requiredScopes: [String], in sandbox: Sandbox) throws -> Outcome {
        guard let value = call.bearerToken else { return .missing }
        guard let token = try sandbox.store.issuedToken(value), token.kind == .access, token.providerID == providerID,
              token.isUsable(at: sandbox.clock.now)
        else { return .invalid }
        if !requiredScopes.isEmpty, Set(token.scopes).isDisjoint(with: requiredScopes) { return .insufficientScope }
        return .accepted(token, try sandbox.store.grant(id: token.grantID))
    }
}
