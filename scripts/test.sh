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

echo "== reference functions (petrel check-onnx)"
$petrel check-onnx functions/digits-mlp functions/digits-cnn --atol 1e-4 --rtol 0
if [ -e functions/minilm/model.onnx ]; then
  $petrel check-onnx functions/minilm --atol 1e-3 --rtol 0
else
  echo "MiniLM skipped: functions/minilm/model.onnx is absent (scripts/link_minilm.sh)"
fi

echo "== ONNX node conformance cases for the ops Petrel claims"
cases=$(mktemp -d)
python3 scripts/gen-node-tests.py "$cases" >/dev/null
$petrel check-onnx "$cases" --skip-unsupported --quiet | tee /tmp/petrel-node-tests.log | tail -n 40
