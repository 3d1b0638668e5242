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

echo "setup: building petrel (release, one statically linked executable)"
# Linked for cold starts (every worker process is this binary; posix_spawn → main measured here):
# fully static (-static-executable: glibc, libstdc++, the Swift runtime, Foundation, OpenSSL,
# nghttp2 and SQLite from their archives), so no dynamic loader runs at all. posix_spawn → main:
# ~12 ms with shared libraries, ~4 ms with the static Swift runtime and OpenSSL and -no-pie, 3.4 ms
# without the ~27,000 symbols -static-stdlib exports, 1.3 ms fully static (a static C program: 0.6;
# the gateway's cold-start "main" phase, which adds its own spawn bookkeeping, reads ~1.7 ms).
# glibc's linker warnings about getaddrinfo/dlopen in static programs are filtered: those calls
# (host-name lookups, OpenSSL engines) load NSS modules of the same glibc at run time, which this
# machine has; Petrel's own addresses are numeric unless the user names a host.
swift build -c release --product petrel -Xswiftc -static-executable -Xlinker -no-pie 2>&1 \
  | { grep -v "in statically linked applications requires at runtime the shared libraries" || true; }
echo "setup: done: $(pwd)/.build/release/petrel"
