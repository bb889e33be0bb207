import Foundation
import Subprocess
import Synchronization
import VaultSimCore
#if canImport(System)
import System
#else
import SystemPackage
#endif

/// One running driver, spoken to in JSON lines (docs/driver-protocol.md). Every call has a
/// timeout; a driver that exits, hangs or writes a non-protocol line fails the pending calls
/// with a clear reason and is killed, and the caller goes on.
public actor DriverProcess {
    public let command: DriverCommand
    private var pending: [Int: CheckedContinuation<DriverReply, any Error>] = [:]
    private var nextID = 1
    private var failure: DriverFailure?
    private var stdoutLines: [String] = []
    private var stderrLines: [String] = []
    private var stderrPending: [UInt8] = []
    private var stderrBytes = 0
    /// True when the driver wrote more on stderr than is kept (`stderrByteLimit`).
    public private(set) var stderrOverflowed = false
    private var exitStatus: String?
    /// True once the process has exited with status 0.
    public private(set) var exitedCleanly = false
    private let outgoing: AsyncStream<String>.Continuation
    private let kills: AsyncStream<Void>.Continuation
    /// The task that owns the process (kept so it is not lost; its end is seen through `exitStatus`).
    private var runner: Task<Void, Never>?
    /// The driver's process id and start time (to tell it from a later process given the same id).
    private var driverProcess: DriverProcessTree.Entry?
    /// Every process seen below the driver while it ran. A child that called setsid() left the
    /// driver's session and process group, and once the driver exits it is the child of init:
    /// only this record still ties it to the driver.
    private var descendants: [Int32: UInt64] = [:]
    /// The processes the driver left behind, killed when it ended.
    public private(set) var killedLeftovers: [Int32] = []
    private var leftovers: [DriverProcessTree.Entry] = []
    private var lastDescendantScan: ContinuousClock.Instant?
    private var sweptAfterExit = false

    /// How much of stderr is kept in memory. Past it the rest is dropped and the scenario fails,
    /// since the leak check could not see it (a babbling driver must not exhaust memory).
    static let stderrByteLimit = 16 << 20

    private init(command: DriverCommand, outgoing: AsyncStream<String>.Continuation, kills: AsyncStream<Void>.Continuation) {
        self.command = command
        self.outgoing = outgoing
        self.kills = kills
    }

    /// Starts the driver process.
    public static func launch(_ command: DriverCommand) async -> DriverProcess {
        let (lines, outgoing) = AsyncStream<String>.makeStream()
        let (killStream, kills) = AsyncStream<Void>.makeStream()
        let driver = DriverProcess(command: command, outgoing: outgoing, kills: kills)
        let task = Task { await driver.runProcess(lines: lines, killStream: killStream) }
        await driver.setRunner(task)
        return driver
    }

    private func setRunner(_ task: Task<Void, Never>) { runner = task }

    private func started(pid: Int32) {
        driverProcess = DriverProcessTree.stat(of: pid).map { DriverProcessTree.Entry(pid: pid, startTime: $0.startTime) }
            ?? DriverProcessTree.Entry(pid: pid, startTime: 0)
    }

    private func runProcess(lines: AsyncStream<String>, killStream: AsyncStream<Void>) async {
        let executable: Executable = command.executable.contains("/")
            ? .path(FilePath(command.executable)) : .name(command.executable)
        var environment: [Environment.Key: String?] = [:]
        for (key, value) in command.environment { environment[Environment.Key(rawValue: key)!] = value }
        // Its own session (and so its own process group), so that a kill also reaches anything the
        // driver started (a child holding stdout open would otherwise keep the pipes from closing).
        // What leaves the session is found by `descendants` and killed when the driver ends.
        var options = PlatformOptions()
        options.createSession = true
        do {
            let result = try await run(
                executable, arguments: Arguments(command.arguments), environment: .inherit.updating(environment),
                platformOptions: options, input: .inputWriter, output: .sequence, error: .sequence
            ) { execution in
                let pid = execution.processIdentifier.value
                await withTaskGroup(of: String.self) { group in
                    group.addTask {
                        for await line in lines {
                            do { _ = try await execution.standardInputWriter.write(line + "\n") } catch { break }
                        }
                        try? await execution.standardInputWriter.finish()
                        return "stdin"
                    }
                    group.addTask {
                        // Known before any reply is read, so that replies can note the driver's children.
                        await self.started(pid: pid)
                        do {
                            for try await line in execution.standardOutput.strings(bufferingPolicy: .maxLineLength(64 << 20)) {
                                await self.received(line)
                            }
                        } catch {
                            await self.fail("the driver's output could not be read: \(error)")
                        }
                        await self.stdoutClosed()
                        return "stdout"
                    }
                    group.addTask {
                        do {
                            for try await buffer in execution.standardError {
                                await self.receivedStderr(buffer.withUnsafeBytes { Array($0) })
                            }
                        } catch {}
                        await self.receivedStderr(nil)
                        return "stderr"
                    }
                    group.addTask {
                        for await _ in killStream {
                            try? execution.send(signal: .kill, toProcessGroup: true)
                            try? execution.send(signal: .kill)
                        }
                        return "killer"
                    }
                    var open: Set = ["stdin", "stdout", "stderr"]
                    while let done = await group.next() {
                        open.remove(done)
                        if open.isEmpty { break }
                    }
                    group.cancelAll()
                }
            }
            exitedCleanly = result.terminationStatus.isSuccess
            finished(status: "\(result.terminationStatus)")
        } catch {
            fail("could not start the driver '\(command)': \(error)")
            finished(status: "not started")
        }
    }

    // MARK: Calls

    /// Sends one command and waits for its reply, at most `timeout`.
    public func call(_ op: String, params: JSONValue, timeout: Duration) async throws -> DriverReply {
        if let failure { throw failure }
        let id = nextID
        nextID += 1
        let line: JSONValue = ["id": .number(Double(id)), "op": .string(op), "params": params]
        let timer = Task {
            try await Task.sleep(for: timeout)
            self.timedOut(id: id, op: op, timeout: timeout)
        }
        defer { timer.cancel() }
        return try await withCheckedThrowingContinuation { continuation in
            pending[id] = continuation
            outgoing.yield(line.jsonText)
        }
    }

    private func timedOut(id: Int, op: String, timeout: Duration) {
        guard pending[id] != nil else { return }
        fail("the driver did not answer '\(op)' within \(timeout) (hung?); it was killed")
    }

    private func received(_ line: String) {
        stdoutLines.append(line)
        if line.trimmingCharacters(in: .whitespaces).isEmpty { return }
        guard let message = JSONValue.parse(line), case .object = message else {
            fail("the driver wrote a line that is not protocol JSON on stdout: \(Self.clip(line))")
            return
        }
        guard let id = message["id"]?.intValue, let continuation = pending.removeValue(forKey: id) else {
            if let text = message["protocol_error"]?.stringValue, message["id"] == .null {
                fail("the driver reported a protocol error without an id: \(text)")
            } else {
                fail("the driver answered an id it was not asked (\(message["id"]?.jsonText ?? "none")): \(Self.clip(line))")
            }
            return
        }
        // What the driver started for this command is its child now; later it may not be.
        recordDescendants(throttled: true)
        if message["ok"]?.boolValue == true {
            continuation.resume(returning: .result(message["result"] ?? .null))
        } else if let text = message["protocol_error"]?.stringValue {
            continuation.resume(returning: .protocolError(text))
        } else if let error = message["error"].flatMap(SDKError.init) {
            continuation.resume(returning: .sdkError(error))
        } else {
            continuation.resume(throwing: DriverFailure(message: "the driver's reply has neither a result nor an error: \(Self.clip(line))"))
        }
    }

    /// Takes stderr bytes as they come (nil at the end) and keeps them as lines.
    private func receivedStderr(_ bytes: [UInt8]?) {
        guard let bytes else {
            if !stderrPending.isEmpty { stderrLines.append(String(decoding: stderrPending, as: UTF8.self)) }
            stderrPending = []
            return
        }
        guard !stderrOverflowed else { return }
        stderrBytes += bytes.count
        if stderrBytes > Self.stderrByteLimit {
            stderrOverflowed = true
            stderrLines.append("[vaultsim: stderr cut after \(Self.stderrByteLimit >> 20) MiB]")
            stderrPending = []
            return
        }
        // Only the new bytes are searched for line ends, so a long line costs linear time.
        let searchFrom = stderrPending.count
        stderrPending += bytes
        var lineStart = 0
        for index in searchFrom..<stderrPending.count where stderrPending[index] == UInt8(ascii: "\n") {
            stderrLines.append(String(decoding: stderrPending[lineStart..<index], as: UTF8.self))
            lineStart = index + 1
        }
        if lineStart > 0 { stderrPending.removeSubrange(..<lineStart) }
    }

    /// stdout ended: nothing more can be answered. The failure is reported once the process has
    /// exited, with its status and last stderr lines.
    private func stdoutClosed() {
        outgoing.finish()
    }

    private func finished(status: String) {
        exitStatus = status
        killLeftovers()
        fail("the driver exited (\(status))\(stderrTail)")
        kills.finish()
        outgoing.finish()
    }

    /// Records the first failure, fails every pending call with it and kills the process.
    private func fail(_ message: String) {
        if failure == nil {
            failure = DriverFailure(message: message)
            // Before the kill, while what the driver started is still its child.
            recordDescendants()
        }
        failPending(failure!)
        kills.yield()
    }

    /// Notes every process now below the driver, while the driver still runs (after it exits,
    /// nothing links an orphan to it). `throttled`: at most one look every 50 ms (replies can come
    /// in hundreds; shutdown looks again before the driver is told to exit).
    private func recordDescendants(throttled: Bool = false) {
        guard exitStatus == nil, let driver = driverProcess else { return }
        let now = ContinuousClock.now
        if throttled, let last = lastDescendantScan, now - last < .milliseconds(50) { return }
        lastDescendantScan = now
        guard DriverProcessTree.isSame(driver) else { return }
        for entry in DriverProcessTree.descendants(of: driver.pid) { descendants[entry.pid] = entry.startTime }
    }

    /// Kills, once the driver is gone or given up on, every process recorded below it and every
    /// process still in its session or process group.
    private func killLeftovers() {
        guard let driver = driverProcess else { return }
        var targets = descendants.map { DriverProcessTree.Entry(pid: $0.key, startTime: $0.value) }
        targets += DriverProcessTree.members(ofSessionOrGroup: driver.pid, startedSince: driver.startTime)
        let killed = DriverProcessTree.killAll(targets)
        leftovers += killed
        killedLeftovers += killed.map(\.pid)
        descendants = [:]
    }

    private func failPending(_ failure: DriverFailure) {
        let waiting = pending
        pending = [:]
        for continuation in waiting.values { continuation.resume(throwing: failure) }
    }

    // MARK: Shutdown and output

    /// Closes stdin so the driver exits; kills it if it has not exited within `grace`.
    /// Returns its termination status. Whatever the driver started is killed with it, children
    /// that left its session included.
    @discardableResult
    public func shutdown(grace: Duration = .seconds(5)) async -> String {
        recordDescendants()
        outgoing.finish()
        await waitForExit(until: ContinuousClock.now + grace)
        if exitStatus == nil {
            recordDescendants()
            kills.yield()
            await waitForExit(until: ContinuousClock.now + .seconds(5))
        }
        if exitStatus == nil {
            // Something outside the process group still holds the pipes.
            killLeftovers()
            await waitForExit(until: ContinuousClock.now + .seconds(2))
        }
        // SIGKILL is not instant: wait (briefly) until the leftovers are really gone, so that none
        // outlives the scenario.
        let sweepDeadline = ContinuousClock.now + .seconds(2)
        while leftovers.contains(where: DriverProcessTree.isAlive), ContinuousClock.now < sweepDeadline {
            try? await Task.sleep(for: .milliseconds(10))
        }
        return exitStatus ?? "still running after SIGKILL (abandoned)"
    }

    /// Waits until the process has ended and its pipes have closed, or `deadline`. Once the driver
    /// itself has exited, what is left below it is killed at once: if a child holds the pipes,
    /// waiting for them would only wait out the deadline.
    private func waitForExit(until deadline: ContinuousClock.Instant) async {
        while exitStatus == nil, ContinuousClock.now < deadline {
            if !sweptAfterExit, let driver = driverProcess, DriverProcessTree.hasExited(driver) {
                sweptAfterExit = true
                killLeftovers()
            }
            try? await Task.sleep(for: .milliseconds(20))
        }
    }

    /// Everything the driver wrote on stderr (the SDK's log).
    public var stderr: String { stderrLines.joined(separator: "\n") }

    // MARK: One process, many scenarios

    /// How many lines each stream has so far: where the next scenario's output begins.
    public var checkpoint: (stdout: Int, stderr: Int) { (stdoutLines.count, stderrLines.count) }

    /// The stderr lines since a checkpoint (all a driver that served one scenario wrote).
    public func stderr(since checkpoint: Int) -> String {
        stderrLines.dropFirst(min(checkpoint, stderrLines.count)).joined(separator: "\n")
    }

    /// The stdout lines since a checkpoint.
    public func stdout(since checkpoint: Int) -> String {
        stdoutLines.dropFirst(min(checkpoint, stdoutLines.count)).joined(separator: "\n")
    }

    /// The stderr lines since a checkpoint and before `mark` (a line the driver wrote when asked
    /// to end the scenario), waiting up to `timeout` for the mark to arrive (stderr is read apart
    /// from the replies). Nil when the mark never came.
    public func stderr(since checkpoint: Int, until mark: String, timeout: Duration) async -> String? {
        let deadline = ContinuousClock.now + timeout
        while true {
            let lines = stderrLines.dropFirst(min(checkpoint, stderrLines.count))
            if let end = lines.firstIndex(of: mark) {
                // The blank line the driver writes before its mark is its own, not the SDK's.
                var text = Array(lines[..<end])
                if text.last == "" { text.removeLast() }
                return text.joined(separator: "\n")
            }
            if ContinuousClock.now >= deadline || exitStatus != nil { return nil }
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    /// Every line the driver wrote on stdout.
    public var stdout: String { stdoutLines.joined(separator: "\n") }

    /// The first failure (crash, hang, garbage), if any.
    public var driverFailure: DriverFailure? { failure }

    private var stderrTail: String {
        let tail = stderrLines.suffix(15)
        return tail.isEmpty ? "" : "; last stderr lines:\n    " + tail.joined(separator: "\n    ")
    }

    static func clip(_ text: String) -> String { text.count > 200 ? String(text.prefix(200)) + "…" : text }
}
