import Foundation
import VaultSimCore
import VaultSimServer

/// Runs scenarios: for each one a fresh sandbox and a fresh SDK client (a driver process of its
/// own, or an idle one of the pool when the driver is `reusable`), the steps in order, the `then`
/// checks and the zero-token-leak check, and a verdict. A driver that crashes, hangs or babbles
/// fails its scenario (with the reason), is not reused, and the run goes on.
public struct ScenarioRunner: Sendable {
    public struct Options: Sendable {
        /// The SDK's own HTTP timeout (seconds) unless a scenario sets one.
        public var sdkTimeout: Double = 10
        /// How long the driver may take to start and answer `init`.
        public var startTimeout: Duration = .seconds(60)
        /// Extra time a call may take beyond the SDK's timeout before the driver counts as hung.
        public var callGrace: Duration = .seconds(15)
        /// Scenarios run at once.
        public var jobs: Int = 1
        /// Let a driver that says it is `reusable` serve one scenario after another (one process
        /// per job); false: a fresh process for every scenario.
        public var reuseDrivers = true
        /// The intercepting proxy drivers use to reach the real provider URLs; nil: URLs are
        /// rewritten to the gateway instead (`--no-proxy`, for SDKs that cannot use a proxy).
        public var proxy: ProxyEnvironment?
        /// `--record DIR`: each scenario's exchanges and driver ops as `DIR/<scenario id>.har`.
        public var recordDirectory: String?
        /// Start no more scenarios once this many have failed or errored (the running ones
        /// finish); nil: run them all. `vaultsim mutate` stops at a mutant's first kill.
        public var stopAfterFailures: Int?

        public init() {}
    }

    public let server: VaultSimServer
    public let serverURL: String
    public let driver: DriverCommand
    public let options: Options

    public init(server: VaultSimServer, serverURL: String, driver: DriverCommand, options: Options = Options()) {
        self.server = server
        self.serverURL = serverURL
        self.driver = driver
        self.options = options
    }

    /// Runs all scenarios (up to `options.jobs` at once); results come in the given order.
    public func run(_ scenarios: [Scenario], onResult: @escaping @Sendable (ScenarioResult) -> Void = { _ in }) async -> RunSummary {
        let start = ContinuousClock.now
        var results = [ScenarioResult?](repeating: nil, count: scenarios.count)
        let pool = options.reuseDrivers ? DriverPool() : nil
        await withTaskGroup(of: (Int, ScenarioResult).self) { group in
            var next = 0
            func addNext() {
                guard next < scenarios.count else { return }
                let index = next
                next += 1
                group.addTask { (index, await self.run(scenarios[index], pool: pool)) }
            }
            for _ in 0..<min(max(1, options.jobs), max(1, scenarios.count)) { addNext() }
            var stopped = false
            var failures = 0
            while let (index, result) = await group.next() {
                results[index] = result
                // A driver that cannot start fails every scenario alike: report it once, start no more.
                if result.driverStartFailure != nil { stopped = true }
                if !stopped || result.driverStartFailure == nil { onResult(result) }
                if result.verdict == .failed || result.verdict == .errored { failures += 1 }
                if let limit = options.stopAfterFailures, failures >= limit { stopped = true }
                if !stopped { addNext() }
            }
        }
        await pool?.shutdownAll()
        return RunSummary(results: results.compactMap { $0 }, duration: ContinuousClock.now - start)
    }

    /// Runs one scenario in its own sandbox, with its own driver or an idle one of `pool`.
    public func run(_ scenario: Scenario) async -> ScenarioResult { await run(scenario, pool: nil) }

    func run(_ scenario: Scenario, pool: DriverPool?) async -> ScenarioResult {
        let start = ContinuousClock.now
        var run = ScenarioRun(scenario: scenario, runner: self)
        await run.execute(pool: pool)
        return ScenarioResult(
            scenarioID: scenario.id, title: scenario.title, location: scenario.location, tags: scenario.tags, covers: scenario.covers,
            verdict: run.verdict, findings: run.findings, skipReason: run.skipReason, steps: run.steps,
            duration: ContinuousClock.now - start, sdk: run.sdkInfo, driverLog: run.driverLog, driverStartFailure: run.driverStartFailure,
            transcript: run.transcriptPath, exchanges: run.exchangeLines)
    }
}

/// Idle drivers that said they are `reusable`, one per job at most: a scenario takes one if
/// there is one (a fresh SDK client, its own environment, through `init`), and gives it back
/// once it ended cleanly. Starting Python and importing the SDK once per job rather than once
/// per scenario is most of a scenario's overhead.
actor DriverPool {
    private var idle: [DriverProcess] = []

    func take() -> DriverProcess? { idle.popLast() }

    func give(_ driver: DriverProcess) { idle.append(driver) }

    /// Closes every idle driver's stdin (they exit) at the end of the run.
    func shutdownAll() async {
        let drivers = idle
        idle = []
        for driver in drivers { await driver.shutdown() }
    }
}
