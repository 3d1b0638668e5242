#!/usr/bin/env bash
# Regenerates the committed Swift for Protos/*.proto (messages only: no gRPC service stubs). Run by
# hand after editing a .proto; builds and tests never run it (protoc-gen-swift takes minutes to build on 2 cores).
# Needs: protoc (apt: protobuf-compiler) and protoc-gen-swift built from swift-protobuf at the version
# Package.swift names:
#   git clone https://github.com/apple/swift-protobuf /tmp/sp && git -C /tmp/sp checkout 1.39.0 &&
#   (cd /tmp/sp && swift build -c release --product protoc-gen-swift)
# then PROTOC_GEN_SWIFT=/tmp/sp/.build/release/protoc-gen-swift scripts/gen-proto.sh
set -euo pipefail
cd "$(dirname "$0")/.."
plugin=${PROTOC_GEN_SWIFT:-$(command -v protoc-gen-swift || true)}
[ -x "$plugin" ] || { echo "gen-proto: protoc-gen-swift not found; set PROTOC_GEN_SWIFT (see this script's header)" >&2; exit 1; }
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Internal \
  --swift_out=Sources/PetrelModel/ONNX -I Protos Protos/onnx.proto Protos/petrel_artifact.proto
# The Open Inference Protocol messages are public: the runtime and the HTTP/2 layer use them.
mkdir -p Sources/PetrelProtocol/Generated
protoc --plugin=protoc-gen-swift="$plugin" --swift_opt=Visibility=Public \
  --swift_out=Sources/PetrelProtocol/Generated -I Protos Protos/grpc_predict_v2.proto
echo "generated Sources/PetrelModel/ONNX/*.pb.swift, Sources/PetrelProtocol/Generated/grpc_predict_v2.pb.swift"
