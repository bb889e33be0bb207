import Foundation
import VaultSimCore

/// One HTTP request to a fake provider, as the provider sees it.
public struct ProviderCall: Sendable {
    /// Who made the call: the app through the SDK, the vault, or a browser.
    public typealias Caller = Exchange.Caller

    public var method: String
    /// The real host the request was addressed to (`www.googleapis.com`), lower case.
    public var host: String
    public var caller: Caller
    /// The path on that host, percent-encoding as received (`/calendar/v3/...`).
    public var path: String
    /// The whole request path as received, mount point included (what a SigV4 client signed).
    public var fullPath: String
    public var rawQuery: String
    /// Header names in lower case; repeated headers joined with `", "`.
    public var headers: [String: String]
    public var body: Data

    public init(method: String, host: String, caller: Caller = .sdk, path: String, fullPath: String, rawQuery: String,
                headers: [String: String], body: Data) {
        self.method = method
        self.host = host.lowercased()
        self.caller = caller
        self.path = path
        self.fullPath = fullPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }

    /// Path segments, percent-decoded.
    public var segments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map(QueryString.percentDecoded)
    }

    /// Decoded query parameters (last value wins).
    public var query: [String: String] { QueryString.decode(rawQuery) }

    public var json: JSONValue? { JSONValue.parse(body) }

    /// The body decoded as `application/x-www-form-urlencoded` (last value wins).
    public var form: [String: String] { QueryString.decode(body) }

    /// Form fields, or JSON members as strings when the body is a JSON object (Slack and GitHub
    /// accept both for their OAuth endpoints).
    public var parameters: [String: String] {
        if headers["content-type"]?.lowercased().hasPrefix("application/json") == true, let object = json?.objectValue {
            return object.reduce(into: [:]) { result, member in
                result[member.key] = member.value.stringValue ?? (member.value.isNull ? nil : member.value.jsonText)
            }
        }
        return form
    }

    /// The client credentials of HTTP Basic authentication (`client_id:client_secret`), if sent.
    public var basicCredentials: (user: String, password: String)? {
        guard let value = headers["authorization"], value.lowercased().hasPrefix("basic "),
              let data = Data(base64Encoded: String(value.dropFirst(6)).trimmingCharacters(in: .whitespaces))
        else { return nil }
        let text = String(decoding: data, as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return nil }
        return (QueryString.percentDecoded(text[..<colon]), QueryString.percentDecoded(text[text.index(after: colon)...]))
    }

    /// The bearer token of the Authorization header, if it has that form.
    public var bearerToken: String? {
        guard let value = headers["authorization"] else { return nil }
        let parts = value.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
        return String(parts[1]).trimmingCharacters(in: .whitespaces)
    }
}

/// A fake provider's answer.
public struct ProviderResponse: Sendable {
    public var status: Int
    public var headers: [String: String]
    public var body: Data

    public init(status: Int, headers: [String: String] = [:], body: Data) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// A JSON answer with `content-type: application/json; charset=UTF-8`.
    public static func json(_ status: Int, _ value: JSONValue, headers: [String: String] = [:]) -> ProviderResponse {
        var all = ["content-type": "application/json; charset=UTF-8"]
        all.merge(headers) { _, new in new }
        return ProviderResponse(status: status, headers: all, body: Data(value.jsonText.utf8))
    }

    /// An `application/x-www-form-urlencoded` answer (GitHub's default for its token endpoint).
    public static func form(_ status: Int, _ fields: [(String, String)], headers: [String: String] = [:]) -> ProviderResponse {
        var all = ["content-type": "application/x-www-form-urlencoded; charset=utf-8"]
        all.merge(headers) { _, new in new }
        return ProviderResponse(status: status, headers: all, body: Data(QueryString.encode(fields).utf8))
    }

    /// A plain-text answer.
    public static func text(_ status: Int, _ text: String, contentType: String = "text/plain; charset=utf-8") -> ProviderResponse {
        ProviderResponse(status: status, headers: ["content-type": contentType], body: Data(text.utf8))
    }
}
