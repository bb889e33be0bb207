import HTTPTypes
import Hummingbird
import VaultSimCore

extension VaultError {
    /// The error as an HTTP answer: its status, its headers and the `{"detail": {...}}` envelope
    /// as JSON. A HEAD request gets the status and headers without the body.
    func response(headers extra: HTTPFields = [:], forHEAD isHEAD: Bool = false) -> Response {
        var fields: HTTPFields = [.contentType: "application/json"]
        for (name, value) in headers.sorted(by: { $0.key < $1.key }) {
            if let name = HTTPField.Name(name) { fields[name] = value }
        }
        fields.append(contentsOf: extra)
        guard !isHEAD else { return Response(status: .init(code: status), headers: fields) }
        return Response(status: .init(code: status), headers: fields, body: .init(byteBuffer: ByteBuffer(string: body.jsonText)))
    }

    /// A refusal by the HTTP layer (Hummingbird's `HTTPError`, a body over its limit) in the
    /// vault's terms, with the code `SDKGateway` uses for them.
    static func httpRefusal(status: HTTPResponse.Status, _ detail: String) -> VaultError {
        VaultError(status: Int(status.code), code: "request_rejected", message: "\(status.reasonPhrase): \(detail)")
    }
}
