// swift-tools-version:6.0
import PackageDescription

// Targets follow docs/DESIGN.md: arrows point down only.
// PetrelKernels has no dependencies; the innermost microkernels live in the C target
// CPetrelMicrokernels (one file per ISA, per-function target attributes, no global flags).
/// OpenSSL is linked from its static archives (libssl-dev ships them): loading and relocating
/// the shared libcrypto cost 1.5 ms of every worker process start, measured from posix_spawn to
/// main on this machine (a static Swift binary reaches main in 1.6 ms; with libcrypto.so, 3.5).
/// COpenSSL's module map therefore names no library; every target that uses it links these.
let staticOpenSSL: [LinkerSetting] = [.linkedLibrary(":libssl.a"), .linkedLibrary(":libcrypto.a")]

/// Release builds of the serving path skip Swift's dynamic exclusivity checks: every access to a
/// class's stored property (an nghttp2 stream's headers, the executor's plan cache) went through
/// `swift_beginAccess`, about 5 % of a small request's instructions (callgrind, digits-mlp over
/// gRPC). Debug builds, and so the test suite, keep the checks.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Petrel",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "petrel", targets: ["petrel"]),
        .library(name: "PetrelKernels", targets: ["PetrelKernels"]),
        .library(name: "PetrelModel", targets: ["PetrelModel"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        // Sockets and event loops for the HTTP/2 server and client (NIOCore, NIOPosix) and the
        // HTTP/1.1 codec for clients that only speak HTTP/1 (NIOHTTP1). nghttp2 does HTTP/2 itself.
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // function.yaml
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        // Cold-start phase latencies per function (fixed memory, exact percentiles)
        .package(url: "https://github.com/HdrHistogram/hdrhistogram-swift", from: "0.2.0"),
        // The registry (SQLite): migrations, transactions, concurrent access from CLI and server.
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    ],
    targets: [
        // Headers only (in /usr/include from libssl-dev); linked statically, see `staticOpenSSL`.
        .systemLibrary(name: "COpenSSL"),
        .systemLibrary(name: "CNGHTTP2", pkgConfig: "libnghttp2",
                       providers: [.apt(["libnghttp2-dev"])]),
        // -fno-builtin-memset/-memcpy: without them clang turns the kernels' short zeroing and
        // copying loops (10-float rows of a padded plane) back into libc calls, 6–8 % of
        // digits-cnn at batch 64. Explicit memset/memcpy calls stay calls.
        .target(name: "CPetrelMicrokernels",
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast", "-fno-builtin-memset", "-fno-builtin-memcpy"])]),
        .target(name: "PetrelKernels", dependencies: ["CPetrelMicrokernels"], swiftSettings: hotPath),
        .target(name: "PetrelModel", dependencies: [
            "PetrelKernels", "COpenSSL",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: hotPath, linkerSettings: staticOpenSSL),
        // Pure codecs: Open Inference Protocol (REST JSON + binary extension, gRPC protobuf),
        // TF Serving REST, request validation against a signature. No I/O.
        .target(name: "PetrelProtocol", dependencies: [
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ], swiftSettings: hotPath),
        // HTTP/2 server and client: NIO channels feeding nghttp2 sessions, TLS through OpenSSL
        // memory BIOs with ALPN, HTTP/1.1 on the same port, gRPC framing.
        .target(name: "PetrelHTTP2", dependencies: [
            "CNGHTTP2", "COpenSSL",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "NIOHTTP1", package: "swift-nio"),
        ], swiftSettings: hotPath, linkerSettings: staticOpenSSL),
        // The registry of deployed functions: revisions, traffic, tags, API keys (SQLite via GRDB).
        .target(name: "PetrelRegistry", dependencies: [
            "COpenSSL",
            .product(name: "GRDB", package: "GRDB.swift"),
        ], linkerSettings: staticOpenSSL),
        // Serving: functions, the inference service behind the protocols, metrics and logs.
        .target(name: "PetrelRuntime", dependencies: [
            "PetrelModel", "PetrelKernels", "PetrelProtocol", "PetrelHTTP2", "PetrelRegistry",
            .product(name: "NIOCore", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "Yams", package: "Yams"),
            .product(name: "Histogram", package: "hdrhistogram-swift"),
        ], swiftSettings: hotPath),
        .executableTarget(name: "petrel", dependencies: [
            "PetrelModel", "PetrelKernels", "PetrelRuntime", "PetrelHTTP2", "PetrelProtocol", "PetrelRegistry",
            .product(name: "NIOPosix", package: "swift-nio"),
            .product(name: "Logging", package: "swift-log"),
            .product(name: "Metrics", package: "swift-metrics"),
            .product(name: "Prometheus", package: "swift-prometheus"),
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PetrelKernelsTests", dependencies: ["PetrelKernels"]),
        .testTarget(name: "PetrelModelTests", dependencies: ["PetrelModel"]),
        .testTarget(name: "PetrelProtocolTests", dependencies: ["PetrelProtocol"]),
        .testTarget(name: "PetrelHTTP2Tests", dependencies: ["PetrelHTTP2"]),
        .testTarget(name: "PetrelRegistryTests", dependencies: ["PetrelRegistry", .product(name: "GRDB", package: "GRDB.swift")]),
        .testTarget(name: "PetrelRuntimeTests", dependencies: ["PetrelRuntime", "PetrelRegistry"]),
        .testTarget(name: "PetrelCLITests", dependencies: ["PetrelModel"]),
    ],
    swiftLanguageModes: [.v5]
)
