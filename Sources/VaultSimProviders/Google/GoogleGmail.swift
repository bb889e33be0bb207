import Foundation
import VaultSimCore

/// Gmail API v1 `users.messages.list`, from `data["gmail"]["messages"]` (newest first).
struct GoogleGmail {
    let data: JSONValue

    func listMessages(_ call: ProviderCall, userID: String) -> ProviderResponse {
        guard userID == "me" || data["gmail"]?["users"]?[userID] != nil else {
            return GoogleErrors.error(400, status: "FAILED_PRECONDITION", message: "Precondition check failed.", reason: "failedPrecondition")
        }
        let q = call.query
        guard let maxResults = GooglePaging.maxResults(q["maxResults"], defaultValue: 100, maximum: 500) else {
            return GoogleErrors.invalidParameter("maxResults", "Invalid value '\(q["maxResults"] ?? "")'")
        }
        guard let offset = GooglePaging.offset(pageToken: q["pageToken"]) else { return GooglePaging.invalidPageToken }
        var messages = data["gmail"]?["messages"]?.arrayValue ?? []
        let wanted = QueryString.values(of: "labelIds", in: call.rawQuery)
        if !wanted.isEmpty {
            messages = messages.filter { message in
                let labels = Set((message["labelIds"]?.arrayValue ?? []).compactMap(\.stringValue))
                return wanted.allSatisfy(labels.contains)
            }
        }
        if q["includeSpamTrash"] != "true" {
            messages = messages.filter { message in
                let labels = (message["labelIds"]?.arrayValue ?? []).compactMap(\.stringValue)
                return !labels.contains("SPAM") && !labels.contains("TRASH")
            }
        }
        let start = min(offset, messages.count)
        let page = messages[start...].prefix(maxResults)
        var body = JSONObject()
        if !page.isEmpty {
            body["messages"] = .array(page.map { ["id": $0["id"] ?? .null, "threadId": $0["threadId"] ?? .null] })
        }
        if start + page.count < messages.count { body["nextPageToken"] = .string(GooglePaging.pageToken(offset: start + page.count)) }
        body["resultSizeEstimate"] = .number(Double(messages.count))
        return .json(200, .object(body))
    }
}
