import Foundation
import Logging
import ServiceLifecycle
import VaultSimCore

/// How much of the journals (provider requests, audit records, token requests) a long-running
/// server keeps in each sandbox; see `VaultStore.prune`. Off unless passed to
/// `VaultSimServer.start(retention:)`: a scenario run reads its whole journal at the end.
public struct JournalRetention: Sendable {
    /// Rows received longer ago than this, on the sandbox's clock, are deleted.
    public var maxAge: TimeInterval
    /// At most this many rows of each journal are kept per sandbox, the newest.
    public var maxRows: Int
    /// How often the journals are pruned.
    public var interval: Duration

    public init(maxAge: TimeInterval = 7 * 86400, maxRows: Int = 100_000, interval: Duration = .seconds(600)) {
        self.maxAge = maxAge
        self.maxRows = maxRows
        self.interval = interval
    }

    /// Prunes every sandbox of the registry once. - Returns: how many rows were deleted.
    @discardableResult
    public func prune(_ registry: SandboxRegistry, logger: Logger) -> Int {
        var deleted = 0
        for sandbox in registry.all {
            do {
                let pruned = try sandbox.store.prune(olderThan: sandbox.clock.now.addingTimeInterval(-maxAge), keepingAtMost: maxRows)
                deleted += pruned.journal + pruned.audit + pruned.tokenRequests
            } catch {
                logger.warning("pruning the journals failed", metadata: ["sandbox": "\(sandbox.id)", "error": "\(error)"])
            }
        }
        return deleted
    }
}

/// Runs `JournalRetention` beside the HTTP server until the group shuts down, and writes the
/// token-request journal's pending rows every second (and at shutdown), so a stopped or killed
/// `serve` loses at most a second of them.
struct JournalRetentionService: Service {
    let retention: JournalRetention
    let registry: SandboxRegistry
    let logger: Logger

    func run() async throws {
        var nextPrune = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if ContinuousClock.now >= nextPrune {
                retention.prune(registry, logger: logger)
                nextPrune = ContinuousClock.now + retention.interval
            }
            flush()
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: .seconds(1)) }
        }
        flush()
    }

    private func flush() {
        for sandbox in registry.all {
            do { try sandbox.store.flushJournal() } catch {
                logger.warning("writing the token-request journal failed", metadata: ["sandbox": "\(sandbox.id)", "error": "\(type(of: error))"])
            }
        }
    }
}
