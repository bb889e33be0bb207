import Foundation
import VaultSimCore

/// One HTTP request to a fake provider, as the provider sees it.
public struct ProviderCall: Sendable {
    public var method: String
    /// The path below the provider's mount point, percent-encoding as received (`/calendar/v3/...`).
    public var path: String
    /// The whole request path as received, mount point included (what a SigV4 client signed).
    public var fullPath: String
    public var rawQuery: String
    /// Header names in lower case; repeated headers joined with `", "`.
    public var headers: [String: String]
    public var body: Data

    public init(method: String, path: String, fullPath: String, rawQuery: String, headers: [String: String], body: Data) {
        self.method = method
        self.path = path
        self.fullPath = fullPath
        self.rawQuery = rawQuery
        self.headers = headers
        self.body = body
    }

    /// Path segments, percent-decoded.
    public var segments: [String] {
        path.split(separator: "/", omittingEmptySubsequences: true).map { String($0).removingPercentEncoding ?? String($0) }
    }

    /// Decoded query parameters (last value wins).
    public var query: [String: String] { QueryString.decode(rawQuery) }

    public var json: JSONValue? { JSONValue.parse(body) }

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
}
