import Foundation

/// One recorded exchange as a report lists it (`--record`): who called what, and the answer. The
/// URL is the transcript's, secrets already placeholders.
public struct ExchangeLine: Sendable, Codable, Equatable {
    public var caller: String
    public var method: String
    public var url: String
    public var status: Int
    public var step: String?
    public var answeredBy: String?
    public var milliseconds: Double

    public init(caller: String, method: String, url: String, status: Int, step: String?, answeredBy: String?, milliseconds: Double) {
        self.caller = caller
        self.method = method
        self.url = url
        self.status = status
        self.step = step
        self.answeredBy = answeredBy
        self.milliseconds = milliseconds
    }

    enum CodingKeys: String, CodingKey {
        case caller, method, url, status, step
        case answeredBy = "answered_by"
        case milliseconds = "ms"
    }

    /// A transcript's entries as report lines.
    public static func lines(of har: HAR) -> [ExchangeLine] {
        har.log.entries.map { entry in
            ExchangeLine(caller: entry.vaultsim?.caller ?? "", method: entry.request.method, url: entry.request.url,
                         status: entry.response.status, step: entry.vaultsim?.step, answeredBy: entry.vaultsim?.answeredBy,
                         milliseconds: entry.time)
        }
    }
}
