import Foundation
import VaultSimCore

/// How the internal API authenticates a request: it accepts the credential of any active
/// managed secret stored for it, each checked the way its type is presented.
enum CredentialCheck {
    /// The secret whose credential the request carries, or why none matched.
    static func matchingSecret(_ call: ProviderCall, among secrets: [ManagedSecret]) -> Result<ManagedSecret, Rejection> {
        if let secret = secrets.first(where: { accepts(call, $0) }) { return .success(secret) }
        // A SigV4 request names its key: say what was wrong with it, as AWS does.
        if let auth = call.headers["authorization"].flatMap(SigV4Verifier.parseAuthorization) {
            guard let secret = secrets.first(where: { $0.type == .sigv4 && $0.identifier == auth.accessKeyID }) else {
                return .failure(Rejection(message: "The security token included in the request is invalid."))
            }
            do {
                try SigV4Verifier.verify(method: call.method, rawPath: call.fullPath, rawQuery: call.rawQuery, headers: call.headers,
                                         body: call.body, secretKey: secret.secret)
            } catch {
                return .failure(Rejection(message: "The request signature we calculated does not match the signature you provided (\(error))."))
            }
        }
        return .failure(Rejection(message: "Missing or invalid credentials"))
    }

    struct Rejection: Error {
        var message: String
    }

    static func accepts(_ call: ProviderCall, _ secret: ManagedSecret) -> Bool {
        let h = call.headers
        switch secret.type {
        case .bearer:
            return call.bearerToken == secret.secret
        case .apiKeyHeader:
            return h[(secret.headerName ?? "X-API-Key").lowercased()] == secret.secret
        case .apiKeyQuery:
            return call.query[secret.secondaryName ?? "api_key"] == secret.secret
        case .keyPair:
            return h[(secret.headerName ?? "X-Key-Id").lowercased()] == secret.identifier
                && h[(secret.secondaryName ?? "X-Key-Secret").lowercased()] == secret.secret
        case .basic:
            guard let value = h["authorization"], value.hasPrefix("Basic "),
                  let decoded = Data(base64Encoded: String(value.dropFirst(6))).map({ String(decoding: $0, as: UTF8.self) })
            else { return false }
            return decoded == "\(secret.identifier ?? ""):\(secret.secret)"
        case .sigv4:
            guard let auth = h["authorization"].flatMap(SigV4Verifier.parseAuthorization), auth.accessKeyID == secret.identifier
            else { return false }
            do {
                try SigV4Verifier.verify(method: call.method, rawPath: call.fullPath, rawQuery: call.rawQuery, headers: h,
                                         body: call.body, secretKey: secret.secret)
                return true
            } catch {
                return false
            }
        }
    }
}
