import VaultSimCore

/// The order scenarios start in: shuffled by a seed, so that a scenario that passes only after
/// another (state left in a reused driver, in a shared proxy, in the SDK's process) is found, and
/// a run can be repeated exactly with the same seed. Reports list scenarios by id whatever the order.
public enum RunOrder {
    /// Seeds are kept below 10⁹ so that JSON carries them exactly and people can type them.
    public static let seedRange: ClosedRange<Int> = 0...999_999_999

    public static func randomSeed() -> Int { Int.random(in: seedRange) }

    /// The items in the order `seed` gives (the same on every machine): a Fisher–Yates shuffle
    /// driven by SplitMix64.
    public static func shuffled<T>(_ items: [T], seed: Int) -> [T] {
        var generator = SplitMix64(seed: UInt64(truncatingIfNeeded: seed))
        var result = items
        guard result.count > 1 else { return result }
        for index in stride(from: result.count - 1, to: 0, by: -1) {
            let other = Int(generator.next() % UInt64(index + 1))
            result.swapAt(index, other)
        }
        return result
    }

}
