import Foundation

/// What answered a request, and how.
public struct ExchangeAnswer: Sendable {
    public var response: Exchange.Response
    /// `vault`, `provider`, `fault`, `fault (dropped connection)`, `replay`.
    public var answeredBy: String

    public init(_ response: Exchange.Response, by answeredBy: String) {
        self.response = response
        self.answeredBy = answeredBy
    }
}

/// Where a request is being answered: the sandbox, who called and which service owns it.
public struct ExchangeContext: Sendable {
    public let sandbox: Sandbox
    public let caller: Exchange.Caller
    /// `vault`, or the id of the fake provider that owns the host.
    public let service: String

    public init(sandbox: Sandbox, caller: Exchange.Caller, service: String) {
        self.sandbox = sandbox
        self.caller = caller
        self.service = service
    }
}

public typealias ExchangeHandler = @Sendable (Exchange.Request, ExchangeContext) async throws -> ExchangeAnswer

/// One link of the interception chain: answers the request itself, or passes it on with `next`.
public protocol ExchangeLink: Sendable {
    func answer(_ request: Exchange.Request, in context: ExchangeContext, next: ExchangeHandler) async throws -> ExchangeAnswer
}

/// The links every request to the vault's `/sdk/*` routes and to the provider gateway passes
/// through, in order, before the handler that simulates: recorder → faults → replay → handler.
///
/// ```swift
/// let answer = try await InterceptionChain.standard.run(request, in: context) { request, context in
///     ExchangeAnswer(try await provider.respond(to: request), by: "provider")
/// }
/// ```
public struct InterceptionChain: Sendable {
    public var links: [any ExchangeLink]

    public init(links: [any ExchangeLink]) {
        self.links = links
    }

    public static let standard = InterceptionChain(links: [RecorderLink(), FaultLink(), ReplayLink()])

    public func run(_ request: Exchange.Request, in context: ExchangeContext, handler: @escaping ExchangeHandler) async throws -> ExchangeAnswer {
        var next = handler
        for link in links.reversed() {
            let following = next
            next = { request, context in try await link.answer(request, in: context, next: following) }
        }
        return try await next(request, context)
    }
}

/// Journals every exchange in the sandbox's store (`exchanges`), answered or failed, with the
/// real and virtual time it arrived and the scenario step that was running. A fault's delay is
/// not waited here: a client that gives up waiting still leaves its trace.
public struct RecorderLink: ExchangeLink {
    public init() {}

    public func answer(_ request: Exchange.Request, in context: ExchangeContext, next: ExchangeHandler) async throws -> ExchangeAnswer {
        let startedAt = Date()
        let virtualTime = context.sandbox.clock.now
        let step = context.sandbox.currentStep
        let began = ContinuousClock.now
        func journal(_ answer: ExchangeAnswer) throws {
            try context.sandbox.store.append(exchange: Exchange(
                caller: context.caller, service: context.service, request: request, response: answer.response,
                answeredBy: answer.answeredBy, startedAt: startedAt, seconds: Self.seconds(ContinuousClock.now - began),
                virtualTime: virtualTime, step: step))
        }
        do {
            let answer = try await next(request, context)
            try journal(answer)
            return answer
        } catch {
            // Only the error's type: an error can quote a row, and rows hold tokens.
            try? journal(ExchangeAnswer(Exchange.Response(status: 500, body: Data("VaultSim internal error (\(type(of: error)))".utf8)),
                                        by: "error"))
            throw error
        }
    }

    static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }
}

/// Answers with the first matching fault of the sandbox: its provider faults for a provider
/// call, its vault faults (matched by decoded path) for an SDK's `/sdk/*` call. A browser on
/// the hosted Connect pages meets no vault fault.
public struct FaultLink: ExchangeLink {
    public init() {}

    public func answer(_ request: Exchange.Request, in context: ExchangeContext, next: ExchangeHandler) async throws -> ExchangeAnswer {
        let sandbox = context.sandbox
        let isVault = context.service == "vault"
        if isVault && context.caller != .sdk { return try await next(request, context) }
        let book = isVault ? sandbox.vaultFaults : sandbox.faults
        let headers = request.joinedHeaders
        let traits = ProviderFault.RequestTraits(host: isVault ? nil : request.host, caller: context.caller.rawValue, query: request.query,
                                 body: String(decoding: request.body, as: UTF8.self), headers: headers)
        guard let fault = book.take(providerID: context.service, method: request.method,
                                    path: isVault ? QueryString.percentDecoded(request.path) : request.path, traits: traits) else {
            return try await next(request, context)
        }
        if fault.passThrough {
            // Answered as usual, by whoever answers without the fault; only later.
            var answer = try await next(request, context)
            answer.response.delay += .milliseconds(fault.delayMilliseconds)
            return answer
        }
        if fault.drop {
            return ExchangeAnswer(Exchange.Response(status: 0, delay: .milliseconds(fault.delayMilliseconds), dropped: true),
                                  by: "fault (dropped connection)")
        }
        let fields = Exchange.fields(fault.headers.sorted { $0.key < $1.key }.map { ($0.key, $0.value) })
        return ExchangeAnswer(Exchange.Response(status: fault.status, headers: fields, body: Data(fault.body.utf8),
                                                delay: .milliseconds(fault.delayMilliseconds)), by: "fault")
    }
}

/// A source of recorded answers (`vaultsim replay`): when a sandbox has one, it answers every
/// request and nothing simulates.
public protocol ReplaySource: Sendable {
    func answer(_ request: Exchange.Request, in context: ExchangeContext) async -> ExchangeAnswer
}

public struct ReplayLink: ExchangeLink {
    public init() {}

    public func answer(_ request: Exchange.Request, in context: ExchangeContext, next: ExchangeHandler) async throws -> ExchangeAnswer {
        guard let replay = context.sandbox.replay else { return try await next(request, context) }
        return await replay.answer(request, in: context)
    }
}
