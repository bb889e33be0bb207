import Synchronization

/// At most one piece of work per key at a time: callers that ask while one runs wait for its
/// result instead of starting another (N concurrent requests on an expired grant → one refresh).
public final class SingleFlight<Value: Sendable>: Sendable {
    private struct Flight {
        var id: Int
        var task: Task<Value, any Error>
    }

    private let flights = Mutex<(next: Int, running: [String: Flight])>((0, [:]))

    public init() {}

    /// Whether work for `key` is running now.
    public func isRunning(_ key: String) -> Bool { flights.withLock { $0.running[key] != nil } }

    /// Runs `work` for `key`, or waits for the run already in flight. `started` is true for the
    /// caller whose call started the work.
    public func run(_ key: String, _ work: @escaping @Sendable () async throws -> Value) async throws -> (value: Value, started: Bool) {
        let (task, started) = flights.withLock { state -> (Task<Value, any Error>, Bool) in
            if let flight = state.running[key] { return (flight.task, false) }
            state.next += 1
            let id = state.next
            let task = Task<Value, any Error> {
                defer { self.finish(key, id: id) }
                return try await work()
            }
            state.running[key] = Flight(id: id, task: task)
            return (task, true)
        }
        return (try await task.value, started)
    }

    private func finish(_ key: String, id: Int) {
        flights.withLock { state in
            if state.running[key]?.id == id { state.running[key] = nil }
        }
    }
}
