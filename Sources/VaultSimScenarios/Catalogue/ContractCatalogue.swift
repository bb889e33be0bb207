import Foundation
import Yams

/// Every contract item an SDK is judged on — each error class, each item of the guide's Error
/// Handling and Troubleshooting sections, each rule of PROTOCOL.md §9 — read from
/// `docs/contract-catalogue.yaml`. Scenarios name the items they cover (`covers:`); a run
/// reports the items no passing scenario covers.
public struct ContractCatalogue: Sendable {
    public struct Item: Sendable, Equatable {
        public var id: String
        public var source: String
        public var title: String
    }

    public let items: [Item]

    public init(items: [Item]) { self.items = items }

    /// Reads the catalogue; every problem names the file and the item.
    public static func load(_ url: URL) throws(ScenarioLoadError) -> ContractCatalogue {
        let file = url.path
        let text: String
        do { text = try String(contentsOf: url, encoding: .utf8) } catch {
            throw ScenarioLoadError(SourceLocation(file: file, line: 0, column: 0), "cannot read the contract catalogue: \(error.localizedDescription)")
        }
        let root = try YAMLNode.parse(text, file: file)
        var top = try MappingReader(root, context: "the catalogue")
        let versionNode = try top.required("catalogue")
        guard case .scalar(let version) = versionNode.value, version.intValue == 1 else {
            throw ScenarioLoadError(versionNode.location, "unsupported catalogue version \(versionNode.json.jsonText); this VaultSim reads 'catalogue: 1'")
        }
        let itemsNode = try top.required("items")
        try top.rejectUnknownKeys(allowed: ["catalogue", "items"])
        guard case .sequence(let nodes) = itemsNode.value, !nodes.isEmpty else {
            throw ScenarioLoadError(itemsNode.location, "'items' must be a non-empty list")
        }
        var items: [Item] = []
        var seen: [String: SourceLocation] = [:]
        for (index, node) in nodes.enumerated() {
            var reader = try MappingReader(node, context: "items[\(index)]")
            let item = Item(id: try reader.requiredString("id"), source: try reader.requiredString("source"), title: try reader.requiredString("title"))
            try reader.rejectUnknownKeys(allowed: ["id", "source", "title"])
            if let first = seen[item.id] { throw ScenarioLoadError(node.location, "duplicate item id '\(item.id)' (first at \(first))") }
            seen[item.id] = node.location
            items.append(item)
        }
        return ContractCatalogue(items: items)
    }

    /// Scenario `covers:` entries that name no item (typos must not count as coverage).
    public func unknownReferences(in scenarios: [Scenario]) -> [ScenarioLoadError] {
        let known = Set(items.map(\.id))
        return scenarios.flatMap { scenario in
            scenario.covers.filter { !known.contains($0) }.map {
                ScenarioLoadError(scenario.location, "covers '\($0)', which is not in the contract catalogue")
            }
        }
    }

    /// For each item, the scenarios covering it that passed.
    public func coverage(_ scenarios: [Scenario], results: [ScenarioResult]) -> [(item: Item, passing: [String])] {
        let passed = Set(results.filter(\.passed).map(\.scenarioID))
        var byItem: [String: [String]] = [:]
        for scenario in scenarios where passed.contains(scenario.id) {
            for id in scenario.covers { byItem[id, default: []].append(scenario.id) }
        }
        return items.map { ($0, byItem[$0.id] ?? []) }
    }

    /// The coverage a run record keeps: the figure, and every item without a passing scenario.
    public func record(_ scenarios: [Scenario], results: [ScenarioResult]) -> RunRecord.Coverage {
        let coverage = self.coverage(scenarios, results: results)
        let uncovered = coverage.filter(\.passing.isEmpty).map { [$0.item.id, $0.item.title, "(\($0.item.source))"] }
        return RunRecord.Coverage(covered: coverage.count - uncovered.count, total: coverage.count, uncovered: uncovered)
    }
}
