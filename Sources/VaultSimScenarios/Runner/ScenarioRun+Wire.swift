import Foundation
import HTTPTypes
import VaultSimCore

extension ScenarioRun {
    /// C4: every call the SDK sends the vault with a body declares it `Content-Type:
    /// application/json` (FastAPI would read a body declared otherwise as bytes, not JSON), and
    /// every call names the SDK in `User-Agent: alter-sdk-<language>/<version>` (what the
    /// driver's `init` reported). Reported once per route and rule, with how many calls broke it.
    mutating func checkVaultCallsFollowC4(_ sandbox: Sandbox) {
        guard let calls = try? sandbox.store.exchanges(service: "vault", caller: Exchange.Caller.sdk.rawValue) else { return }
        var agent: String?
        if sdkInfo?["sdk"]?.stringValue == "alter-sdk", let language = sdkInfo?["language"]?.stringValue,
           let version = sdkInfo?["version"]?.stringValue {
            agent = "alter-sdk-\(language)/\(version)"
        }
        var broken: [(key: String, message: String)] = []
        var counts: [String: Int] = [:]
        func note(_ key: String, _ message: String) {
            if counts[key] == nil { broken.append((key, message)) }
            counts[key, default: 0] += 1
        }
        for call in calls {
            let route = "\(call.request.method) \(call.request.path)"
            if !call.request.body.isEmpty {
                let declared = call.request.headers[values: .contentType].joined(separator: ", ")
                let media = declared.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
                if media != "application/json" {
                    note("type " + route, "\(route) sent a body %@with " + (declared.isEmpty ? "no Content-Type" : "Content-Type '\(declared)'")
                        + "; every call to the vault with a body declares Content-Type: application/json")
                }
            }
            let sent = call.request.headers[values: .userAgent].joined(separator: ", ")
            if let agent, sent != agent {
                note("agent " + route, "\(route) was sent %@with " + (sent.isEmpty ? "no User-Agent" : "User-Agent '\(sent)'")
                    + "; every call to the vault names the SDK as User-Agent: \(agent)")
            }
        }
        for (key, message) in broken {
            let times = counts[key] ?? 1
            add(.wire, "wire (C4): " + message.replacingOccurrences(of: "%@", with: times == 1 ? "" : "(\(times) calls) "))
        }
    }
}
