import Foundation
import VaultSimCore
import VaultSimServer

/// What a step needs to be carried out, apart from the run's mutable state (so steps can run
/// concurrently).
struct StepContext: Sendable {
    let bindings: [String: String]
    let runner: ScenarioRunner
    let callTimeout: Duration
    let opened: OpenedSessions

    func act(_ step: Step, driver: DriverProcess, sandbox: Sandbox, hostMap: HostMap) async -> ScenarioRun.StepOutcome {
        do {
            switch step.action {
            case .request(let params):
                var resolved = Placeholders.substitute(params, bindings).objectValue ?? [:]
                // Without the proxy, real URLs are rewritten to the gateway (and mapped back in results).
                if runner.options.proxy == nil, let url = resolved["url"]?.stringValue { resolved["url"] = .string(try hostMap.fakeURL(for: url)) }
                return .reply(try await driver.call("request", params: .object(resolved), timeout: callTimeout))
            case .listGrants(let params):
                return .reply(try await driver.call("list_grants", params: Placeholders.substitute(params, bindings), timeout: callTimeout))
            case .revokeGrant(let params):
                return .reply(try await driver.call("revoke_grant", params: Placeholders.substitute(params, bindings), timeout: callTimeout))
            case .providerFault(let fault):
                sandbox.faults.add(fault)
            case .revokeAtVault(let grant, let reason):
                _ = try sandbox.store.revoke(grantID: grantID(grant), reason: reason, at: sandbox.clock.now)
            case .deleteGrant(let grant):
                try sandbox.store.setStatus(.deleted, grantID: grantID(grant), reason: "deleted by the developer", at: sandbox.clock.now)
            case .advanceClock(let seconds):
                guard sandbox.clock.advance(by: seconds) else {
                    throw ScenarioStepError(message: "the clock cannot go more than 100 years past today")
                }
            case .setClock(let date):
                guard sandbox.clock.set(to: date) else { throw ScenarioStepError(message: "\(date.rfc3339) is too far from today") }
            case .freezeClock(let frozen):
                sandbox.clock.freeze(frozen)
            case .requireScopes(let provider, let scopes):
                guard var config = try sandbox.store.providerConfig(id: provider) else {
                    throw ScenarioStepError(message: "the app has no configuration for \(provider)")
                }
                config.requiredScopes = scopes
                try sandbox.store.save(providerConfig: config)
            case .revokeAtProvider(let provider, let account):
                let login: String
                switch account {
                case .login(let name): login = name
                case .ofGrant(let name):
                    guard let identifier = try sandbox.store.grant(id: grantID(name))?.accountIdentifier else {
                        throw ScenarioStepError(message: "grant '\(name)' has no account identifier")
                    }
                    login = identifier
                }
                try runner.server.revokeAtProvider(provider: provider, login: login, in: sandbox)
            case .providerData(let provider, let data):
                sandbox.overrideData(provider: provider, with: data)
            case .vaultFault(let fault):
                sandbox.vaultFaults.add(fault)
            case .clearFaults(let target):
                if target == nil || target == "vault" { sandbox.vaultFaults.clear() }
                if target != "vault" { sandbox.faults.clear(providerID: target) }
            case .setCallerAddress(let address):
                sandbox.setBehaviour { $0.callerAddress = address }
            case .connect(let params):
                // The call lasts as long as the SDK polls: its own timeout plus one interval.
                func number(_ key: String, _ fallback: Double) -> Double {
                    if case .number(let n)? = params[key] { return n }
                    return fallback
                }
                let seconds = number("timeout", 300) + number("poll_interval", 2)
                return .reply(try await driver.call("connect", params: Placeholders.substitute(params, bindings),
                                                    timeout: callTimeout + .milliseconds(Int(seconds * 1000))))
            case .createConnectSession(let params):
                return .reply(try await driver.call("create_connect_session", params: Placeholders.substitute(params, bindings),
                                                    timeout: callTimeout))
            case .user(let plan):
                let user = SimulatedUser(plan: plan, sandbox: sandbox, serverURL: runner.serverURL, opened: opened, wait: callTimeout)
                return .reply(.result(try await user.run()))
            case .concurrently, .inOrder:
                throw ScenarioStepError(message: "\(step.action.name) steps cannot be nested")
            }
            return .done
        } catch let failure as DriverFailure {
            return .failed(failure.message, fatal: true)
        } catch {
            return .failed("\(error)", fatal: false)
        }
    }

    private func grantID(_ name: String) -> String {
        bindings["grants.\(name)"] ?? bindings["secrets.\(name)"] ?? name
    }
}
