import Foundation
import Testing
import Yams

/// The CI examples in docs/ci.md are what they say: YAML that parses, with the fields the docs
/// name. (The Bazel variables drive a real shard run in ShardingTests.)
struct CIDocTests {
    static func yamlBlocks() throws -> [[String: Any]] {
        let text = try String(contentsOf: EndToEnd.root.appendingPathComponent("docs/ci.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst().compactMap { $0.components(separatedBy: "\n```").first }
        return try blocks.map { block in
            guard let document = try Yams.load(yaml: block) as? [String: Any] else { throw CocoaError(.coderReadCorrupt) }
            return document
        }
    }

    @Test func theKubernetesManifestIsAnIndexedJobWhoseShardCountMatches() throws {
        let job = try #require(try Self.yamlBlocks().first { $0["kind"] as? String == "Job" })
        #expect(job["apiVersion"] as? String == "batch/v1")
        let spec = try #require(job["spec"] as? [String: Any])
        #expect(spec["completionMode"] as? String == "Indexed")
        let completions = try #require(spec["completions"] as? Int)
        #expect(spec["parallelism"] as? Int == completions)
        let template = try #require((spec["template"] as? [String: Any])?["spec"] as? [String: Any])
        #expect(template["restartPolicy"] as? String == "Never")
        let container = try #require((template["containers"] as? [[String: Any]])?.first)
        let command = try #require(container["command"] as? [String])
        #expect(Array(command.prefix(2)) == ["vaultsim", "run"])
        let env = (container["env"] as? [[String: Any]]) ?? []
        #expect(env.contains { $0["name"] as? String == "VAULTSIM_TOTAL_SHARDS" && $0["value"] as? String == String(completions) })
    }

    @Test func theGitHubAndGitLabJobsShardAndReport() throws {
        let blocks = try Self.yamlBlocks()
        let github = try #require(blocks.first { $0["jobs"] != nil })
        let job = try #require((github["jobs"] as? [String: Any])?["vaultsim"] as? [String: Any])
        let shards = try #require(((job["strategy"] as? [String: Any])?["matrix"] as? [String: Any])?["shard"] as? [Int])
        let steps = try #require(job["steps"] as? [[String: Any]])
        let run = steps.compactMap { $0["run"] as? String }.joined(separator: "\n")
        #expect(run.contains("--shard ${{ matrix.shard }}/\(shards.count)"), "\(run)")
        let report = try #require((github["jobs"] as? [String: Any])?["report"] as? [String: Any])
        #expect(((report["steps"] as? [[String: Any]]) ?? []).contains { ($0["run"] as? String)?.contains("vaultsim report merge") == true })

        let gitlab = try #require(blocks.first { $0["vaultsim"] != nil }?["vaultsim"] as? [String: Any])
        #expect(gitlab["parallel"] as? Int == 3)
        #expect(((gitlab["script"] as? [String]) ?? []).contains { $0.contains("--shard \"$CI_NODE_INDEX/$CI_NODE_TOTAL\"") && $0.contains("--junit junit.xml") })
        let reports = (gitlab["artifacts"] as? [String: Any])?["reports"] as? [String: Any]
        #expect(reports?["junit"] as? String == "junit.xml")
    }
}
