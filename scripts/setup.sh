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
# Linked for cold starts (every worker process is this binary; posix_spawn → main measured here):
# the static Swift runtime and Foundation skip the dynamic loader's work for them (~12 → ~6 ms);
# OpenSSL comes from its static archives (Package.swift, -1.5 ms); -no-pie skips the ~130,000
# relative relocations a PIE load applies before main (→ ~4 ms). -no-pie only with the static
# runtime: against the shared libswiftCore, ld.so warns about protected symbols on every start.
swift build -c release --product petrel --static-swift-stdlib -Xlinker -no-pie
echo "setup: done: $(pwd)/.build/release/petrel"
