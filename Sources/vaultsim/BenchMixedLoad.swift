import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import VaultSimCore

/// `vaultsim bench --target mixed`: valid and invalid requests in turn, to the vault directly
/// and to the providers through the intercepting proxy, so a soak shows whether bad input costs
/// memory that is never given back. Each kind has the answer it must get; any other counts as a
/// failure.
struct MixedLoad: Sendable {
    let vaultURL: String
    let apiKey: String
    let tokenBody: Data
    let accessToken: String
    let sandboxID: String

    struct Request: Sendable {
        var throughProxy: Bool
        var request: HTTPClientRequest
        /// The statuses this kind of request must get.
        var expected: ClosedRange<Int>
    }

    static let kinds = 8

    /// A big form (over the codec's 1 MiB limit) and a form of separators only.
    static let bigForm = ByteBuffer(string: "a=" + String(repeating: "x", count: 1_200_000))
    static let nearMissForm = ByteBuffer(string: "=&&=%ZZ&%C3=&+=+&=")

    func request(_ n: Int) -> Request {
        switch n % Self.kinds {
        case 0: return Request(throughProxy: false, request: signedToken(tokenBody), expected: 200...200)
        case 1:
            var request = signedToken(tokenBody)
            request.headers.replaceOrAdd(name: "X-Alter-Signature", value: String(repeating: "0", count: 64))
            return Request(throughProxy: false, request: request, expected: 401...401)
        case 2: return Request(throughProxy: false, request: signedToken(Data(#"{"grant_id":[],"request":"="}"#.utf8)), expected: 400...422)
        case 3: return Request(throughProxy: true, request: calendar("maxResults=3"), expected: 200...200)
        case 4: return Request(throughProxy: true, request: calendar("=&&%ZZ&maxResults=3&=&%C3"), expected: 200...200)
        case 5:
            var request = HTTPClientRequest(url: "https://accounts.google.com/o/oauth2/v2/auth")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(Self.nearMissForm)
            return Request(throughProxy: true, request: request, expected: 400...499)
        case 6:
            var request = HTTPClientRequest(url: "https://oauth2.googleapis.com/token")
            request.method = .POST
            request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
            request.body = .bytes(Self.bigForm)
            return Request(throughProxy: true, request: request, expected: 413...413)
        default:
            return Request(throughProxy: false, request: HTTPClientRequest(url: vaultURL + "/connect/callback?=&state=\(sandboxID).%ZZ&=="),
                           expected: 200...499)
        }
    }

    /// A signed `POST /sdk/token` with its own nonce.
    func signedToken(_ body: Data) -> HTTPClientRequest { signed("/sdk/token", body) }

    /// A POST to the vault signed as alter-sdk 0.11.0 signs it, with its own nonce.
    func signed(_ path: String, _ body: Data) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: vaultURL + path)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "x-api-key", value: apiKey)
        let signature = RequestSigning.sign(method: "POST", path: path, body: body, apiKey: apiKey,
                                            timestamp: Int(Date().timeIntervalSince1970), nonce: SecretGenerator.token(32).lowercased())
        for (name, value) in signature { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        return request
    }

    private func calendar(_ query: String) -> HTTPClientRequest {
        var request = HTTPClientRequest(url: "https://www.googleapis.com/calendar/v3/calendars/primary/events?" + query)
        request.headers.add(name: "Authorization", value: "Bearer \(accessToken)")
        return request
    }
}
