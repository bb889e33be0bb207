// swift-tools-version:6.1
import PackageDescription

let package = Package(
    name: "VaultSim",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "vaultsim", targets: ["vaultsim"]),
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swiftlang/swift-subprocess", from: "1.0.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-collections", from: "1.1.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        // Property-based tests: every parser fed arbitrary bytes and near-misses (tests only).
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.1"),
        // Golden files of the reports, and a JUnit parser for the JUnit report (tests only).
        .package(url: "https://github.com/pointfreeco/swift-snapshot-testing", from: "1.19.7"),
        .package(url: "https://github.com/CoreOffice/XMLCoder", from: "0.18.2"),
    ],
    targets: [
        // Domain and store: sandboxes, apps, grants, the vault's credentials, policies, the error
        // contract, the vault's credential logic (talking to providers through ProviderTransport). No HTTP.
        .target(
            name: "VaultSimCore",
            dependencies: [
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The fake providers as authorization servers with their own store and consent pages (Google,
        // Slack, GitHub, the internal API), served from Fixtures/, and the gateway that dispatches by real host.
        .target(
            name: "VaultSimProviders",
            dependencies: [
                "VaultSimCore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // The Hummingbird application: /sdk routes, HMAC verification, control API, providers mounted,
        // the vault's HTTP client to the providers (AsyncHTTPClient on loopback), the hosted Connect pages,
        // the HTTPS-intercepting proxy and its local certificate authority (swift-nio-ssl, swift-certificates).
        .target(
            name: "VaultSimServer",
            dependencies: [
                "VaultSimCore",
                "VaultSimProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "OrderedCollections", package: "swift-collections"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // Scenario model and loader, runner, driver processes, the simulated Connect user (HTTP),
        // expectations, leak scanner, catalogue, reports.
        .target(
            name: "VaultSimScenarios",
            dependencies: [
                "VaultSimCore",
                "VaultSimProviders",
                "VaultSimServer",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ]
        ),
        // The CLI: one ParsableCommand per subcommand.
        .executableTarget(
            name: "vaultsim",
            dependencies: [
                "VaultSimCore",
                "VaultSimProviders",
                "VaultSimScenarios",
                "VaultSimServer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .testTarget(
            name: "VaultSimCoreTests",
            dependencies: [
                "VaultSimCore",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "VaultSimServerTests",
            dependencies: [
                "VaultSimCore",
                "VaultSimServer",
                "VaultSimProviders",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "PropertyBased", package: "swift-property-based"),
            ],
            // The real-browser test's Selenium script (run by ConnectBrowserTests with Python).
            exclude: ["Browser"]
        ),
        .testTarget(
            name: "VaultSimScenariosTests",
            dependencies: [
                "VaultSimCore",
                "VaultSimProviders",
                "VaultSimServer",
                "VaultSimScenarios",
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "SnapshotTesting", package: "swift-snapshot-testing"),
                .product(name: "XMLCoder", package: "XMLCoder"),
                .product(name: "Yams", package: "Yams"),
            ],
            // Driver scripts the tests run, the integration guide's examples (GuideExamplesTests),
            // and the reports' golden files (ReportRenderingTests).
            exclude: ["drivers", "guide", "__Snapshots__"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
