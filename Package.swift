// swift-tools-version: 6.2
//
// cwmp-proxy: a TR-069 (CWMP) proxier for UPnP DM and SNMP devices (TR-069 Annex J).
// Every library imports FoundationEssentials, never Foundation: the gateway cannot carry ICU.
import PackageDescription

/// Settings shared by every Swift target: Swift 6 language mode (strict concurrency) and no warnings.
let strictSettings: [SwiftSetting] = [
    .treatAllWarnings(as: .error),
]

let package = Package(
    name: "cwmp-proxy",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "cwmp-proxy", targets: ["cwmp-proxy"]),
        .library(name: "Proxier", targets: ["Proxier"]),
        .library(name: "CWMPClient", targets: ["CWMPClient"]),
        .library(name: "UPnPDM", targets: ["UPnPDM"]),
        .library(name: "SNMPBridge", targets: ["SNMPBridge"]),
        // Exported for the benchmarks package, whose baseline is libxml2 itself.
        .library(name: "CLibXML2", targets: ["CLibXML2"]),
        // Exported for the benchmarks package, whose SNMP baseline is net-snmp's own library loop.
        .library(name: "CNetSNMP", targets: ["CNetSNMP"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        // Already in the graph through async-http-client; named here for NIOHTTPCompression (the ACS transport's
        // gzip decoding on NIO, zlib underneath).
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/vapor/sqlite-nio", from: "1.13.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    ],
    targets: [
        // System-library shims: modulemap + a small commented header, nothing else.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),
        .systemLibrary(
            name: "CNetSNMP",
            pkgConfig: "netsnmp",
            providers: [.apt(["libsnmp-dev"])]
        ),

        .target(
            name: "CWMPClient",
            dependencies: [
                "CLibXML2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOHTTPCompression", package: "swift-nio-extras"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Proxier",
            dependencies: [
                "CWMPClient",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            exclude: ["DataModel/Generated/README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "UPnPDM",
            dependencies: [
                "Proxier",
                "CLibXML2",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SNMPBridge",
            dependencies: [
                "Proxier",
                "CWMPClient",
                "CNetSNMP",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "cwmp-proxy",
            dependencies: [
                "Proxier",
                "CWMPClient",
                "UPnPDM",
                "SNMPBridge",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: strictSettings
        ),

        // Helpers shared by test targets (the sample message catalogue, the XSD validator). A regular target
        // because test targets cannot depend on each other; only test targets depend on it.
        .target(
            name: "CWMPTestSupport",
            dependencies: ["CWMPClient"],
            path: "Tests/CWMPTestSupport",
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "CWMPClientTests",
            dependencies: [
                "CWMPClient",
                "CWMPTestSupport",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOTestUtils", package: "swift-nio"),
            ],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "CWMPProxyTests",
            dependencies: ["cwmp-proxy", "CWMPClient", "Proxier", "UPnPDM", "SNMPBridge", "CWMPTestSupport"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "UPnPDMTests",
            dependencies: ["UPnPDM", "Proxier", "CWMPClient", "CWMPTestSupport"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "SNMPBridgeTests",
            dependencies: ["SNMPBridge", "Proxier", "CWMPClient", "CWMPTestSupport"],
            // Recorded snmpsim devices, read from the source tree by the tests that serve them (SNMPSimPeer).
            exclude: ["Fixtures"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProxierTests",
            dependencies: ["Proxier", "CWMPClient", "CWMPTestSupport"],
            swiftSettings: strictSettings
        ),
    ]
)
