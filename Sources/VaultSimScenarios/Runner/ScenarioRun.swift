import Foundation
import VaultSimCore
import VaultSimServer

/// The work of running one scenario; collects findings rather than stopping at the first one
/// (except when the driver itself fails, which ends the steps).
struct ScenarioRun {
    let scenario: Scenario
    let runner: ScenarioRunner
    var findings: [Finding] = []
    var steps: [StepRecord] = []
    var skipReason: String?
    var sdkInfo: JSONValue?
    var driverLog = ""
    /// Set when the driver could not start a client at all (it died, hung or refused `init`):
    /// an infrastructure failure, the same for every scenario, that stops the run.
    var driverStartFailure: String?
    /// Placeholder values (`grants.alice`, `sdk.version`, `approval.latest`), as the run learns them.
    var bindings: [String: String] = [:]
    /// Connect sessions the simulated user has opened.
    private let opened = OpenedSessions()
    /// `request` steps that returned a provider's answer.
    private var answeredRequests = 0

    /// When the scenario began, for the steps' offsets.
    private let beganAt = ContinuousClock.now
    /// The driver ops carried out, with their outcomes, for a transcript (`--record`).
    var ops: [HAR.Op] = []
    /// Where the scenario's transcript was written (`--record`).
    var transcriptPath: String?
    /// The transcript's exchanges, for the reports.
    var exchangeLines: [ExchangeLine] = []
    /// The vault address the SDK was given (an unreachable one when the scenario says so).
    var vaultURL = ""
    /// The key the SDK was given when the scenario wants a wrong one (no sandbox's: not a secret).
    var wrongAPIKey: String?

    init(scenario: Scenario, runner: ScenarioRunner) {
        self.scenario = scenario
        self.runner = runner
    }

    /// The verdict the findings give.
    var verdict: ScenarioResult.Verdict {
        if skipReason != nil { return .skipped }
        if driverStartFailure != nil || findings.contains(where: { $0.kind == .setup }) { return .errored }
        return findings.isEmpty ? .passed : .failed
    }

    mutating func add(_ kind: Finding.Kind, _ message: String, step: String? = nil, location: SourceLocation? = nil) {
        findings.append(Finding(kind: kind, step: step, location: location, message: message))
    }

    /// What the driver wrote on stdout during this scenario (its replies), for the leak check.
    private var driverOutput = ""

    /// Runs the scenario. With a pool, a driver that says it is `reusable` serves it if one is
    /// idle, and goes back to the pool when the scenario ends cleanly; one that failed is shut down.
    mutating func execute(pool: DriverPool? = nil) async {
        let registry = runner.server.registry
        let sandbox: Sandbox
        do {
            sandbox = try runner.server.createSandbox(name: scenario.id)
        } catch {
            add(.setup, "given (\(scenario.location)): cannot create a sandbox: \(error)", location: scenario.location)
            return
        }
        defer { registry.remove(id: sandbox.id) }
        do {
            try await prepare(sandbox)
        } catch {
            add(.setup, "given (\(scenario.location)): cannot set up the sandbox: \(error)", location: scenario.location)
            return
        }
        let hostMap = HostMap(serverURL: runner.serverURL, sandboxID: sandbox.id, mapsBack: runner.options.proxy == nil)
        var command = runner.driver
        // Proxy mode: the SDK reaches the real URLs through VaultSim's intercepting proxy, which
        // the sandbox's proxy credentials name (given at launch, and again in `init` for a reused driver).
        let proxyEnvironment = runner.options.proxy?.environment(sandboxID: sandbox.id)
        if let proxyEnvironment { command.environment.merge(proxyEnvironment) { _, new in new } }
        let driver: DriverProcess
        if let idle = await pool?.take() { driver = idle } else { driver = await DriverProcess.launch(command) }
        let checkpoint = await driver.checkpoint

        let clientStarted = await start(driver, sandbox: sandbox, environment: pool == nil ? nil : proxyEnvironment)
        if clientStarted {
            for step in scenario.steps {
                guard await perform(step, driver: driver, sandbox: sandbox, hostMap: hostMap) else { break }
            }
            if await driver.driverFailure == nil {
                do {
                    _ = try await driver.call("close", params: [:], timeout: callTimeout)
                } catch {
                    add(.driver, "closing the SDK client: \(error)")
                }
            }
        }
        if let pool, clientStarted, let log = await endForReuse(driver, since: checkpoint.stderr) {
            driverLog = log
            driverOutput = await driver.stdout(since: checkpoint.stdout)
            await pool.give(driver)
            if skipReason == nil { await checkLeaks(sandbox: sandbox) }
            judgeConditions(sandbox: sandbox, hostMap: hostMap)
            writeTranscript(sandbox: sandbox, hostMap: hostMap)
            return
        }
        await driver.shutdown()
        driverLog = await driver.stderr(since: checkpoint.stderr)
        driverOutput = await driver.stdout(since: checkpoint.stdout)
        // The protocol asks a driver to exit 0 once stdin closes; anything else is a driver fault
        // (unless it was already reported, e.g. a crash mid-step).
        if skipReason == nil, await !driver.exitedCleanly, let failure = await driver.driverFailure,
           !findings.contains(where: { $0.message.contains(failure.message) }) {
            add(.driver, "driver: \(failure.message)")
        }
        if await driver.stderrOverflowed {
            add(.driver, "driver: it wrote more than \(DriverProcess.stderrByteLimit >> 20) MiB on stderr; the rest was dropped, so the leak check could not see it")
        }
        // A scenario whose client never started has nothing to judge but its leaks: its faults
        // and `then` checks would only repeat that it never ran.
        if clientStarted { judgeConditions(sandbox: sandbox, hostMap: hostMap) }
        if skipReason == nil { await checkLeaks(sandbox: sandbox) }
        writeTranscript(sandbox: sandbox, hostMap: hostMap)
    }

    /// The faults that never fired, the proxy check and the `then` checks.
    private mutating func judgeConditions(sandbox: Sandbox, hostMap: HostMap) {
        guard skipReason == nil else { return }
        for (fault, fired) in sandbox.faults.unfired + sandbox.vaultFaults.unfired {
            let declared = fault.times.map { "\($0) time\($0 == 1 ? "" : "s")" } ?? "at least once"
            add(.fault, "fault (\(fault.origin ?? "control API")): \(fault.summary) was to fire \(declared) but fired \(fired) time\(fired == 1 ? "" : "s"); the call it was meant to break never happened")
        }
        checkProxyWasUsed(sandbox)
        checkVaultCallsFollowC4(sandbox)
        checkThen(sandbox: sandbox, hostMap: hostMap)
    }

    /// Ends the scenario on a reusable driver that is still healthy: it forgets the scenario's
    /// client and writes a mark on stderr. Returns the scenario's stderr (up to the mark), or nil
    /// when the driver cannot be reused (it is then shut down as usual).
    private func endForReuse(_ driver: DriverProcess, since stderrStart: Int) async -> String? {
        guard sdkInfo?["reusable"]?.boolValue == true, await driver.driverFailure == nil, await !driver.stderrOverflowed else { return nil }
        let mark = "vaultsim-end-of-scenario-\(SecretGenerator.token(16))"
        guard case .result? = try? await driver.call("end_scenario", params: ["mark": .string(mark)], timeout: callTimeout) else { return nil }
        // Everything since this scenario's start: the checkpoint taken before `init`.
        return await driver.stderr(since: stderrStart, until: mark, timeout: .seconds(5))
    }

    private var callTimeout: Duration {
        // Inputs are range-checked where they enter; the clamp keeps a library caller's odd value from trapping.
        let seconds = scenario.given.client.timeout ?? runner.options.sdkTimeout
        return .milliseconds(Int((seconds.isFinite ? min(max(seconds, 0.001), 3600) : 10) * 1000)) + runner.options.callGrace
    }

    // MARK: given

    private mutating func prepare(_ sandbox: Sandbox) async throws {
        bindings["sandbox.id"] = sandbox.id
        if let clock = scenario.given.clock {
            sandbox.clock.set(to: clock.start)
            sandbox.clock.freeze(clock.frozen)
        }
        let server = runner.server
        for account in scenario.given.accounts {
            try server.addAccount(provider: account.provider, login: account.login, displayName: account.displayName, in: sandbox)
        }
        for (name, seed) in scenario.given.grants { bindings["grants.\(name)"] = try await server.seed(grant: seed, in: sandbox).id }
        for (name, seed) in scenario.given.secrets { bindings["secrets.\(name)"] = try server.seed(secret: seed, in: sandbox).id }
        for (provider, data) in scenario.given.providerData { sandbox.overrideData(provider: provider, with: data) }
        for fault in scenario.given.faults { sandbox.faults.add(fault) }
        for (provider, scopes) in scenario.given.requiredScopes {
            guard var config = try sandbox.store.providerConfig(id: provider) else { continue }
            config.requiredScopes = scopes
            try sandbox.store.save(providerConfig: config)
        }
        for (provider, scopes) in scenario.given.allowedScopes {
            guard var config = try sandbox.store.providerConfig(id: provider) else { continue }
            config.allowedScopes = scopes
            try sandbox.store.save(providerConfig: config)
        }
        // After the provider registered the real secret: the vault's copy is now wrong.
        for (provider, secret) in scenario.given.staleClientSecrets {
            guard var config = try sandbox.store.providerConfig(id: provider) else { continue }
            config.clientSecret = secret
            try sandbox.store.save(providerConfig: config)
        }
        var behaviour = scenario.given.behaviour
        if let address = scenario.given.client.address { behaviour.callerAddress = address }
        behaviour.basePath = scenario.given.client.basePath
        sandbox.setBehaviour { [behaviour] in $0 = behaviour }
        for policy in scenario.given.policies { try sandbox.store.add(policy: policy) }
        for fault in scenario.given.vaultFaults { sandbox.vaultFaults.add(fault) }
        for provider in scenario.given.unconfiguredProviders {
            try sandbox.store.save(providerConfig: ProviderConfig(providerID: provider, clientID: nil, clientSecret: nil, isConfigured: false))
        }
        if let identity = scenario.given.identity {
            sandbox.identity.configure(users: identity.users, tokenLifetime: identity.tokenLifetime)
            for user in identity.users {
                bindings["identity.\(user.name).token"] = server.userToken(for: user, in: sandbox)
                bindings["identity.\(user.name).sub"] = user.sub
            }
        }
    }

    /// Sends `init` (with the scenario's `environment` for a reused driver); false when the scenario cannot go on.
    private mutating func start(_ driver: DriverProcess, sandbox: Sandbox, environment: [String: String]?) async -> Bool {
        let client = scenario.given.client
        vaultURL = client.vault == .reachable ? runner.serverURL : UnreachableAddress.make()
        if client.apiKey != .valid { wrongAPIKey = SecretGenerator.apiKey() }
        var params: [String: JSONValue] = [
            "protocol": 1,
            "base_url": .string(vaultURL + (client.basePath ?? "")),
            "api_key": .string(wrongAPIKey ?? sandbox.apiKey),
            "timeout": .number(client.timeout ?? runner.options.sdkTimeout),
        ]
        if let caller = client.caller { params["caller"] = .string(caller) }
        if let callerType = client.callerType { params["caller_type"] = .string(callerType) }
        if client.contextManager { params["context_manager"] = true }
        if let token = client.userToken { params["user_token"] = .string(Placeholders.substitute(.string(token), bindings).stringValue ?? token) }
        if let environment { params["env"] = .object(environment.mapValues(JSONValue.string)) }
        do {
            switch try await driver.call("init", params: .object(params), timeout: runner.options.startTimeout) {
            case .result(let info):
                sdkInfo = info
                bindings["sdk.name"] = info["sdk"]?.stringValue
                bindings["sdk.version"] = info["version"]?.stringValue
                if let range = scenario.sdkRange {
                    let version = info["version"]?.stringValue ?? "unknown"
                    if range.contains(version) != true {
                        skipReason = "it applies to SDK versions \(range) and the driver runs \(info["sdk"]?.stringValue ?? "an SDK") \(version)"
                        return false
                    }
                }
                let capabilities = Set((info["capabilities"]?.arrayValue ?? []).compactMap(\.stringValue))
                let missing = scenario.requiredCapabilities.subtracting(capabilities)
                if !missing.isEmpty {
                    skipReason = "the driver lacks \(missing.sorted().joined(separator: ", ")) (it offers: \(capabilities.sorted().joined(separator: ", ")))"
                    return false
                }
                return true
            case .sdkError(let error):
                add(.driver, "init: creating the SDK client raised \(error.summary)")
            case .protocolError(let text):
                add(.driver, "init: the driver refused it: \(text)")
                driverStartFailure = "the driver refused init: \(text)"
            }
        } catch {
            add(.driver, "init: \(error)")
            driverStartFailure = "\(error)"
        }
        return false
    }

    // MARK: steps

    /// `${connected.PROVIDER}`: the newest grant Connect flows made at each provider.
    private mutating func bindConnections(_ sandbox: Sandbox) {
        guard let sessions = try? sandbox.store.connectSessions(limit: 1000) else { return }
        for session in sessions.reversed() {
            for result in session.results { bindings["connected.\(result.providerID)"] = result.grantID }
        }
    }

    /// What carrying out one step gave: a driver reply to judge, nothing (a condition), or a
    /// failure (`fatal` when the driver failed and no later step can run).
    enum StepOutcome: Sendable {
        case reply(DriverReply)
        case done
        case failed(String, fatal: Bool)
    }

    /// A step carried out: its outcome, what was sent to the driver, and when and how long.
    struct Performed: Sendable {
        var step: Step
        var outcome: StepOutcome
        var arguments: JSONValue?
        var start: ContinuousClock.Instant
        var duration: Duration
    }

    /// Performs one step; false when the driver failed and no later step can run.
    private mutating func perform(_ step: Step, driver: DriverProcess, sandbox: Sandbox, hostMap: HostMap) async -> Bool {
        // Every exchange of the step is journaled with its id (a `concurrently` step's for all of its steps).
        // The id stays until the next step starts: a request the SDK makes after the op returned
        // (a background audit flush) belongs to the step that caused it.
        sandbox.setCurrentStep(step.id)
        guard case .concurrently(let inner) = step.action else {
            let performed = await StepContext(bindings: bindings, runner: runner, callTimeout: callTimeout, opened: opened)
                .perform(step, driver: driver, sandbox: sandbox, hostMap: hostMap)
            bindConnections(sandbox)
            return record(performed, hostMap: hostMap, group: step.id, branch: 0)
        }
        // Started together (an `in_order` branch runs its steps one after another); judged in the
        // order written once all have ended.
        let context = StepContext(bindings: bindings, runner: runner, callTimeout: callTimeout, opened: opened)
        let outcomes = await withTaskGroup(of: (Int, [Performed]).self) { group in
            for (index, innerStep) in inner.enumerated() {
                group.addTask {
                    guard case .inOrder(let branch) = innerStep.action else {
                        return (index, [await context.perform(innerStep, driver: driver, sandbox: sandbox, hostMap: hostMap)])
                    }
                    var done: [Performed] = []
                    for step in branch {
                        let performed = await context.perform(step, driver: driver, sandbox: sandbox, hostMap: hostMap)
                        done.append(performed)
                        if case .failed(_, fatal: true) = performed.outcome { break }
                    }
                    return (index, done)
                }
            }
            var outcomes = [[Performed]](repeating: [], count: inner.count)
            for await (index, outcome) in group { outcomes[index] = outcome }
            return outcomes
        }
        bindConnections(sandbox)
        var goOn = true
        for (branch, performedInBranch) in outcomes.enumerated() {
            for performed in performedInBranch {
                goOn = record(performed, hostMap: hostMap, group: step.id, branch: branch) && goOn
            }
        }
        return goOn
    }

    /// Judges an outcome and keeps its record; false when no later step can run.
    private mutating func record(_ performed: Performed, hostMap: HostMap, group: String, branch: Int) -> Bool {
        let step = performed.step
        let label = "step '\(step.id)' (\(step.location))"
        let before = findings.count
        var answer: JSONValue?
        var goOn = true
        switch performed.outcome {
        case .done:
            break
        case .failed(let message, let fatal):
            findings.append(Finding(kind: fatal ? .driver : .step, step: step.id, location: step.location, message: "\(label): \(message)"))
            answer = ["failed": .string(message)]
            goOn = !fatal
        case .reply(let reply):
            if case .request = step.action, case .result = reply { answeredRequests += 1 }
            if case .proxyRequest = step.action, case .result(let result) = reply, let id = result["approval_id"]?.stringValue {
                bindings["approval.latest"] = id
            }
            if case .result(let result) = reply, let token = result["session_token"]?.stringValue { bindings["connect.latest"] = token }
            answer = hostMap.realURLs(in: reply.json)
            if let arguments = performed.arguments {
                ops.append(HAR.Op(step: step.id, group: group, branch: branch, op: step.action.name,
                                  arguments: hostMap.realURLs(in: arguments), outcome: hostMap.realURLs(in: reply.json)))
            }
            findings += mismatches(reply, against: step.expect.resolved(sdkVersion: bindings["sdk.version"]), hostMap: hostMap).map { mismatch in
                Finding(kind: .expectation, step: step.id, location: step.location, path: mismatch.path.isEmpty ? nil : mismatch.path,
                        expected: mismatch.expected, actual: mismatch.actual, message: "\(label): \(mismatch)")
            }
        }
        steps.append(StepRecord(id: step.id, op: step.action.name, location: step.location,
                                arguments: performed.arguments.map { hostMap.realURLs(in: $0) }, answer: answer,
                                startedAfter: (performed.start - beganAt).seconds, seconds: performed.duration.seconds,
                                passed: findings.count == before))
        return goOn
    }

    /// In proxy mode, an SDK call a provider answered must have reached the fake through the
    /// proxy. A driver whose HTTP stack ignores `HTTPS_PROXY` would have sent it to the real host
    /// (with a fake token): say so, and point at `--no-proxy`.
    private mutating func checkProxyWasUsed(_ sandbox: Sandbox) {
        guard runner.options.proxy != nil, answeredRequests > 0 else { return }
        let reached = (try? sandbox.store.providerRequests(providerID: nil, caller: "sdk").count) ?? 0
        if reached == 0 {
            add(.proxy, "proxy: \(answeredRequests) request(s) got an answer, but none reached VaultSim's fake providers: the driver's SDK "
                + "does not use HTTPS_PROXY, so it called the real hosts; run it with --no-proxy")
        }
    }

    // MARK: then

    private mutating func checkThen(sandbox: Sandbox, hostMap: HostMap) {
        for check in ThenCheck.effective(scenario.then, sdkVersion: bindings["sdk.version"]) {
            let actual: JSONValue
            do {
                switch check.subject {
                case .providerJournal(let provider, let caller):
                    actual = .array(try sandbox.store.providerRequests(providerID: provider, caller: caller).map(\.json))
                case .audit:
                    actual = hostMap.realURLs(in: .array(try sandbox.store.auditRecords().map(\.json)))
                case .tokenRequests:
                    actual = hostMap.realURLs(in: .array(try sandbox.store.tokenRequests().map(\.json)))
                case .grants:
                    actual = .array(try sandbox.store.allGrants().map(\.json))
                }
            } catch {
                findings.append(Finding(kind: .then, step: "then.\(check.name)", location: check.location,
                                        message: "then.\(check.name) (\(check.location)): cannot read the records: \(error)"))
                continue
            }
            for mismatch in check.pattern.mismatches(actual, at: check.name, bindings: bindings) {
                findings.append(Finding(kind: .then, step: "then.\(check.name)", location: check.location, path: mismatch.path,
                                        expected: mismatch.expected, actual: mismatch.actual, message: "then (\(check.location)): \(mismatch)"))
            }
        }
    }

    /// Every secret the sandbox issued, searched in what the app saw and what the vault stored.
    private mutating func checkLeaks(sandbox: Sandbox) async {
        do {
            let scanner = LeakScanner(secrets: try runner.server.allSecrets(sandbox).map { LeakScanner.Secret(label: $0.label, value: $0.value) })
            let audit = try sandbox.store.auditRecords().map(\.payloadJSON).joined(separator: "\n")
            let sources = [("the driver's results (stdout)", driverOutput), ("the driver's stderr (SDK logs)", driverLog),
                           ("the vault's audit records", audit)]
            for finding in scanner.scan(sources) {
                add(.leak, "token leak: \(finding)")
            }
        } catch {
            add(.leak, "token leak check: cannot read the sandbox's secrets: \(error)")
        }
    }
}

/// A step that could not be carried out as written.
struct ScenarioStepError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
}
