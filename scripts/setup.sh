#!/usr/bin/env bash
# Installs what Petrel needs on Debian 12 (system libraries, Python tooling for tests and benchmarks),
# links the MiniLM model from ../shared when it is there, and builds petrel in release mode.
# Idempotent: re-running it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
for pkg in libssl-dev libnghttp2-dev libsqlite3-dev pkg-config protobuf-compiler nghttp2-client nghttp2-server curl; do
  dpkg -s "$pkg" >/dev/null 2>&1 || need_apt+=("$pkg")
done
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: installing ${need_apt[*]}"
  SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! python3 -c "import onnx, onnxruntime, numpy, sklearn, grpc, grpc_tools, tritonclient.grpc, tritonclient.http, h2, pytest" >/dev/null 2>&1; then
  echo "setup: installing Python tooling (scripts/requirements-dev.txt)"
  python3 -m pip install -q -r scripts/requirements-dev.txt
fi

bash scripts/link_minilm.sh || echo "setup: MiniLM is absent; its tests will say so (scripts/link_minilm.sh --build rebuilds it)"

echo "setup: building petrel (release, Swift runtime and Foundation linked statically)"
# Static linking is for cold starts: a worker process reaches main() in ~5 ms instead of ~12 ms
# (measured: the dynamic loader and library initialisers of libFoundation/ICU dominate).
swift build -c release --product petrel --static-swift-stdlib
echo "setup: done: $(pwd)/.build/release/petrel"
