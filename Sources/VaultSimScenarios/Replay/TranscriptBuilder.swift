import Foundation
import HTTPTypes
import VaultSimCore

/// Builds a redacted HAR transcript from a sandbox's exchanges and the driver ops a scenario
/// ran. Gateway URLs (`--no-proxy`) are written as the real URLs they stand for, and every
/// secret the sandbox issued becomes a placeholder.
public struct TranscriptBuilder {
    public var secrets: [RedactionSecret]
    /// Maps a text's gateway URLs to the real ones (identity when there are none).
    public var realURLs: @Sendable (String) -> String

    public init(secrets: [RedactionSecret], realURLs: @escaping @Sendable (String) -> String = { $0 }) {
        self.secrets = secrets
        self.realURLs = realURLs
    }

    public func build(exchanges: [Exchange], info: HAR.TranscriptInfo) -> HAR {
        var redactor = Redactor(secrets: secrets + Self.discoveredSecrets(in: exchanges))
        let entries = exchanges.map { entry(for: $0, redactor: &redactor) }
        var info = info
        info.ops = info.ops.map { op in
            var op = op
            op.arguments = redact(op.arguments, &redactor)
            op.outcome = redact(op.outcome, &redactor)
            return op
        }
        info.placeholders = redactor.placeholders
        return HAR(log: HAR.Log(version: "1.2", creator: HAR.Creator(name: "VaultSim", version: VaultSimVersion.current),
                                entries: entries, comment: nil, vaultsim: info))
    }

    private func redact(_ value: JSONValue, _ redactor: inout Redactor) -> JSONValue {
        switch value {
        case .string(let text): .string(redactor.redact(realURLs(text)))
        case .array(let items): .array(items.map { redact($0, &redactor) })
        case .object(let members): .object(members.mapValues { redact($0, &redactor) })
        default: value
        }
    }

    private func entry(for exchange: Exchange, redactor: inout Redactor) -> HAR.Entry {
        let request = exchange.request
        let headers = Exchange.pairs(request.headers).map { name, value in
            HAR.NameValue(name: name, value: redactor.redact(header: name, value: realURLs(value)))
        }
        let query = QueryString.pairs(request.query).map { HAR.NameValue(name: redactor.redact($0.0), value: redactor.redact(realURLs($0.1))) }
        let url = redactor.redact(realURLs(request.url))
        var postData: HAR.PostData?
        if !request.body.isEmpty {
            let (text, encoding) = Self.bodyText(request.body, redact: { redactor.redact(realURLs($0)) })
            postData = HAR.PostData(mimeType: request.header("content-type") ?? "", text: text, encoding: encoding)
        }
        let response = exchange.response
        let responseHeaders = Exchange.pairs(response.headers).map { name, value in
            HAR.NameValue(name: name, value: redactor.redact(header: name, value: realURLs(value)))
        }
        let (text, encoding) = Self.bodyText(response.body, redact: { redactor.redact(realURLs($0)) })
        let content = HAR.Content(size: exchange.responseBodySize, mimeType: response.header("content-type") ?? "",
                                  text: response.body.isEmpty ? nil : text, encoding: response.body.isEmpty ? nil : encoding)
        let milliseconds = (exchange.seconds * 1000 * 1000).rounded() / 1000
        let delay = Int(response.delay.components.seconds * 1000 + response.delay.components.attoseconds / 1_000_000_000_000_000)
        return HAR.Entry(
            startedDateTime: Self.timestamp(exchange.startedAt), time: milliseconds,
            request: HAR.Request(method: request.method, url: url, httpVersion: "HTTP/1.1", cookies: [], headers: headers,
                                 queryString: query, postData: postData, headersSize: -1, bodySize: exchange.requestBodySize),
            response: HAR.Response(status: response.status, statusText: Self.reasonPhrase(response.status),
                                   httpVersion: "HTTP/1.1", cookies: [], headers: responseHeaders, content: content,
                                   redirectURL: responseHeaders.first { $0.name.lowercased() == "location" }?.value ?? "",
                                   headersSize: -1, bodySize: response.dropped ? -1 : exchange.responseBodySize),
            cache: HAR.Cache(),
            timings: HAR.Timings(blocked: -1, dns: -1, connect: -1, send: 0, wait: milliseconds, receive: 0, ssl: -1),
            vaultsim: HAR.EntryInfo(caller: exchange.caller.rawValue, service: exchange.service, answeredBy: exchange.answeredBy,
                                    virtualTime: exchange.virtualTime.rfc3339, step: exchange.step,
                                    dropped: response.dropped ? true : nil, delayMilliseconds: delay > 0 ? delay : nil))
    }

    /// Secrets found by where they stand, whether or not the sandbox still lists them (a PKCE
    /// verifier of a seeded grant, a code already used): form and query fields and JSON members
    /// named like a credential, and Bearer credentials.
    /// An Alter API key's secret part (its `alter_key_` prefix is not secret), or the value as `kind`.
    static func apiKeyOr(_ kind: RedactionSecret.Kind, _ value: String) -> RedactionSecret {
        value.hasPrefix("alter_key_") ? RedactionSecret(.apiKey, String(value.dropFirst("alter_key_".count))) : RedactionSecret(kind, value)
    }

    static func discoveredSecrets(in exchanges: [Exchange]) -> [RedactionSecret] {
        var found: [RedactionSecret] = []
        func named(_ name: String, _ value: String, inForm: Bool) {
            guard !value.isEmpty else { return }
            switch name.lowercased() {
            case "code_verifier": found.append(RedactionSecret(.codeVerifier, value))
            case "client_secret": found.append(RedactionSecret(.clientSecret, value))
            case "access_token", "id_token": found.append(RedactionSecret(.accessToken, value))
            case "refresh_token": found.append(RedactionSecret(.refreshToken, value))
            case "session_token": found.append(RedactionSecret(.connectSessionToken, value))
            case "code" where inForm: found.append(RedactionSecret(.authorizationCode, value))
            default: break
            }
        }
        func json(_ value: JSONValue) {
            switch value {
            case .object(let members):
                for (name, member) in members {
                    if case .string(let text) = member { named(name, text, inForm: false) } else { json(member) }
                }
            case .array(let items): items.forEach(json)
            default: break
            }
        }
        func body(_ data: Data, contentType: String?) {
            if contentType?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true {
                for (name, value) in QueryString.pairs(data) { named(name, value, inForm: true) }
            } else if let value = JSONValue.parse(data) {
                json(value)
            }
        }
        for exchange in exchanges {
            for (name, value) in QueryString.pairs(exchange.request.query) { named(name, value, inForm: true) }
            body(exchange.request.body, contentType: exchange.request.header("content-type"))
            body(exchange.response.body, contentType: exchange.response.header("content-type"))
            if let location = exchange.response.header("location"), let query = location.split(separator: "?", maxSplits: 1).dropFirst().first {
                for (name, value) in QueryString.pairs(String(query)) { named(name, value, inForm: true) }
            }
            for field in exchange.request.headers {
                switch field.name.canonicalName {
                case "authorization" where field.value.lowercased().hasPrefix("bearer "):
                    found.append(apiKeyOr(.accessToken, String(field.value.dropFirst(7))))
                case "x-api-key":
                    found.append(apiKeyOr(.apiKey, field.value))
                default: break
                }
            }
        }
        return found
    }

    /// A body as HAR text: UTF-8 text redacted, or base64 (`encoding` set) for other bytes.
    static func bodyText(_ body: Data, redact: (String) -> String) -> (String, String?) {
        if let text = String(data: body, encoding: .utf8) { return (redact(text), nil) }
        return (body.base64EncodedString(), "base64")
    }

    /// The standard reason phrase of a status ("" for 0, a dropped connection, and for codes HTTP does not name).
    static func reasonPhrase(_ status: Int) -> String {
        let known: [HTTPResponse.Status] = [
            .continue, .switchingProtocols, .ok, .created, .accepted, .nonAuthoritativeInformation, .noContent, .resetContent, .partialContent,
            .multipleChoices, .movedPermanently, .found, .seeOther, .notModified, .temporaryRedirect, .permanentRedirect,
            .badRequest, .unauthorized, .forbidden, .notFound, .methodNotAllowed, .notAcceptable,
            .proxyAuthenticationRequired, .requestTimeout, .conflict, .gone, .lengthRequired, .preconditionFailed, .contentTooLarge,
            .uriTooLong, .unsupportedMediaType, .rangeNotSatisfiable, .expectationFailed, .misdirectedRequest, .unprocessableContent,
            .tooEarly, .upgradeRequired, .preconditionRequired, .tooManyRequests, .requestHeaderFieldsTooLarge, .unavailableForLegalReasons,
            .internalServerError, .notImplemented, .badGateway, .serviceUnavailable, .gatewayTimeout, .httpVersionNotSupported,
            .networkAuthenticationRequired,
        ]
        return known.first { $0.code == status }?.reasonPhrase ?? ""
    }

    /// `2026-12-07T07:00:30.123Z`, as HAR's `startedDateTime` wants (ISO 8601 with milliseconds).
    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true))
    }
}
