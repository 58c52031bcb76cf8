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
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        // System-library shims: modulemap + a small commented header, nothing else.
        .systemLibrary(
            name: "CLibXML2",
            pkgConfig: "libxml-2.0",
            providers: [.apt(["libxml2-dev"])]
        ),

        .target(
            name: "CWMPClient",
            dependencies: [
                "CLibXML2",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        .target(
            name: "Proxier",
            dependencies: [
                "CWMPClient",
                .product(name: "Logging", package: "swift-log"),
            ],
            exclude: ["DataModel/Generated/README.md"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "UPnPDM",
            dependencies: ["Proxier"],
            swiftSettings: strictSettings
        ),
        .target(
            name: "SNMPBridge",
            dependencies: ["Proxier"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "cwmp-proxy",
            dependencies: [
                "Proxier",
                "CWMPClient",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),

        .testTarget(
            name: "CWMPClientTests",
            dependencies: ["CWMPClient"],
            resources: [.copy("Fixtures")],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "ProxierTests",
            dependencies: ["Proxier", "CWMPClient"],
            swiftSettings: strictSettings
        ),
    ]
)
