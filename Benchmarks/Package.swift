// swift-tools-version: 6.2
//
// Benchmarks for cwmp-proxy (ordo-one/package-benchmark). A separate package so the main build never
// compiles the benchmark harness. Run from this folder: `swift package benchmark`.
// Thresholds are committed under Thresholds/; every figure is reported as a ratio to a baseline measured in
// the same run (see each benchmark's comment), never as an absolute wall-clock claim.
import PackageDescription
import class Foundation.ProcessInfo
import struct Foundation.URL

// SwiftPM names a path dependency after its folder, and a clone may live in a folder of any name.
let proxyPackage = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "cwmp-proxy-benchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        // The fixture and the measured operations, shared so that clock and instruction counts measure the same code.
        .target(
            name: "CodecFixture",
            dependencies: [
                .product(name: "CWMPClient", package: proxyPackage),
                .product(name: "CLibXML2", package: proxyPackage),
            ],
            path: "Sources/CodecFixture"
        ),
        .executableTarget(
            name: "CodecBenchmarks",
            dependencies: [
                "CodecFixture",
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "CWMPClient", package: proxyPackage),
                .product(name: "CLibXML2", package: proxyPackage),
            ],
            path: "Benchmarks/CodecBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // Run under callgrind by report-ratios: instruction counts, which machine load does not disturb.
        // Outside Benchmarks/, so the benchmark plugin does not mistake it for a benchmark.
        .executableTarget(
            name: "CodecInstructionCounts",
            dependencies: [
                "CodecFixture",
                .product(name: "CWMPClient", package: proxyPackage),
            ],
            path: "Sources/CodecInstructionCounts"
        ),
        // N CWMP agents on one AgentHost against the Python ACS peer (--minimal), with loadgen.py as the baseline
        // in the same run: `swift run -c release AgentCapacity --agents 1000 --seconds 20`.
        .executableTarget(
            name: "AgentCapacity",
            dependencies: [
                .product(name: "Proxier", package: proxyPackage),
                .product(name: "CWMPClient", package: proxyPackage),
                .product(name: "Logging", package: "swift-log"),
                // The benchmark's ACS side of `--trigger cr` (real HTTP Connection Requests).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            path: "Sources/AgentCapacity",
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        // UPnP GetValues client CPU per action against dm_device.py on loopback, as a ratio to async-upnp-client's
        // client (bench_client.py) in the same run: `swift run -c release UPnPControlBenchmark --calls 2000`.
        .executableTarget(
            name: "UPnPControlBenchmark",
            dependencies: [
                .product(name: "UPnPDM", package: proxyPackage),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            path: "Sources/UPnPControlBenchmark",
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
        // SNMP GET latency, table-walk rows/s and GETs/s across many agents (snmpd and a 500-agent snmpsim fleet on
        // loopback), each as a ratio to net-snmp's own library loop in the same run:
        // `swift build -c release --product SNMPBenchmark && .build/release/SNMPBenchmark`.
        .executableTarget(
            name: "SNMPBenchmark",
            dependencies: [
                .product(name: "SNMPBridge", package: proxyPackage),
                .product(name: "CWMPClient", package: proxyPackage),
                .product(name: "CNetSNMP", package: proxyPackage),
                .product(name: "Proxier", package: proxyPackage),
            ],
            path: "Sources/SNMPBenchmark",
            swiftSettings: [.treatAllWarnings(as: .error)]
        ),
    ]
)
