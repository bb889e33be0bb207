import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The processes below a driver, read from Linux's /proc (elsewhere: none are found, and only the
/// process group is killed). Entries carry the start time so that a process id the kernel has
/// given to someone else since is never signalled.
enum DriverProcessTree {
    struct Entry: Sendable, Hashable {
        var pid: Int32
        /// In clock ticks after boot (/proc/PID/stat field 22).
        var startTime: UInt64
    }

    struct Stat: Sendable {
        var pid: Int32
        var state: Character
        var parent: Int32
        var group: Int32
        var session: Int32
        var startTime: UInt64
    }

    /// Every process below `root`: its children, theirs, and so on.
    static func descendants(of root: Int32) -> [Entry] {
        var children: [Int32: [Stat]] = [:]
        for process in all() { children[process.parent, default: []].append(process) }
        var found: [Entry] = []
        var seen: Set<Int32> = [root]
        var queue = [root]
        while let pid = queue.popLast() {
            for child in children[pid] ?? [] where seen.insert(child.pid).inserted {
                found.append(Entry(pid: child.pid, startTime: child.startTime))
                queue.append(child.pid)
            }
        }
        return found
    }

    /// Processes in the session or process group that `leader` led, started no earlier than it.
    static func members(ofSessionOrGroup leader: Int32, startedSince startTime: UInt64) -> [Entry] {
        let me = getpid()
        return all().filter { ($0.session == leader || $0.group == leader) && $0.startTime >= startTime && $0.pid != me && $0.pid != leader }
            .map { Entry(pid: $0.pid, startTime: $0.startTime) }
    }

    /// Sends SIGKILL to each entry that still names the same living process; returns those signalled.
    static func killAll(_ entries: [Entry]) -> [Entry] {
        var killed: [Entry] = []
        for entry in Set(entries) where isAlive(entry) {
            if kill(entry.pid, SIGKILL) == 0 { killed.append(entry) }
        }
        return killed
    }

    /// True while the process runs (an exited one awaiting its parent's wait does not count).
    static func isAlive(_ entry: Entry) -> Bool {
        guard let info = stat(of: entry.pid), info.startTime == entry.startTime else { return false }
        return info.state != "Z" && info.state != "X"
    }

    /// True while some process with this id runs (zombies do not count).
    static func isRunning(pid: Int32) -> Bool {
        guard let info = stat(of: pid) else { return false }
        return info.state != "Z" && info.state != "X"
    }

    /// True once the process has exited (awaiting its parent's wait or gone). Never true where
    /// /proc cannot tell.
    static func hasExited(_ entry: Entry) -> Bool {
        #if os(Linux)
        return !isAlive(entry)
        #else
        return false
        #endif
    }

    /// True while `entry` still names the process it was recorded for.
    static func isSame(_ entry: Entry) -> Bool {
        #if os(Linux)
        return stat(of: entry.pid)?.startTime == entry.startTime
        #else
        return false
        #endif
    }

    static func all() -> [Stat] {
        #if os(Linux)
        let names = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return names.compactMap(Int32.init).compactMap(stat(of:))
        #else
        return []
        #endif
    }

    static func stat(of pid: Int32) -> Stat? {
        #if os(Linux)
        let descriptor = open("/proc/\(pid)/stat", O_RDONLY | O_CLOEXEC)
        guard descriptor >= 0 else { return nil }
        defer { _ = close(descriptor) }
        var buffer = [UInt8](repeating: 0, count: 2048)
        let count = buffer.withUnsafeMutableBytes { read(descriptor, $0.baseAddress, $0.count) }
        guard count > 0 else { return nil }
        return parse(buffer[..<count], pid: pid)
        #else
        return nil
        #endif
    }

    /// `PID (COMM) STATE PPID PGRP SESSION ... STARTTIME ...`; COMM may hold spaces and parentheses,
    /// so the fields are counted from the last ')'.
    static func parse(_ line: ArraySlice<UInt8>, pid: Int32) -> Stat? {
        guard let commEnd = line.lastIndex(of: UInt8(ascii: ")")) else { return nil }
        let fields = line[(commEnd + 1)...].split(separator: UInt8(ascii: " ")).map { String(decoding: $0, as: UTF8.self) }
        // fields[0] is field 3 of proc(5) (state), so field N is fields[N - 3].
        guard fields.count > 19, let state = fields[0].first, let parent = Int32(fields[1]), let group = Int32(fields[2]),
              let session = Int32(fields[3]), let startTime = UInt64(fields[19]) else { return nil }
        return Stat(pid: pid, state: state, parent: parent, group: group, session: session, startTime: startTime)
    }
}
