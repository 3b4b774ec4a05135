// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "bgpmesh-agent",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "bgpmesh-agent", targets: ["bgpmesh-agent"]),
        .executable(name: "bgpmesh-lab", targets: ["bgpmesh-lab"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        // System library shims (Debian: zlib1g-dev, libyaml-dev).
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),

        // libcurl's headers (libcurl4-openssl-dev), the library itself loaded with dlopen on first use.
        .target(name: "CCurl", linkerSettings: [.linkedLibrary("dl")]),
        // libcrypto's headers (libssl-dev), libcrypto.so.3 loaded with dlopen on first use: RSA keys,
        // signatures and SHA-256 (docs/security.md, "Crypto library").
        .target(name: "COpenSSL", linkerSettings: [.linkedLibrary("dl")]),

        // The git revision, stamped by `make` into a gitignored header.
        .target(name: "CBuildInfo"),
        // Linux and glibc calls Swift's Glibc module leaves out (epoll, eventfd, accept4, mallopt).
        .target(name: "CLinux"),

        // File descriptors, EINTR and deadlines, shared by the leaf libraries that do I/O.
        .target(name: "POSIXSupport", dependencies: ["CLinux"]),

        // Leaf libraries: they never import each other.
        .target(name: "Exposition", dependencies: ["CZlib"]),
        .target(name: "HTTPServer", dependencies: ["CLinux", "POSIXSupport", .product(name: "Logging", package: "swift-log")]),
        .target(name: "BIRDControl", dependencies: ["POSIXSupport", .product(name: "Logging", package: "swift-log")]),
        .target(name: "EtcdClient", dependencies: ["CCurl", "POSIXSupport", .product(name: "Logging", package: "swift-log")]),
        .target(name: "TincControl", dependencies: ["POSIXSupport", "COpenSSL", .product(name: "Logging", package: "swift-log")]),

        // The agent: collectors, configuration, routing.
        .target(name: "MeshAgent", dependencies: [
            "Exposition", "HTTPServer", "BIRDControl", "TincControl", "EtcdClient", "POSIXSupport", "CBuildInfo", "CYAML",
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The executable: parsing, logging bootstrap and wiring only.
        .executableTarget(name: "bgpmesh-agent", dependencies: [
            "MeshAgent", "Exposition", "CLinux", "POSIXSupport",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // The network-namespace lab of real daemons: demo, integration tests, benchmarks.
        .target(name: "MeshLab", dependencies: [.product(name: "Logging", package: "swift-log")]),
        .executableTarget(name: "bgpmesh-lab", dependencies: [
            "MeshLab",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
            .product(name: "Logging", package: "swift-log"),
        ]),

        // Helpers shared by the test targets (real daemons started by tests).
        .target(name: "TestSupport", dependencies: ["EtcdClient", "POSIXSupport"], path: "Tests/TestSupport"),

        .testTarget(name: "POSIXSupportTests", dependencies: ["POSIXSupport", "TestSupport"]),
        .testTarget(name: "ExpositionTests", dependencies: ["Exposition", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "HTTPServerTests", dependencies: ["HTTPServer", "TestSupport", .product(name: "Logging", package: "swift-log")]),
        .testTarget(name: "BIRDControlTests", dependencies: ["BIRDControl", "POSIXSupport", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "EtcdClientTests", dependencies: ["EtcdClient", "TestSupport"], resources: [.copy("Fixtures")]),
        .testTarget(name: "TincControlTests", dependencies: ["TincControl", "POSIXSupport", "TestSupport", .product(name: "Logging", package: "swift-log")], resources: [.copy("Fixtures")]),
        // MeshAgent and TincControl: the trust tests build signed records (an impostor's, a fresh node's) as an agent does.
        .testTarget(name: "MeshLabTests", dependencies: ["MeshLab", "MeshAgent", "TincControl"]),
        // The executable end to end: scrape-once against replayed BIRD and tinc captures, diffed with a golden file;
        // the trust commands, their output checked with the agent's own verifier.
        .testTarget(name: "bgpmesh-agentTests", dependencies: ["MeshAgent", "TincControl", "TestSupport"], exclude: ["Golden"]),
        .testTarget(name: "MeshAgentTests", dependencies: ["MeshAgent", "Exposition", "HTTPServer", "BIRDControl", "TincControl", "EtcdClient", "POSIXSupport", "TestSupport", .product(name: "Logging", package: "swift-log")], resources: [.copy("Fixtures")]),
    ],
    swiftLanguageModes: [.v6]
)
