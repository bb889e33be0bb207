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

    /// Carries out one step and times it.
    func perform(_ step: Step, driver: DriverProcess, sandbox: Sandbox, hostMap: HostMap) async -> ScenarioRun.Performed {
        let start = ContinuousClock.now
        var arguments: JSONValue?
        let outcome = await act(step, driver: driver, sandbox: sandbox, hostMap: hostMap, arguments: &arguments)
        return ScenarioRun.Performed(step: step, outcome: outcome, arguments: arguments, start: start, duration: ContinuousClock.now - start)
    }

    /// Carries out one step; `arguments` is set to what was sent to the driver, if anything.
    private func act(_ step: Step, driver: DriverProcess, sandbox: Sandbox, hostMap: HostMap, arguments: inout JSONValue?) async -> ScenarioRun.StepOutcome {
        func call(_ op: String, _ params: JSONValue, extra: Duration = .zero) async throws -> ScenarioRun.StepOutcome {
            arguments = params
            return .reply(try await driver.call(op, params: params, timeout: callTimeout + extra))
        }
        do {
            switch step.action {
            case .request(let params):
                var resolved = Placeholders.substitute(params, bindings).objectValue ?? [:]
                // Without the proxy, real URLs are rewritten to the gateway (and mapped back in results).
                if runner.options.proxy == nil, let url = resolved["url"]?.stringValue, HostMap.isWebURL(url) {
                    resolved["url"] = .string(try hostMap.fakeURL(for: url))
                }
                return try await call("request", .object(resolved))
            case .proxyRequest(let params):
                // The vault makes the call, at the real URL, with or without the proxy.
                return try await call("proxy_request", Placeholders.substitute(params, bindings))
            case .awaitApproval(let params):
                // The call lasts as long as the SDK polls.
                let seconds = min(max(params["timeout"]?.numberValue ?? 300, 0), 3600) + 2
                return try await call("await_approval", Placeholders.substitute(params, bindings), extra: .milliseconds(Int(seconds * 1000)))
            case .approvalStatus(let params):
                let seconds = min(max(params["wait"]?.numberValue ?? 0, 0), 60)
                return try await call("get_approval_status", Placeholders.substitute(params, bindings), extra: .milliseconds(Int(seconds * 1000)))
            case .listGrants(let params):
                return try await call("list_grants", Placeholders.substitute(params, bindings))
            case .revokeGrant(let params):
                return try await call("revoke_grant", Placeholders.substitute(params, bindings))
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
            case .apiKey(let state):
                sandbox.setBehaviour { $0.apiKey = state }
            case .connect(let params):
                return try await call("connect", Placeholders.substitute(params, bindings), extra: Self.pollingTime(params))
            case .createConnectSession(let params):
                return try await call("create_connect_session", Placeholders.substitute(params, bindings))
            case .createConnectSessionForError(let params):
                return try await call("create_connect_session_for_error", Placeholders.substitute(params, bindings))
            case .pollConnectSession(let params):
                return try await call("poll_connect_session", Placeholders.substitute(params, bindings), extra: Self.pollingTime(params))
            case .authenticate(let params):
                // The SDK polls every 2 s until its timeout (default 300 s).
                let seconds = min(max(params["timeout"]?.numberValue ?? 300, 0), 3600) + 2
                return try await call("authenticate", params, extra: .milliseconds(Int(seconds * 1000)))
            case .constructClient(let params):
                var resolved = Placeholders.substitute(params, bindings).objectValue ?? [:]
                if resolved["api_key"] == nil { resolved["api_key"] = .string(sandbox.apiKey) }
                if resolved["base_url"] == nil { resolved["base_url"] = .string(runner.serverURL) }
                return try await call("construct_client", .object(resolved))
            case .createAuthSessionRaw:
                return try await call("create_auth_session_raw", [:])
            case .pollAuthSessionRaw(let params):
                var resolved = Placeholders.substitute(params, bindings).objectValue ?? [:]
                if resolved["session_token"] == nil {
                    guard let newest = sandbox.identity.sessions.last else {
                        throw ScenarioStepError(message: "no sign-in to poll: create_auth_session_raw or authenticate opens one (or give session_token)")
                    }
                    resolved["session_token"] = .string(newest.sessionToken)
                }
                return try await call("poll_auth_session_raw", .object(resolved))
            case .verifyUserToken(let params):
                return try await call("verify_user_token", Placeholders.substitute(params, bindings))
            case .user(let plan) where plan.signIn != nil:
                return .reply(.result(try await SignInUser(plan: plan, sandbox: sandbox, serverURL: runner.serverURL, opened: opened, wait: callTimeout).run()))
            case .close(let params):
                return try await call("close", params)
            case .user(let plan) where plan.approval:
                return .reply(.result(try await ApprovalUser(plan: plan, sandbox: sandbox, serverURL: runner.serverURL, wait: callTimeout).run()))
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

    /// How long a polling call (`connect`, `poll_connect_session`) may last: the SDK's own
    /// timeout plus one interval (its defaults 300 s and 2 s), at most a day.
    static func pollingTime(_ params: JSONValue) -> Duration {
        let polling = (params["timeout"]?.numberValue ?? 300) + (params["poll_interval"]?.numberValue ?? 2)
        let seconds = polling.isFinite ? min(max(polling, 0), 86_400) : 302
        return .milliseconds(Int(seconds * 1000))
    }

    private func grantID(_ name: String) -> String {
        bindings["grants.\(name)"] ?? bindings["secrets.\(name)"] ?? name
    }
}
