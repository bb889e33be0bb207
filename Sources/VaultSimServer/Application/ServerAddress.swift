import Synchronization

/// The address the server listens on, known once it is bound (port 0 picks a free port), and
/// the one-time outcome of starting: bound, or failed before binding (`start` waits for it).
public final class ServerAddress: Sendable {
    private enum Phase {
        case starting
        case bound(host: String, port: Int)
        case failed(any Error)
    }

    private struct State {
        var phase = Phase.starting
        var waiters: [CheckedContinuation<Void, any Error>] = []
    }

    private let state = Mutex(State())

    public init() {}

    /// Records where the server listens, and wakes whoever waits for it.
    func set(host: String, port: Int) { settle(.bound(host: host, port: port)) }

    /// Records that the server will never listen (bind failed, stopped, timed out). Does
    /// nothing once it is bound: later failures are the running server's, seen by `wait()`.
    func failToStart(_ error: any Error) { settle(.failed(error)) }

    private func settle(_ outcome: Phase) {
        let waiters: [CheckedContinuation<Void, any Error>] = state.withLock { state in
            guard case .starting = state.phase else { return [] }
            state.phase = outcome
            let pending = state.waiters
            state.waiters = []
            return pending
        }
        for waiter in waiters {
            if case .failed(let error) = outcome { waiter.resume(throwing: error) } else { waiter.resume() }
        }
    }

    /// Returns once the server is bound; throws the reason it never will be.
    func waitUntilBound() async throws {
        try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
            let settled: Result<Void, any Error>? = state.withLock { state in
                switch state.phase {
                case .starting:
                    state.waiters.append(continuation)
                    return nil
                case .bound: return .success(())
                case .failed(let error): return .failure(error)
                }
            }
            if let settled { continuation.resume(with: settled) }
        }
    }

    private var bound: (host: String, port: Int)? {
        state.withLock { state in
            if case .bound(let host, let port) = state.phase { return (host, port) }
            return nil
        }
    }

    public var port: Int? { bound?.port }

    /// `http://host:port`, what `ALTER_BASE_URL` should be.
    public var baseURL: String {
        bound.map { "http://\($0.host):\($0.port)" } ?? "http://127.0.0.1:0"
    }
}
