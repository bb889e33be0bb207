import Foundation
import HTTPTypes
import Synchronization
import VaultSimCore

/// Serves a transcript's recorded answers to the SDK's requests, with no simulator logic: each
/// request is matched against the recorded SDK requests of the op being driven (see
/// `RequestView` for what is compared), and every difference is kept for the report.
public final class TranscriptReplay: ReplaySource {
    /// A recorded SDK request, ready to compare and serve.
    struct Recorded: Sendable {
        var index: Int
        var entry: HAR.Entry
        var view: RequestView
        var group: String?
    }

    /// What happened to one request the SDK made during the replay.
    public struct Served: Sendable {
        public var request: String
        public var entry: Int?
    }

    struct State {
        var used = Set<Int>()
        /// Recorded requests named as the closest candidate of a changed request (same method and
        /// target): reported with it, not again as a request not made.
        var changed = Set<Int>()
        /// The group (step) whose ops are being driven; its entries are the candidates.
        var group: String?
        /// True while the group's branches run together: their requests interleave as they may.
        var concurrent = false
        var divergences: [Divergence] = []
        var served: [Served] = []
        var repeats: [Int: Int] = [:]
        var lastForView: [RequestView: Int] = [:]
    }

    let recorded: [Recorded]
    let standIns: StandIns
    let unordered: Bool
    private let state = Mutex(State())

    public init(har: HAR, standIns: StandIns, unordered: Bool) {
        var recorded: [Recorded] = []
        for (index, entry) in har.log.entries.enumerated() where entry.vaultsim?.caller == "sdk" {
            recorded.append(Recorded(index: index, entry: entry, view: Self.view(of: entry), group: entry.vaultsim?.step))
        }
        self.recorded = recorded
        self.standIns = standIns
        self.unordered = unordered
    }

    /// The op group being driven now (nil between ops), and whether its branches run together.
    public func setGroup(_ group: String?, concurrent: Bool = false) {
        state.withLock {
            $0.group = group
            $0.concurrent = concurrent
        }
    }

    /// Requests the SDK sends in the background, after the call that caused them returned (its
    /// audit records): they match in any order.
    static func isBackground(_ view: RequestView) -> Bool {
        view.target.hasPrefix("vault /sdk/oauth/audit/") || view.target.hasPrefix("vault /sdk/audit/")
    }

    public var divergences: [Divergence] { state.withLock { $0.divergences } }
    public var repeats: [Int: Int] { state.withLock { $0.repeats } }

    func add(_ divergence: Divergence) {
        state.withLock { $0.divergences.append(divergence) }
    }

    /// Recorded SDK requests no replayed request matched, except repeats of one that was matched
    /// (a poll made fewer times: timing, not behaviour).
    public func unusedEntries() -> [Int] {
        state.withLock { state in
            let usedViews = Set(recorded.filter { state.used.contains($0.index) }.map(\.view))
            return recorded.filter { !state.used.contains($0.index) && !state.changed.contains($0.index) && !usedViews.contains($0.view) }
                .map(\.index)
        }
    }

    public func answer(_ request: Exchange.Request, in context: ExchangeContext) async -> ExchangeAnswer {
        let view = incomingView(request, service: context.service)
        let description = "\(request.method) \(context.service == "vault" ? "vault " + request.path : request.host + request.path)"
        guard context.caller == .sdk else {
            return miss("VaultSim replay serves only the SDK's requests; this one came from the \(context.caller.rawValue)")
        }
        let outcome: (entry: Recorded?, divergence: Divergence?) = state.withLock { state in
            let pool = recorded.filter { state.group == nil || $0.group == state.group }
            let unused = pool.filter { !state.used.contains($0.index) }
            if let match = unused.first(where: { $0.view == view }) {
                state.used.insert(match.index)
                state.lastForView[view] = match.index
                state.served.append(Served(request: description, entry: match.index))
                // In recorded order: the first unused request the SDK makes in the foreground,
                // unless the op's branches run together.
                if !unordered, !state.concurrent, !Self.isBackground(view),
                   let first = unused.first(where: { !Self.isBackground($0.view) }), match.index != first.index, first.view != view {
                    return (match, Divergence(kind: .outOfOrder, step: state.group, request: description,
                                              message: "the SDK made this request before the one recorded first (entry \(first.index): "
                                                + "\(first.entry.request.method) \(first.entry.request.url))"))
                }
                return (match, nil)
            }
            // A request made after its op returned (the SDK's audit records are flushed in the
            // background) lands in a later op: any unused recorded request that matches serves.
            if let match = recorded.first(where: { !state.used.contains($0.index) && $0.view == view }) {
                state.used.insert(match.index)
                state.lastForView[view] = match.index
                state.served.append(Served(request: description, entry: match.index))
                return (match, nil)
            }
            // The same request again, beyond the recorded count: the last answer sticks.
            if let last = state.lastForView[view], let match = recorded.first(where: { $0.index == last }) {
                state.repeats[last, default: 0] += 1
                state.served.append(Served(request: description, entry: last))
                return (match, nil)
            }
            // The closest unused recorded request, of this op first on a tie (a late request's
            // recorded twin may stand in another op); all recorded ones when every one was used.
            let group = state.group
            let everyUnused = recorded.filter { !state.used.contains($0.index) }
            let closest = (everyUnused.isEmpty ? recorded : everyUnused).min { a, b in
                func weight(_ item: Recorded) -> Int {
                    Self.distance(view.differences(from: item.view)) * 2 + (group == nil || item.group == group ? 0 : 1)
                }
                return weight(a) < weight(b)
            }
            state.served.append(Served(request: description, entry: nil))
            if let closest, !state.used.contains(closest.index), Self.distance(view.differences(from: closest.view)) < 10 {
                state.changed.insert(closest.index)
            }
            return (nil, Divergence(kind: .unexpectedRequest, step: state.group, request: description,
                                    message: "no recorded request matches", closest: closest.map { Self.candidate($0, against: view) }))
        }
        if let divergence = outcome.divergence { add(divergence) }
        guard let entry = outcome.entry else {
            return miss("VaultSim replay: no recorded request matches \(description) (see the divergence report)")
        }
        return ExchangeAnswer(response(for: entry.entry), by: "replay")
    }

    /// Field mismatches weigh 1, a different method or target 10: the closest candidate is the
    /// same call with other details, not another call with the same details.
    static func distance(_ differences: [RequestView.Difference]) -> Int {
        differences.reduce(0) { $0 + ($1.field == "method" || $1.field == "target" ? 10 : 1) }
    }

    static func candidate(_ recorded: Recorded, against view: RequestView) -> Divergence.Candidate {
        let differences = view.differences(from: recorded.view)
        let differing = Set(differences.map { $0.field.split(separator: " ").first.map(String.init) ?? $0.field }
            .map { $0.hasPrefix("body") ? "body" : $0 == "header" ? "headers" : $0 })
        let response = recorded.entry.response
        let body = response.content.text.map { String($0.prefix(400)) } ?? ""
        return Divergence.Candidate(entry: recorded.index, request: "\(recorded.entry.request.method) \(recorded.entry.request.url)",
                                    step: recorded.group, matched: RequestView.fieldNames.filter { !differing.contains($0) },
                                    differences: differences, answer: "\(response.status) \(body)")
    }

    private func miss(_ message: String) -> ExchangeAnswer {
        let body = JSONValue.object(["detail": ["error": "vaultsim_replay_miss", "message": .string(message)]])
        return ExchangeAnswer(Exchange.Response(status: 599, headers: [.contentType: "application/json"], body: Data(body.jsonText.utf8)),
                              by: "replay (no match)")
    }

    /// A recorded answer, placeholders replaced by stand-ins and addresses by this server's.
    func response(for entry: HAR.Entry) -> Exchange.Response {
        let recorded = entry.response
        var body = Data()
        if let text = recorded.content.text {
            body = recorded.content.encoding == "base64" ? (Data(base64Encoded: text) ?? Data()) : Data(standIns.apply(text).utf8)
        }
        let headers = Exchange.fields(recorded.headers.filter { !["content-length", "transfer-encoding", "connection"].contains($0.name.lowercased()) }
            .map { ($0.name, standIns.apply($0.value)) })
        let delay = Duration.milliseconds(entry.vaultsim?.delayMilliseconds ?? 0)
        return Exchange.Response(status: recorded.status, headers: headers, body: body, delay: delay,
                                 dropped: entry.vaultsim?.dropped == true)
    }

    /// A request the SDK sent, as the transcript would show it.
    func incomingView(_ request: Exchange.Request, service: String) -> RequestView {
        let headers = Exchange.pairs(request.headers).map { name, value -> (String, String) in
            let restored = standIns.restore(value)
            if restored != value { return (name, restored) }
            if name.lowercased() == "authorization", value.lowercased().hasPrefix("basic "),
               let data = Data(base64Encoded: String(value.dropFirst(6))), let text = String(data: data, encoding: .utf8) {
                return (name, "Basic " + Data(standIns.restore(text).utf8).base64EncodedString())
            }
            return (name, standIns.restore(value))
        }
        let body: Data = String(data: request.body, encoding: .utf8).map { Data(standIns.restore($0).utf8) } ?? request.body
        return RequestView(method: request.method, service: service, host: request.host, path: standIns.restore(request.path),
                           query: standIns.restore(request.query), headers: headers, body: body, contentType: request.header("content-type"))
    }

    /// A recorded request's view.
    static func view(of entry: HAR.Entry) -> RequestView {
        let request = entry.request
        let (host, path, query) = split(url: request.url)
        var body = Data()
        if let post = request.postData {
            body = post.encoding == "base64" ? (Data(base64Encoded: post.text) ?? Data()) : Data(post.text.utf8)
        }
        return RequestView(method: request.method, service: entry.vaultsim?.service ?? "", host: host, path: path, query: query,
                           headers: request.headers.map { ($0.name, $0.value) }, body: body,
                           contentType: request.headers.first { $0.name.lowercased() == "content-type" }?.value)
    }

    /// `https://host:port/path?query` → host, path, query.
    static func split(url: String) -> (host: String, path: String, query: String) {
        let afterScheme = url.range(of: "://").map { url[$0.upperBound...] } ?? url[...]
        let pathStart = afterScheme.firstIndex { $0 == "/" || $0 == "?" } ?? afterScheme.endIndex
        let host = String(afterScheme[..<pathStart])
        let rest = afterScheme[pathStart...]
        let queryStart = rest.firstIndex(of: "?")
        var path = String(queryStart.map { rest[..<$0] } ?? rest)
        if path.isEmpty { path = "/" }
        let query = queryStart.map { String(rest[rest.index(after: $0)...]) } ?? ""
        return (host, path, query)
    }
}

/// One way the replayed SDK did not do what was recorded.
public struct Divergence: Sendable, Equatable {
    public enum Kind: String, Sendable {
        /// A request no recorded one matches.
        case unexpectedRequest = "unexpected request"
        /// A recorded request the SDK did not make.
        case missingRequest = "request not made"
        /// A request matched a recorded one past another still unmatched.
        case outOfOrder = "out of order"
        /// An op's outcome (result or exception) differs.
        case outcome = "outcome differs"
        /// The driver could not carry out an op at all.
        case driver = "driver"
    }

    public struct Candidate: Sendable, Equatable {
        public var entry: Int
        public var request: String
        public var step: String?
        public var matched: [String]
        public var differences: [RequestView.Difference]
        /// What the candidate would have answered (status and the start of the body).
        public var answer: String
    }

    public var kind: Kind
    public var step: String?
    public var request: String?
    public var message: String
    public var closest: Candidate?
    public var expected: String?
    public var actual: String?

    public init(kind: Kind, step: String?, request: String? = nil, message: String, closest: Candidate? = nil,
                expected: String? = nil, actual: String? = nil) {
        self.kind = kind
        self.step = step
        self.request = request
        self.message = message
        self.closest = closest
        self.expected = expected
        self.actual = actual
    }
}
