/// Who made a backend call, from the SDK's `X-Alter-Caller`, `X-Alter-Caller-Type` and
/// `X-Alter-Context` headers (the raw header text is kept; the context is also parsed).
public struct CallerInfo: Sendable, Equatable {
    public var caller: String?
    public var callerType: String?
    public var contextHeader: String?
    /// The actor id the SDK sent back (`X-Alter-Actor-ID`), if any.
    public var actorID: String?
    /// The signing scheme the request's signature matched (`five-line`, `six-line`, `v2`).
    public var signingScheme: String?

    public init(caller: String? = nil, callerType: String? = nil, contextHeader: String? = nil, actorID: String? = nil,
                signingScheme: String? = nil) {
        self.caller = caller
        self.callerType = callerType
        self.contextHeader = contextHeader
        self.actorID = actorID
        self.signingScheme = signingScheme
    }
}
