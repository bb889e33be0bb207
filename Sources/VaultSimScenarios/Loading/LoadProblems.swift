import Synchronization

/// The problems found in one scenario file, so that a run reports all of them (up to `limit`)
/// rather than only the first. Recoverable problems (an unknown key) are recorded where they are
/// found and the parse goes on; a problem that leaves nothing to parse (a step that is not a
/// mapping) ends its part — the step, `given`, `then` — and the loader goes on with the next part.
final class LoadProblems: Sendable {
    /// At most this many problems are reported per file; the rest are counted.
    static let limit = 20

    @TaskLocal static var current: LoadProblems?

    private let found = Mutex<[ScenarioLoadError]>([])

    func record(_ problem: ScenarioLoadError) {
        found.withLock { all in
            if !all.contains(problem) { all.append(problem) }
        }
    }

    /// In the order of the file, at most `limit` of them, with a last line counting the rest.
    var problems: [ScenarioLoadError] {
        let all = found.withLock { $0 }.sorted { ($0.location.line, $0.location.column) < ($1.location.line, $1.location.column) }
        guard all.count > Self.limit, let last = all.last else { return all }
        return Array(all.prefix(Self.limit))
            + [ScenarioLoadError(last.location, "… and \(all.count - Self.limit) more problem(s) in this file; fix these first")]
    }

    /// The known word closest to a misspelt one, when it is close enough to be a typo: an edit
    /// distance of at most 2, and less than half the word.
    static func closest(to word: String, among known: [String]) -> String? {
        let scored = known.map { ($0, editDistance(word.lowercased(), $0.lowercased())) }
        guard let best = scored.min(by: { $0.1 < $1.1 }), best.1 <= 2, best.1 * 2 < max(word.count, 2) else { return nil }
        return best.0
    }

    /// Levenshtein distance, with an adjacent swap counting as one edit.
    static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var table = [[Int]](repeating: [Int](repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { table[i][0] = i }
        for j in 0...b.count { table[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                table[i][j] = min(table[i - 1][j] + 1, table[i][j - 1] + 1, table[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    table[i][j] = min(table[i][j], table[i - 2][j - 2] + 1)
                }
            }
        }
        return table[a.count][b.count]
    }
}
