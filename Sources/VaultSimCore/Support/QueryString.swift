import Foundation

/// Decoding of URL query strings (`a=1&b=x+y`), as the fake providers and journals read them.
public enum QueryString {
    /// Name → value, `+` and percent-escapes decoded; when a name repeats, the last value wins.
    public static func decode(_ raw: String) -> [String: String] {
        var items: [String: String] = [:]
        for pair in raw.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            items[parts[0]] = parts.count > 1 ? parts[1] : ""
        }
        return items
    }
}
