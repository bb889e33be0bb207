import Foundation
import Synchronization

/// All sandboxes one server holds, found by id or by API key.
public final class SandboxRegistry: Sendable {
    private struct State {
        var byID: [String: Sandbox] = [:]
        var idByKeyHash: [String: String] = [:]
    }

    private let state = Mutex(State())

    public init() {}

    /// Creates an in-memory sandbox and registers it.
    public func create(name: String) throws -> Sandbox {
        let sandbox = try Sandbox.open(name: name, store: VaultStore.inMemory(), providerDatabase: Sandbox.inMemoryProviderDatabase())
        register(sandbox)
        return sandbox
    }

    public func register(_ sandbox: Sandbox) {
        let hash = RequestSigning.sha256Hex(Data(sandbox.apiKey.utf8))
        state.withLock { state in
            state.byID[sandbox.id] = sandbox
            state.idByKeyHash[hash] = sandbox.id
        }
    }

    public func sandbox(id: String) -> Sandbox? {
        state.withLock { $0.byID[id] }
    }

    /// The sandbox whose app owns this API key.
    public func sandbox(apiKey: String) -> Sandbox? {
        let hash = RequestSigning.sha256Hex(Data(apiKey.utf8))
        return state.withLock { state in state.idByKeyHash[hash].flatMap { state.byID[$0] } }
    }

    @discardableResult
    public func remove(id: String) -> Sandbox? {
        state.withLock { state in
            guard let sandbox = state.byID.removeValue(forKey: id) else { return nil }
            state.idByKeyHash = state.idByKeyHash.filter { $0.value != id }
            return sandbox
        }
    }

    public var all: [Sandbox] {
        state.withLock { Array($0.byID.values) }.sorted { $0.name < $1.name }
    }
}
