import Foundation

/// Splitting a suite across CI machines, without a scheduler of our own: `--shard K/N`, Bazel's
/// test-sharding variables, or a Kubernetes Indexed Job's completion index. The split is
/// deterministic — the same scenarios, the same shard, on every machine and every retry —
/// balanced by the scenarios' recorded durations when a previous report is given, otherwise by
/// count.
public enum Sharding {
    public struct Spec: Sendable, Equatable, CustomStringConvertible {
        /// 1-based.
        public var index: Int
        public var total: Int

        public init(index: Int, total: Int) {
            self.index = index
            self.total = total
        }

        public var description: String { "\(index)/\(total)" }
    }

    public struct Problem: Error, CustomStringConvertible {
        public var description: String
    }

    /// The most shards a suite may be split into.
    public static let maxShards = 10_000

    /// `K/N`, 1 ≤ K ≤ N.
    public static func parse(_ text: String) throws(Problem) -> Spec {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 2, let index = Int(parts[0]), let total = Int(parts[1]), (1...maxShards).contains(total), (1...total).contains(index) else {
            throw Problem(description: "--shard takes K/N with 1 ≤ K ≤ N ≤ \(maxShards) (the first of three is 1/3), got '\(text)'")
        }
        return Spec(index: index, total: total)
    }

    /// Where a shard came from, for the run's first lines.
    public enum Source: String, Sendable {
        case option = "--shard"
        case bazel = "Bazel (TEST_TOTAL_SHARDS, TEST_SHARD_INDEX)"
        case kubernetes = "a Kubernetes Indexed Job (JOB_COMPLETION_INDEX)"
    }

    /// The shard of this process: `--shard` first, then Bazel's variables, then a Kubernetes
    /// Indexed Job's completion index with `--shards N` (or `VAULTSIM_TOTAL_SHARDS`). Nil: no sharding.
    public static func resolve(option: String?, shards: Int?, environment: [String: String]) throws(Problem) -> (Spec, Source)? {
        if let option { return (try parse(option), .option) }
        if let totalText = environment["TEST_TOTAL_SHARDS"], !totalText.isEmpty {
            guard let total = Int(totalText), (1...maxShards).contains(total) else {
                throw Problem(description: "TEST_TOTAL_SHARDS must be a whole number from 1 to \(maxShards), got '\(totalText)'")
            }
            let indexText = environment["TEST_SHARD_INDEX"] ?? ""
            guard let index = Int(indexText), (0..<total).contains(index) else {
                throw Problem(description: "TEST_SHARD_INDEX must be 0 to \(total - 1) with TEST_TOTAL_SHARDS=\(total), got '\(indexText)'")
            }
            return (Spec(index: index + 1, total: total), .bazel)
        }
        if let indexText = environment["JOB_COMPLETION_INDEX"], !indexText.isEmpty {
            let totalText = shards.map(String.init) ?? environment["VAULTSIM_TOTAL_SHARDS"] ?? ""
            guard let total = Int(totalText), (1...maxShards).contains(total) else {
                throw Problem(description: "JOB_COMPLETION_INDEX is set: give the number of shards with --shards N or VAULTSIM_TOTAL_SHARDS (the Job's completions), got '\(totalText)'")
            }
            guard let index = Int(indexText), (0..<total).contains(index) else {
                throw Problem(description: "JOB_COMPLETION_INDEX must be 0 to \(total - 1) with \(total) shards, got '\(indexText)'")
            }
            return (Spec(index: index + 1, total: total), .kubernetes)
        }
        if shards != nil {
            throw Problem(description: "--shards N goes with a Kubernetes Indexed Job (JOB_COMPLETION_INDEX); to pick a shard yourself use --shard K/N")
        }
        return nil
    }

    /// The scenarios of one shard. Scenarios are taken in id order; with durations (seconds by
    /// id, from an earlier report) the longest go first, each to the shard with the least time so
    /// far (ties to the lower shard), a scenario missing from them counted at the median;
    /// without, they are dealt round the shards in turn.
    public static func select<T>(_ items: [T], id: (T) -> String, shard: Spec, durations: [String: Double]? = nil) -> [T] {
        let sorted = items.sorted { id($0) < id($1) }
        guard shard.total > 1 else { return sorted }
        guard let durations, !durations.isEmpty else {
            return sorted.enumerated().filter { $0.offset % shard.total == shard.index - 1 }.map(\.element)
        }
        let known = durations.values.filter { $0.isFinite && $0 >= 0 }.sorted()
        let median = known.isEmpty ? 1 : known[known.count / 2]
        func cost(_ item: T) -> Double {
            guard let seconds = durations[id(item)], seconds.isFinite, seconds >= 0 else { return median }
            return seconds
        }
        let ordered = sorted.enumerated().sorted { cost($0.element) != cost($1.element) ? cost($0.element) > cost($1.element) : $0.offset < $1.offset }
        var loads = [Double](repeating: 0, count: shard.total)
        var chosen: [T] = []
        for (_, item) in ordered {
            var target = 0
            for candidate in 1..<shard.total where loads[candidate] < loads[target] { target = candidate }
            loads[target] += cost(item)
            if target == shard.index - 1 { chosen.append(item) }
        }
        return chosen.sorted { id($0) < id($1) }
    }
}
