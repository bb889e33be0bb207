import Foundation
import VaultSimCore

/// Google's authorization server as its clients see it: `POST oauth2.googleapis.com/token`
/// (authorization_code and refresh_token grants), `/revoke`, `/tokeninfo`, the OpenID userinfo
/// endpoint, and the checks of `accounts.google.com/o/oauth2/v2/auth` before its consent page.
struct GoogleOAuth {
    let server: AuthorizationServer
    let clock: VirtualClock

    func tokenHost(_ call: ProviderCall) -> ProviderResponse {
        switch (call.method, call.path) {
        case ("POST", "/token"): return token(call)
        case ("POST", "/revoke"), ("GET", "/revoke"): return revoke(call)
        case ("GET", "/tokeninfo"), ("POST", "/tokeninfo"): return tokeninfo(call)
        default: return GoogleErrors.notFound
        }
    }

    // MARK: token

    func token(_ call: ProviderCall) -> ProviderResponse {
        let p = call.form
        do {
            let basic = call.basicCredentials
            let client = try server.authenticate(clientID: basic?.user ?? p["client_id"], clientSecret: basic?.password ?? p["client_secret"])
            let issue: TokenIssue
            switch p["grant_type"] {
            case "authorization_code":
                issue = try server.exchange(code: p["code"], redirectURI: p["redirect_uri"], codeVerifier: p["code_verifier"], client: client)
            case "refresh_token":
                let scopes = p["scope"].map { $0.split(separator: " ").map(String.init) }
                issue = try server.refresh(token: p["refresh_token"], scopes: scopes, client: client)
            default:
                throw OAuthFailure(.unsupportedGrantType, "Invalid grant_type: \(p["grant_type"] ?? "")")
            }
            var body: JSONObject = [
                "access_token": .string(issue.access.token),
                "expires_in": .number(Double(Int((issue.access.expiresAt ?? clock.now).timeIntervalSince(clock.now).rounded()))),
            ]
            if let refresh = issue.refresh, p["grant_type"] == "authorization_code" { body["refresh_token"] = .string(refresh.token) }
            body["scope"] = .string(issue.scopes.joined(separator: " "))
            body["token_type"] = "Bearer"
            return .json(200, .object(body), headers: ["cache-control": "no-cache, no-store, max-age=0, must-revalidate", "pragma": "no-cache"])
        } catch let failure as OAuthFailure {
            return Self.tokenError(failure)
        } catch {
            return .json(500, ["error": "internal_failure", "error_description": "Internal failure"])
        }
    }

    /// Google's token-endpoint errors: 401 for client authentication, 400 for the rest, with
    /// Google's own terse descriptions.
    static func tokenError(_ failure: OAuthFailure) -> ProviderResponse {
        let (status, description): (Int, String) = switch failure.code {
        case .invalidClient: (401, failure.message == "Unauthorized" ? "Unauthorized" : "The OAuth client was not found.")
        case .invalidGrant: (400, failure.message.hasPrefix("Token has been") ? failure.message : "Bad Request")
        case .redirectURIMismatch: (400, "Bad Request")
        case .unsupportedGrantType: (400, failure.message)
        case .invalidScope: (400, failure.message)
        case .invalidRequest, .unauthorizedClient, .accessDenied: (400, failure.message)
        }
        return .json(status, ["error": .string(failure.code.rawValue), "error_description": .string(description)],
                     headers: ["cache-control": "no-cache, no-store, max-age=0, must-revalidate"])
    }

    // MARK: revoke and tokeninfo

    func revoke(_ call: ProviderCall) -> ProviderResponse {
        let value = call.form["token"] ?? call.query["token"] ?? ""
        let revoked = (try? server.revoke(token: value, reason: "client")) ?? false
        guard revoked, !value.isEmpty else {
            return .json(400, ["error": "invalid_token", "error_description": "Token expired or revoked"])
        }
        return .json(200, [:])
    }

    func tokeninfo(_ call: ProviderCall) -> ProviderResponse {
        let value = call.query["access_token"] ?? call.form["access_token"] ?? ""
        guard let (token, account) = try? server.introspect(accessToken: value) else {
            return .json(400, ["error": "invalid_token", "error_description": "Invalid Value"])
        }
        let expiresIn = Int((token.expiresAt ?? clock.now).timeIntervalSince(clock.now))
        return .json(200, [
            "azp": .string(token.clientID), "aud": .string(token.clientID), "sub": .string(account.id),
            "scope": .string(token.scopes.joined(separator: " ")), "exp": .string(String(Int((token.expiresAt ?? clock.now).timeIntervalSince1970))),
            "expires_in": .string(String(expiresIn)), "email": .string(account.email), "email_verified": "true", "access_type": "offline",
        ])
    }

    // MARK: userinfo

    func userinfo(_ call: ProviderCall) throws -> ProviderResponse {
        guard let value = call.bearerToken, let (_, account) = try server.introspect(accessToken: value) else {
            return .json(401, ["error": "invalid_request", "error_description": "Invalid Credentials"],
                         headers: ["www-authenticate": "Bearer realm=\"https://accounts.google.com/\", error=\"invalid_token\""])
        }
        let parts = account.name.split(separator: " ", maxSplits: 1).map(String.init)
        return .json(200, [
            "sub": .string(account.id), "name": .string(account.name), "given_name": .string(parts.first ?? account.name),
            "family_name": .string(parts.count > 1 ? parts[1] : ""),
            "picture": .string("https://lh3.googleusercontent.com/a/\(account.id)=s96-c"),
            "email": .string(account.email), "email_verified": true,
        ])
    }

    // MARK: authorize

    /// The checks of `accounts.google.com/o/oauth2/v2/auth` before any user is asked; a refused
    /// request gets Google's error page ("Error 400: redirect_uri_mismatch"), never a redirect.
    static func checkAuthorization(_ q: [String: String], carried: [(String, String)],
                                   server: AuthorizationServer) -> Result<ConsentPage.Request, ConsentPage.ProviderError> {
        guard q["response_type"] == "code" else {
            return .failure(.init(page: errorPage("Error 400: invalid_request", "Required parameter is missing or invalid: response_type")))
        }
        let scopes = (q["scope"] ?? "").split(separator: " ").map(String.init)
        do {
            _ = try server.validate(clientID: q["client_id"] ?? "", redirectURI: q["redirect_uri"] ?? "", scopes: scopes,
                                    codeChallenge: q["code_challenge"], codeChallengeMethod: q["code_challenge_method"])
        } catch {
            let title = error.code == .invalidClient ? "Error 401: invalid_client" : "Error 400: \(error.code.rawValue)"
            return .failure(.init(page: errorPage(title, error.message)))
        }
        return .success(.init(clientID: q["client_id"] ?? "", redirectURI: q["redirect_uri"] ?? "", scopes: scopes, state: q["state"],
                              codeChallenge: q["code_challenge"], codeChallengeMethod: q["code_challenge_method"], carried: carried))
    }

    static func errorPage(_ title: String, _ message: String, status: Int = 400) -> ProviderResponse {
        .text(status, """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>\(HTMLEscape.escape(title))</title></head>
            <body><h1>\(HTMLEscape.escape(title))</h1><p>\(HTMLEscape.escape(message))</p></body></html>
            """, contentType: "text/html; charset=utf-8")
    }
}
