import Foundation
import VaultSimCore
import VaultSimServer

/// `vaultsim serve --auto-consent`: for headless machines, the simulated user approves every new
/// Connect session of every sandbox — each provider the page offers, with the first account the
/// provider lists and every scope — through the same pages a browser would use. A session a
/// browser has already opened is left to that browser.
public struct AutoConsent: Sendable {
    let registry: SandboxRegistry
    let serverURL: String
    let opened = OpenedSessions()

    public init(registry: SandboxRegistry, serverURL: String) {
        self.registry = registry
        self.serverURL = serverURL
    }

    /// Watches for new sessions until cancelled; `report` gets one line per session handled.
    public func run(every interval: Duration = .milliseconds(200), report: @Sendable (String) -> Void) async {
        while !Task.isCancelled {
            for sandbox in registry.all {
                let fresh = ((try? sandbox.store.connectSessions(limit: 20)) ?? []).filter {
                    $0.openedAt == nil && $0.status(at: sandbox.clock.now) == .pending
                }
                for session in fresh.reversed() { report(await approve(session, in: sandbox)) }
            }
            try? await Task.sleep(for: interval)
        }
    }

    private func approve(_ session: ConnectSession, in sandbox: Sandbox) async -> String {
        var plan = UserPlan()
        plan.everyProvider = true
        let user = SimulatedUser(plan: plan, sandbox: sandbox, serverURL: serverURL, opened: opened, wait: .seconds(5), token: session.token)
        let label = "auto-consent: Connect session \(session.token.prefix(11))…"
        do {
            let seen = try await user.run()
            let results = (try? sandbox.store.connectSession(token: session.token))??.results ?? []
            let accounts = results.map { "\($0.providerID) as \($0.accountIdentifier ?? "?") (grant \($0.grantID))" }
            return "\(label) \(seen["outcome"]?.stringValue ?? "?")" + (accounts.isEmpty ? "" : ": " + accounts.joined(separator: ", "))
        } catch {
            return "\(label) could not be approved: \(error)"
        }
    }
}
