// swift-tools-version:6.0
import PackageDescription

// Targets follow docs/DESIGN.md: arrows point down only.
// PetrelKernels has no dependencies; the innermost microkernels live in the C target
// CPetrelMicrokernels (one file per ISA, per-function target attributes, no global flags).
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
    ],
    targets: [
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl",
                       providers: [.apt(["libssl-dev"])]),
        .target(name: "CPetrelMicrokernels",
                cSettings: [.unsafeFlags(["-O3", "-ffp-contract=fast"])]),
        .target(name: "PetrelKernels", dependencies: ["CPetrelMicrokernels"]),
        .target(name: "PetrelModel", dependencies: [
            "PetrelKernels", "COpenSSL",
            .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        ]),
        .executableTarget(name: "petrel", dependencies: [
            "PetrelModel", "PetrelKernels",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .testTarget(name: "PetrelKernelsTests", dependencies: ["PetrelKernels"]),
        .testTarget(name: "PetrelModelTests", dependencies: ["PetrelModel"]),
        .testTarget(name: "PetrelCLITests", dependencies: ["PetrelModel"]),
    ],
    swiftLanguageModes: [.v5]
)
