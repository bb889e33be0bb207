import Foundation
import HTTPTypes
import Hummingbird
import VaultSimCore
import VaultSimProviders

/// VaultSim's `@alter-ai/connect` (the guide's popup flow), served three ways: at the CDN
/// address apps put in their script tag (`https://cdn.jsdelivr.net/npm/@alter-ai/connect@…`,
/// which the intercepting proxy hands here), at the same path on the vault's own port, and as a
/// package folder `npm install` takes (`writePackage`). The widget opens
/// `/connect/widget?token=…&origin=…`, which finds the session, accepts the opener's origin and
/// sends the popup on to the session's hosted page.
public enum ConnectWidget {
    /// The CDN host apps load the widget from.
    public static let cdnHost = "cdn.jsdelivr.net"
    /// The package's paths, on the CDN host and on the vault's port alike.
    public static let packagePrefix = "/npm/@alter-ai/connect"
    /// The files the package has (the path after `@<version>/`), and their content types.
    static let files: [(path: String, contentType: String)] = [
        ("dist/alter-connect.umd.js", "text/javascript; charset=utf-8"),
        ("dist/alter-connect.esm.js", "text/javascript; charset=utf-8"),
        // The same module for Node and bundlers, which take `.js` as CommonJS in a package without "type".
        ("dist/alter-connect.mjs", "text/javascript; charset=utf-8"),
        ("dist/index.d.ts", "text/plain; charset=utf-8"),
        ("package.json", "application/json; charset=utf-8"),
    ]
    static let popupPath = "/connect/widget"

    /// The package file a path names: `/npm/@alter-ai/connect[@version][/file]` (no file: the
    /// UMD build, as the CDN answers); nil when the path is not the package's at all.
    enum Lookup: Equatable {
        case file(String)
        case refused(String)
    }

    static func file(at path: String) -> Lookup? {
        guard path.hasPrefix(packagePrefix) else { return nil }
        var rest = Substring(path.dropFirst(packagePrefix.count))
        if rest.first == "@" {
            let version = rest.dropFirst().prefix { $0 != "/" }
            guard !version.isEmpty, version.allSatisfy({ $0.isLetter || $0.isNumber || ".-+^~_".contains($0) }) else {
                return .refused("'\(version)' is not a version (use latest or a version number)")
            }
            rest = rest.dropFirst(1 + version.count)
        } else if !rest.isEmpty, rest.first != "/" {
            return nil  // another package (@alter-ai/connectx)
        }
        let name = rest.drop { $0 == "/" }
        if name.isEmpty { return .file(files[0].path) }
        guard files.contains(where: { $0.path == name }) else {
            return .refused("the package has no file '\(name)'; it has \(files.map(\.path).joined(separator: ", "))")
        }
        return .file(String(name))
    }

    /// Whether a request to the CDN host is for the package (the proxy hands those to the vault).
    public static func servesCDNPath(_ target: String) -> Bool {
        let path = target.prefix { $0 != "?" && $0 != "#" }
        return file(at: String(path)) != nil
    }

    /// The text of one package file, for a widget that opens `vaultURL`.
    static func contents(of file: String, vaultURL: String) -> String {
        switch file {
        case "dist/alter-connect.esm.js", "dist/alter-connect.mjs": ConnectWidgetSource.esm(vaultURL: vaultURL)
        case "dist/index.d.ts": ConnectWidgetSource.typeDeclarations
        case "package.json": ConnectWidgetSource.packageJSON()
        default: ConnectWidgetSource.umd(vaultURL: vaultURL)
        }
    }

    /// Writes the package into `folder` (made if missing, its files replaced) for a vault at
    /// `vaultURL`: `npm install <folder>` then gives an app `import AlterConnect from '@alter-ai/connect'`.
    public static func writePackage(to folder: URL, vaultURL: String) throws {
        let fm = FileManager.default
        try fm.createDirectory(at: folder.appendingPathComponent("dist"), withIntermediateDirectories: true)
        for (path, _) in files {
            try Data(contents(of: path, vaultURL: vaultURL).utf8).write(to: folder.appendingPathComponent(path), options: .atomic)
        }
    }

    /// Origins a popup may be opened from when the session names no `allowed_origin`: the
    /// machine's own pages (any port), as a dev sandbox's app runs on.
    static func isLoopback(origin: String) -> Bool {
        guard let url = URL(string: origin), let host = url.host?.lowercased() else { return false }
        return host == "localhost" || host == "127.0.0.1" || host == "::1" || host == "[::1]" || host.hasSuffix(".localhost")
    }
}

struct ConnectWidgetRoutes: Sendable {
    let server: VaultSimServer

    func add<Context: RequestContext>(to router: Router<Context>) {
        router.get("/npm/**") { request, _ in packageFile(request) }
        router.get(RouterPath(ConnectWidget.popupPath)) { request, _ in await popup(request) }
    }

    private func packageFile(_ request: Request) -> Response {
        guard let found = ConnectWidget.file(at: request.uri.path) else {
            return Self.text(404, "VaultSim serves one npm package here, @alter-ai/connect (\(ConnectWidget.packagePrefix)@latest/dist/alter-connect.umd.js); not \(request.uri.path)")
        }
        switch found {
        case .refused(let problem):
            return Self.text(404, "VaultSim's @alter-ai/connect: \(problem)")
        case .file(let file):
            let type = ConnectWidget.files.first { $0.path == file }?.contentType ?? "text/plain; charset=utf-8"
            return Response(status: .ok,
                            headers: [.contentType: type, .cacheControl: "no-cache", .accessControlAllowOrigin: "*",
                                      HTTPField.Name("X-VaultSim-Package")!: "@alter-ai/connect@\(ConnectWidgetSource.version)"],
                            body: .init(byteBuffer: ByteBuffer(string: ConnectWidget.contents(of: file, vaultURL: server.address.baseURL))))
        }
    }

    /// The widget's popup opens here: the session's sandbox is found by its token, the opener's
    /// origin is accepted (or the page says why not), and the popup goes on to the hosted page.
    private func popup(_ request: Request) async -> Response {
        let query = QueryString.decode(request.uri.query ?? "")
        let token = query["token"] ?? ""
        let origin = query["origin"] ?? ""
        let redirectMode = query["mode"] == "redirect"
        guard let sandbox = server.registry.all.first(where: { (try? $0.store.connectSession(token: token)) != nil }) else {
            // No session to protect: the opener hears why, so onError fires.
            let message = token.isEmpty ? "The widget opened Connect without a session token." : "No Connect session has this token (it may belong to another VaultSim, or its sandbox was deleted)."
            return Self.refusal(404, "No such Connect session", message, code: "session_not_found", postTo: redirectMode ? nil : origin)
        }
        return await ConnectPages.recorded(request, body: Data(), in: sandbox) { _ in
            let connect = ConnectService(credentials: server.credentials(sandbox))
            do throws(VaultError) {
                if !redirectMode { try connect.acceptPopupOrigin(token: token, origin: origin, loopbackAllowed: ConnectWidget.isLoopback) }
                return ConnectPages.redirect(ConnectPages.sessionPath(sandboxID: sandbox.id, token: token))
            } catch {
                return ConnectPages.errorPage(error.status, "Connect cannot post to this page", error.message)
            }
        }
    }

    /// An error page that, when `postTo` is an origin, posts the failure to the opener there.
    static func refusal(_ status: Int, _ title: String, _ message: String, code: String, postTo origin: String?) -> Response {
        let payload: JSONValue = ["type": "alter-connect", "status": "error", "connections": [],
                                  "error": ["error_code": .string(code), "error_message": .string(message)]]
        let text = ConnectTemplates.render("result", [
            "title": title, "message": message, "status": "error", "origin": origin ?? "", "payload": payload.jsonText,
            "postMessage": origin.map { !$0.isEmpty } ?? false, "hasConnected": false, "connected": [Any](),
        ])
        return Response(status: .init(code: status), headers: [.contentType: "text/html; charset=utf-8", .cacheControl: "no-store"],
                        body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: Int, _ text: String) -> Response {
        Response(status: .init(code: status), headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: text + "\n")))
    }
}
