import Crypto
import Foundation
import NIOSSL
import Synchronization
import SwiftASN1
import X509

/// VaultSim's own certificate authority, for the intercepting proxy: made on first use in
/// `~/.vaultsim/ca/` as `ca-cert.pem` (what
/// `SSL_CERT_FILE` names) and `ca/ca-key.pem` (readable by the user only, in a folder only the
/// user may enter). Leaf certificates for the hosts the proxy terminates are issued on demand,
/// signed by it and cached for the life of the process. `VAULTSIM_CA_DIR` names another folder.
public final class LocalCertificateAuthority: Sendable {
    public let certificateFile: URL
    let certificate: Certificate
    let key: Certificate.PrivateKey
    /// One key for every leaf; only the certificates differ per host.
    let leafKey = P256.Signing.PrivateKey()
    private let contexts = Mutex<[String: NIOSSLContext]>([:])
    /// How many hosts' TLS contexts are kept at most.
    static let cachedHosts = 512

    /// The CA's folder: `$VAULTSIM_CA_DIR`, else `~/.vaultsim/ca`.
    public static func defaultFolder(environment: [String: String] = ProcessInfo.processInfo.environment) -> URL {
        if let folder = environment["VAULTSIM_CA_DIR"], !folder.isEmpty { return URL(fileURLWithPath: folder) }
        return FileManager.default.homeDirectoryForCurrentUser.appendingPathComponent(".vaultsim/ca")
    }

    public struct Failure: Error, CustomStringConvertible {
        public var description: String
    }

    /// Loads the CA in `folder`, or makes it there first.
    public init(folder: URL = LocalCertificateAuthority.defaultFolder()) throws {
        let certFile = folder.appendingPathComponent("ca-cert.pem")
        let keyFile = folder.appendingPathComponent("ca-key.pem")
        let fm = FileManager.default
        if !fm.fileExists(atPath: certFile.path) {
            do {
                try Self.create(in: folder)
            } catch let failure as Failure {
                throw failure
            } catch {
                throw Failure(description: "cannot make VaultSim's certificate authority in \(folder.path): \(error.localizedDescription). "
                              + "Set VAULTSIM_CA_DIR to a folder you can write (or start serve with --no-proxy)")
            }
        }
        do {
            certificate = try Certificate(pemEncoded: String(contentsOf: certFile, encoding: .utf8))
            key = try Certificate.PrivateKey(pemEncoded: String(contentsOf: keyFile, encoding: .utf8))
        } catch {
            throw Failure(description: "VaultSim's certificate authority in \(folder.path) cannot be read (\(error)); delete the folder to make a new one")
        }
        certificateFile = certFile
    }

    /// Makes the CA in a private scratch folder and moves it into place in one rename, so two
    /// processes starting at once never see half a CA.
    private static func create(in folder: URL) throws {
        let fm = FileManager.default
        // A folder made ready for it (`mktemp -d`, say) is used when empty; one holding other
        // files is not VaultSim's to fill.
        var isFolder: ObjCBool = false
        if fm.fileExists(atPath: folder.path, isDirectory: &isFolder) {
            guard isFolder.boolValue, (try? fm.contentsOfDirectory(atPath: folder.path))?.isEmpty == true else {
                throw Failure(description: "\(folder.path) is not an empty folder and holds no ca-cert.pem: VaultSim keeps its certificate "
                              + "authority there. Point VAULTSIM_CA_DIR at an empty or new folder, or delete this one")
            }
            try fm.removeItem(at: folder)
        }
        let parent = folder.deletingLastPathComponent()
        try fm.createDirectory(at: parent, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let scratch = parent.appendingPathComponent(".ca-\(UUID().uuidString)")
        try fm.createDirectory(at: scratch, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        defer { try? fm.removeItem(at: scratch) }
        let key = Certificate.PrivateKey(P256.Signing.PrivateKey())
        let name = try DistinguishedName {
            CommonName("VaultSim Local CA (\(ProcessInfo.processInfo.hostName))")
            OrganizationName("VaultSim")
        }
        let now = Date()
        let certificate = try Certificate(
            version: .v3, serialNumber: .init(), publicKey: key.publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(10 * 365 * 86400), issuer: name, subject: name, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: 0))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: key.publicKey)
            },
            issuerPrivateKey: key)
        let keyFile = scratch.appendingPathComponent("ca-key.pem")
        guard fm.createFile(atPath: keyFile.path, contents: Data(try key.serializeAsPEM().pemString.utf8), attributes: [.posixPermissions: 0o600]) else {
            throw Failure(description: "cannot write \(keyFile.path)")
        }
        try Data(try certificate.serializeAsPEM().pemString.utf8).write(to: scratch.appendingPathComponent("ca-cert.pem"))
        do {
            try fm.moveItem(at: scratch, to: folder)
        } catch where fm.fileExists(atPath: folder.appendingPathComponent("ca-cert.pem").path) {
            // Another process made it first: use theirs.
        }
    }

    /// The base64 SHA-256 of the CA's SubjectPublicKeyInfo: what Chromium's
    /// `--ignore-certificate-errors-spki-list` takes to trust the proxy's certificates.
    public var publicKeySHA256: String {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(certificate.publicKey)) != nil else { return "" }
        return Data(SHA256.hash(data: serializer.serializedBytes)).base64EncodedString()
    }

    /// A TLS server context presenting a certificate for `host`, issued on first use.
    func serverContext(for host: String) throws -> NIOSSLContext {
        if let cached = contexts.withLock({ $0[host] }) { return cached }
        let leaf = try issueLeaf(for: host)
        let configuration = TLSConfiguration.makeServerConfiguration(
            // The CA follows the leaf, so a client that pins it by its key (Chromium's
            // --ignore-certificate-errors-spki-list) finds it in the chain presented.
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(leaf.serializeAsPEM().pemString.utf8), format: .pem)),
                               .certificate(try NIOSSLCertificate(bytes: Array(certificate.serializeAsPEM().pemString.utf8), format: .pem))],
            privateKey: .privateKey(try NIOSSLPrivateKey(bytes: Array(leafKey.pemRepresentation.utf8), format: .pem)))
        let context = try NIOSSLContext(configuration: configuration)
        return contexts.withLock { contexts in
            if let raced = contexts[host] { return raced }
            // Bounded: a client naming endless hosts costs certificates, not memory without end.
            if contexts.count >= Self.cachedHosts { contexts.removeAll(keepingCapacity: true) }
            contexts[host] = context
            return context
        }
    }

    /// A leaf certificate for `host` (a DNS name, or an IP address), valid for a year.
    func issueLeaf(for host: String) throws -> Certificate {
        guard Self.ipAddressBytes(host) != nil || Self.isHostName(host) else {
            throw Failure(description: "'\(host.prefix(80))' is not a host name (RFC 1123) or an IP address")
        }
        let now = Date()
        let subjectName = try DistinguishedName { CommonName(String(host.prefix(64))) }
        let publicKey = Certificate.PublicKey(leafKey.publicKey)
        let name: GeneralName = Self.ipAddressBytes(host).map { .ipAddress(ASN1OctetString(contentBytes: ArraySlice($0))) } ?? .dnsName(host)
        let issuerKeyID = try certificate.extensions.subjectKeyIdentifier?.keyIdentifier
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: publicKey, notValidBefore: now.addingTimeInterval(-3600),
            notValidAfter: now.addingTimeInterval(365 * 86400), issuer: certificate.subject, subject: subjectName,
            signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                try ExtendedKeyUsage([.serverAuth])
                SubjectAlternativeNames([name])
                SubjectKeyIdentifier(hash: publicKey)
                AuthorityKeyIdentifier(keyIdentifier: issuerKeyID)
            },
            issuerPrivateKey: key)
    }

    /// A DNS host name as RFC 1123 has it: at most 253 characters, labels of 1–63 letters,
    /// digits and hyphens that neither start nor end with a hyphen (`.`, `a..b`, `-evil.com` and
    /// a 64-character label are not).
    static func isHostName(_ host: String) -> Bool {
        let bytes = Array(host.utf8)
        guard !bytes.isEmpty, bytes.count <= 253 else { return false }
        let labels = bytes.split(separator: UInt8(ascii: "."), omittingEmptySubsequences: false)
        return labels.allSatisfy { label in
            guard let first = label.first, let last = label.last, label.count <= 63,
                  first != UInt8(ascii: "-"), last != UInt8(ascii: "-") else { return false }
            return label.allSatisfy { byte in
                switch byte {
                case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                     UInt8(ascii: "-"): true
                default: false
                }
            }
        }
    }

    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
