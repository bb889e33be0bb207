import Foundation
import VaultSimCore

/// Judging a step: the driver's reply against the step's expectation.
extension ScenarioRun {
    /// What is wrong with a reply, judged against an expectation (nothing when it matches).
    func mismatches(_ reply: DriverReply, against expectation: StepExpectation, hostMap: HostMap) -> [Mismatch] {
        switch (reply, expectation) {
        case (.protocolError(let text), _):
            return [Mismatch(path: "", message: "the driver could not carry out the call: \(text)")]
        case (_, .none):
            return []
        case (_, .bySDK):
            return mismatches(reply, against: expectation.resolved(sdkVersion: bindings["sdk.version"]), hostMap: hostMap)
        case (_, .anyOf(let alternatives)):
            var all: [String] = []
            for alternative in alternatives {
                let found = mismatches(reply, against: alternative, hostMap: hostMap)
                if found.isEmpty { return [] }
                all.append(found.map(\.description).joined(separator: "; "))
            }
            return [Mismatch(path: "", message: "matches none of the \(alternatives.count) expected outcomes: "
                             + all.enumerated().map { "(\($0.offset + 1)) \($0.element)" }.joined(separator: " "))]
        case (.result(let result), .result(let pattern)):
            return pattern?.mismatches(hostMap.realURLs(in: result), at: "result", bindings: bindings) ?? []
        case (.result(let result), .error(let expected)):
            let status = result["status"].map { " with status \($0.jsonText)" } ?? ""
            return [Mismatch(path: "", message: "expected \(expected.name) but the call succeeded\(status)",
                             expected: expected.name, actual: "success\(status)")]
        case (.sdkError(let error), .result):
            return [Mismatch(path: "", message: "expected success but the SDK raised \(error.summary); attributes: \(Pattern.show(hostMap.realURLs(in: error.attributes)))",
                             expected: "success", actual: error.className)]
        case (.sdkError(let error), .error(let expected)):
            return mismatches(error, against: expected, hostMap: hostMap)
        }
    }

    func mismatches(_ error: SDKError, against expected: ErrorExpectation, hostMap: HostMap) -> [Mismatch] {
        guard expected.className.map({ $0 == error.className }) ?? true else {
            return [Mismatch(path: "", message: "expected \(expected.name) but the SDK raised \(error.summary); attributes: \(Pattern.show(hostMap.realURLs(in: error.attributes)))",
                             expected: expected.name, actual: error.className)]
        }
        if let kind = expected.kind, kind != error.kind {
            return [Mismatch(path: "error.kind", message: "expected kind \(kind) but the SDK raised \(error.summary), of kind \(error.kind ?? "(none reported)")",
                             expected: kind, actual: error.kind ?? "(none)")]
        }
        var found: [Mismatch] = []
        let missing = expected.ancestors.filter { !error.ancestors.contains($0) }
        if !missing.isEmpty {
            found.append(Mismatch(path: "error.ancestors",
                                  message: "\(error.className) is not a subclass of \(missing.joined(separator: ", ")) (its ancestors: \(error.ancestors.joined(separator: ", ")))",
                                  expected: missing.joined(separator: ", "), actual: error.ancestors.joined(separator: ", ")))
        }
        if let pattern = expected.message {
            found += pattern.mismatches(.string(error.message), at: "error.message", bindings: bindings)
        }
        if let pattern = expected.attributes {
            found += pattern.mismatches(hostMap.realURLs(in: error.attributes), at: "error.attributes", bindings: bindings)
        }
        return found
    }
}
