import Foundation
import VaultSimCore

/// HAR 1.2 (http://www.softwareishard.com/blog/har-12-spec/), the transcript format: what
/// browsers' devtools import and HAR viewers open. VaultSim's own data lives in `_vaultsim`
/// fields, which HAR allows (custom fields start with `_`).
public struct HAR: Codable, Sendable, Equatable {
    public var log: Log

    public init(log: Log) {
        self.log = log
    }

    public struct Log: Codable, Sendable, Equatable {
        public var version: String
        public var creator: Creator
        public var entries: [Entry]
        public var comment: String?
        public var vaultsim: TranscriptInfo?

        enum CodingKeys: String, CodingKey {
            case version, creator, entries, comment
            case vaultsim = "_vaultsim"
        }
    }

    public struct Creator: Codable, Sendable, Equatable {
        public var name: String
        public var version: String
    }

    public struct Entry: Codable, Sendable, Equatable {
        public var startedDateTime: String
        /// Milliseconds.
        public var time: Double
        public var request: Request
        public var response: Response
        public var cache: Cache
        public var timings: Timings
        public var vaultsim: EntryInfo?

        enum CodingKeys: String, CodingKey {
            case startedDateTime, time, request, response, cache, timings
            case vaultsim = "_vaultsim"
        }
    }

    public struct NameValue: Codable, Sendable, Equatable {
        public var name: String
        public var value: String

        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    public struct Request: Codable, Sendable, Equatable {
        public var method: String
        public var url: String
        public var httpVersion: String
        public var cookies: [NameValue]
        public var headers: [NameValue]
        public var queryString: [NameValue]
        public var postData: PostData?
        public var headersSize: Int
        public var bodySize: Int
    }

    public struct PostData: Codable, Sendable, Equatable {
        public var mimeType: String
        public var text: String
        /// `base64` when the body is not UTF-8 text (HAR 1.2 has no field for it; tools use this one).
        public var encoding: String?

        enum CodingKeys: String, CodingKey {
            case mimeType, text
            case encoding = "_encoding"
        }
    }

    public struct Response: Codable, Sendable, Equatable {
        public var status: Int
        public var statusText: String
        public var httpVersion: String
        public var cookies: [NameValue]
        public var headers: [NameValue]
        public var content: Content
        public var redirectURL: String
        public var headersSize: Int
        public var bodySize: Int
    }

    public struct Content: Codable, Sendable, Equatable {
        public var size: Int
        public var mimeType: String
        public var text: String?
        /// `base64` for a body that is not UTF-8 text.
        public var encoding: String?
    }

    public struct Cache: Codable, Sendable, Equatable {}

    public struct Timings: Codable, Sendable, Equatable {
        public var blocked: Double
        public var dns: Double
        public var connect: Double
        public var send: Double
        public var wait: Double
        public var receive: Double
        public var ssl: Double
    }

    /// VaultSim's data about one entry.
    public struct EntryInfo: Codable, Sendable, Equatable {
        /// `sdk`, `vault` or `browser`.
        public var caller: String
        /// `vault`, or the fake provider's id.
        public var service: String
        /// What answered when it was recorded (`vault`, `provider`, `fault`, …).
        public var answeredBy: String
        /// The sandbox's virtual time when the request arrived.
        public var virtualTime: String
        /// The scenario step that was running.
        public var step: String?
        /// The connection was dropped instead of answered (a fault).
        public var dropped: Bool?
        /// The fault's delay before answering, in milliseconds.
        public var delayMilliseconds: Int?

        enum CodingKeys: String, CodingKey {
            case caller, service, step, dropped
            case answeredBy = "answered_by"
            case virtualTime = "virtual_time"
            case delayMilliseconds = "delay_ms"
        }
    }

    /// VaultSim's data about the whole transcript: what it came from, and the driver ops (with
    /// their outcomes) that replay drives again.
    public struct TranscriptInfo: Codable, Sendable, Equatable {
        public var format: String
        public var scenario: String?
        public var scenarioFile: String?
        public var sdk: String?
        public var sdkVersion: String?
        /// The `init` parameters besides the vault's address and key (caller, timeout, …).
        public var client: JSONValue?
        /// True when the SDK reached providers through the intercepting proxy.
        public var proxy: Bool?
        public var ops: [Op]
        /// The placeholders used, each with its kind (never its value).
        public var placeholders: [String]

        public init(format: String = HAR.transcriptFormat, scenario: String? = nil, scenarioFile: String? = nil, sdk: String? = nil,
                    sdkVersion: String? = nil, client: JSONValue? = nil, proxy: Bool? = nil, ops: [Op] = [], placeholders: [String] = []) {
            self.format = format
            self.scenario = scenario
            self.scenarioFile = scenarioFile
            self.sdk = sdk
            self.sdkVersion = sdkVersion
            self.client = client
            self.proxy = proxy
            self.ops = ops
            self.placeholders = placeholders
        }

        enum CodingKeys: String, CodingKey {
            case format, scenario, sdk, client, proxy, ops, placeholders
            case scenarioFile = "scenario_file"
            case sdkVersion = "sdk_version"
        }
    }

    /// One call to the driver and what it answered.
    public struct Op: Codable, Sendable, Equatable {
        public var step: String
        /// The step whose requests this op's belong to: its own id, or the `concurrently` step around it.
        public var group: String
        /// Ops of one group with the same branch run one after another; different branches run together.
        public var branch: Int
        public var op: String
        public var arguments: JSONValue
        /// `{"result": …}`, `{"error": {class, ancestors, message, attributes}}` or `{"protocol_error": …}`.
        public var outcome: JSONValue
    }
}

extension HAR {
    public static let transcriptFormat = "vaultsim-transcript/1"

    /// Pretty, with sorted keys, so a committed transcript diffs well.
    public func encoded() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}
