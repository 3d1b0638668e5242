#!/usr/bin/env bash
# The whole test suite: unit and end-to-end tests (swift test), the reference functions through the
# real binary, and the ONNX operator conformance cases generated offline from the onnx package.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh

echo "== swift test"
swift test 2>&1 | tee /tmp/petrel-swift-test.log | grep -vE '^(◇|􀟈)|started\.$'
grep -qE "Test run with [0-9]+ tests? .*passed|Executed [0-9]+ tests?, with 0 failures" /tmp/petrel-swift-test.log

petrel=.build/release/petrel
export PETREL_HOME="${PETREL_HOME:-$(mktemp -d)}"

echo "== end-to-end: petrel serve with real clients (curl, h2load, grpcio, tritonclient, raw HTTP/2 frames)"
PETREL_BIN="$PWD/$petrel" python3 -m pytest -q e2e

echo "== reference functions (petrel check-onnx)"
$petrel check-onnx functions/digits-mlp functions/digits-cnn --atol 1e-4 --rtol 0
if [ -e functions/minilm/model.onnx ]; then
  $petrel check-onnx functions/minilm --atol 1e-3 --rtol 0
else
  echo "MiniLM skipped: functions/minilm/model.onnx is absent (scripts/link_minilm.sh)"
fi

echo "== ONNX node conformance cases (onnx's operator tests, written offline by ../shared/tools)"
# Cases whose op or variant Petrel refuses at compile time are reported as skipped; any other
# failure fails the suite.
gen=../shared/tools/gen-onnx-node-tests.py
if [ -f "$gen" ]; then
  cases=$(mktemp -d)
  python3 "$gen" "$cases" 2>/dev/null
  status=0
  $petrel check-onnx "$cases" --skip-unsupported --quiet --threads 1 > /tmp/petrel-node-tests.log 2>&1 || status=$?
  grep -E '^FAIL' /tmp/petrel-node-tests.log | head -n 40 || true
  rm -rf "$cases"
  echo "node conformance: $(tail -n 1 /tmp/petrel-node-tests.log)"
  [ "$status" -eq 0 ] || exit "$status"
else
  echo "node conformance skipped: $gen not found"
fi
