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
            try Self.create(in: folder)
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

    /// A TLS server context presenting a certificate for `host`, issued on first use.
    func serverContext(for host: String) throws -> NIOSSLContext {
        if let cached = contexts.withLock({ $0[host] }) { return cached }
        let leaf = try issueLeaf(for: host)
        let configuration = TLSConfiguration.makeServerConfiguration(
            certificateChain: [.certificate(try NIOSSLCertificate(bytes: Array(leaf.serializeAsPEM().pemString.utf8), format: .pem))],
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
        guard !host.isEmpty, host.utf8.count <= 253, host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.:_".contains($0)) }) else {
            throw Failure(description: "'\(host.prefix(80))' is not a host name")
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

    static func ipAddressBytes(_ host: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, host, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, host, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }
}
