import Foundation
import Hummingbird
import Testing
import VaultSimCore
@testable import VaultSimServer

/// docs/control-api.openapi.json describes the control API: every route the server has under
/// /_vaultsim is in it with its method, and it names no route the server lacks.
struct ControlAPIDocTests {
    static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("docs/control-api.openapi.json")

    @Test func theOpenAPIDocumentListsExactlyTheControlRoutes() async throws {
        let server = try await SharedTestServer.started.value
        let router = Router(context: BasicRequestContext.self)
        server.addRoutes(to: router)
        let served = Set(router.routes.map { "\($0.method.rawValue) \($0.path)" }.filter { $0.contains(" /_vaultsim") }
            .map { $0.replacingOccurrences(of: #":([a-z_]+)"#, with: "{$1}", options: .regularExpression) })

        let json = try #require(JSONValue.parse(try Data(contentsOf: Self.document)))
        #expect(json["openapi"]?.stringValue?.hasPrefix("3.") == true)
        var documented = Set<String>()
        for (path, operations) in json["paths"]?.objectValue ?? [:] {
            for method in (operations.objectValue ?? [:]).keys where ["get", "post", "put", "delete", "patch"].contains(method) {
                documented.insert("\(method.uppercased()) \(path)")
                #expect(operations[method]?["responses"]?.objectValue?.isEmpty == false, "\(method) \(path) documents no response")
            }
        }
        #expect(served.subtracting(documented).sorted() == [], "served but not documented")
        #expect(documented.subtracting(served).sorted() == [], "documented but not served")
        #expect(served.count >= 18)
    }
}
