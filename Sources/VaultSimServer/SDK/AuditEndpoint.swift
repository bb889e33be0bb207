import Foundation
import VaultSimCore

/// `POST /sdk/oauth/audit/api-call`: the SDK's report of one provider call, stored with who
/// made it. The SDK never waits on it and ignores the answer.
enum AuditEndpoint {
    static func handle(_ call: SDKCall) async throws -> (status: Int, body: JSONValue) {
        let payload = try call.jsonObject()
        let record = AuditRecord(receivedAt: call.sandbox.clock.now, grantID: try payload.optionalString("grant_id"),
                                 callerInfo: call.caller, payloadText: String(decoding: call.body, as: UTF8.self))
        try call.sandbox.store.append(audit: record)
        return (200, ["success": true])
    }
}
