import Synchronization

/// The address the server listens on, known once it is bound (port 0 picks a free port).
public final class ServerAddress: Sendable {
    private let state = Mutex<(host: String, port: Int)?>(nil)

    public init() {}

    func set(host: String, port: Int) { state.withLock { $0 = (host, port) } }

    public var port: Int? { state.withLock { $0?.port } }

    /// `http://host:port`, what `ALTER_BASE_URL` should be.
    public var baseURL: String {
        state.withLock { $0.map { "http://\($0.host):\($0.port)" } ?? "http://127.0.0.1:0" }
    }
}
