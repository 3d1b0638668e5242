#!/usr/bin/env python3
"""Train two tiny digit classifiers and write them as Petrel functions with reference data.

Why this exists: Petrel's compiler and kernels need small, real, committed ONNX models whose
expected outputs are known, so tests need neither torch nor the network. The models are shaped the
way ``torch.onnx.export`` (opset 17, IR 8) lays out an nn.Sequential, so the importer sees the same
graphs it will meet in the wild:

* ``digits-mlp``: Gemm(transB=1)+Relu, Gemm(transB=1)+Relu, Gemm(transB=1), Softmax.
* ``digits-cnn``: Conv+BatchNormalization+Relu twice, MaxPool, Flatten, Gemm, Softmax. The
  BatchNormalization nodes are kept (not folded into Conv as torch's eval export would) and carry
  non-trivial scale/bias/mean/var, so that Petrel's BN-folding pass is genuinely exercised.

Output, per model, under ``functions/<name>/``: ``model.onnx``, ``function.yaml`` and
``test_data_set_{0,1,2}/`` (batch 1, 5, 64; ONNX backend-test layout, inputs from the held-out test
split, outputs computed by onnxruntime).

Determinism: everything is seeded and BLAS is pinned to one thread (set before numpy is imported),
so a re-run on the same machine and library versions writes byte-identical files. A different CPU
may pick a different BLAS kernel and round differently; the committed files are the reference.

Uses only numpy, scikit-learn, onnx and onnxruntime. Runs in a few seconds.
"""

import os

# Pin BLAS/OpenMP to one thread before numpy loads: multi-threaded reductions may split work
# differently from run to run, and these matrices are too small to gain from threads anyway.
for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import onnx  # noqa: E402
import onnxruntime as ort  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.model_selection import train_test_split  # noqa: E402

SEED = 20240601
OPSET = 17
IR_VERSION = 8
BN_EPS = 1e-5  # torch.nn.BatchNorm2d default
BN_MOMENTUM_ONNX = 0.9  # what torch exports for its momentum=0.1
REFERENCE_BATCHES = (1, 5, 64)  # test_data_set_0, _1, _2
MIN_ACCURACY = 0.95
ORT_TOLERANCE = 1e-5

REPO_ROOT = Path(__file__).resolve().parent.parent


# ----------------------------------------------------------------------------------------------
# Data
# ----------------------------------------------------------------------------------------------

def load_data():
    """Digits 8x8 scaled to [0,1], fixed stratified 75/25 split (1347 train / 450 test)."""
    digits = load_digits()
    x = (digits.data / 16.0).astype(np.float32)
    y = digits.target.astype(np.int64)
    return train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)


# ----------------------------------------------------------------------------------------------
# Small numpy building blocks
# ----------------------------------------------------------------------------------------------

class Adam:
    """Plain Adam over a dict of float32 arrays (updated in place)."""

    def __init__(self, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
        self.params, self.lr, self.b1, self.b2, self.eps = params, lr, b1, b2, eps
        self.m = {k: np.zeros_like(v) for k, v in params.items()}
        self.v = {k: np.zeros_like(v) for k, v in params.items()}
        self.t = 0

    def step(self, grads):
        self.t += 1
        c1 = 1.0 - self.b1 ** self.t
        c2 = 1.0 - self.b2 ** self.t
        for k, g in grads.items():
            m, v = self.m[k], self.v[k]
            m *= self.b1
            m += (1.0 - self.b1) * g
            v *= self.b2
            v += (1.0 - self.b2) * g * g
            self.params[k] -= (self.lr * (m / c1) / (np.sqrt(v / c2) + self.eps)).astype(np.float32)


def softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def xent_grad(logits, y):
    """Mean cross-entropy gradient w.r.t. logits."""
    p = softmax(logits)
    p[np.arange(len(y)), y] -= 1.0
    return (p / len(y)).astype(np.float32)


def he(rng, shape, fan_in):
    return (rng.standard_normal(shape) * np.sqrt(2.0 / fan_in)).astype(np.float32)


def torch_bias(rng, shape, fan_in):
    """torch's default bias init U(-1/sqrt(fan_in), 1/sqrt(fan_in)): gives non-zero biases."""
    b = 1.0 / np.sqrt(fan_in)
    return rng.uniform(-b, b, shape).astype(np.float32)


def batches(rng, n, size):
    order = rng.permutation(n)
    for i in range(0, n, size):
        yield order[i:i + size]


def accuracy(probs, y):
    return float((probs.argmax(axis=1) == y).mean())


# ----------------------------------------------------------------------------------------------
# digits-mlp
# ----------------------------------------------------------------------------------------------

def mlp_init(rng):
    # Weights stored as torch's nn.Linear stores them: [out, in]; hence Gemm(transB=1).
    return {
        "0.weight": he(rng, (256, 64), 64), "0.bias": torch_bias(rng, (256,), 64),
        "2.weight": he(rng, (128, 256), 256), "2.bias": torch_bias(rng, (128,), 256),
        "4.weight": he(rng, (10, 128), 128), "4.bias": torch_bias(rng, (10,), 128),
    }


def mlp_forward(p, x):
    """Returns logits and the activations backward needs."""
    h1 = np.maximum(x @ p["0.weight"].T + p["0.bias"], 0.0)
    h2 = np.maximum(h1 @ p["2.weight"].T + p["2.bias"], 0.0)
    return h2 @ p["4.weight"].T + p["4.bias"], (x, h1, h2)


def mlp_backward(p, cache, dz):
    x, h1, h2 = cache
    g = {"4.weight": dz.T @ h2, "4.bias": dz.sum(0)}
    d2 = (dz @ p["4.weight"]) * (h2 > 0)
    g["2.weight"], g["2.bias"] = d2.T @ h1, d2.sum(0)
    d1 = (d2 @ p["2.weight"]) * (h1 > 0)
    g["0.weight"], g["0.bias"] = d1.T @ x, d1.sum(0)
    return g


def train_mlp(x, y, rng, epochs=40, batch=32):
    p = mlp_init(rng)
    opt = Adam(p, lr=1e-3)
    for _ in range(epochs):
        for idx in batches(rng, len(x), batch):
            logits, cache = mlp_forward(p, x[idx])
            opt.step(mlp_backward(p, cache, xent_grad(logits, y[idx])))
    return p


def mlp_predict(p, x):
    return softmax(mlp_forward(p, x)[0])


def mlp_onnx(p):
    """The graph torch.onnx.export emits for Sequential(Linear, ReLU, Linear, ReLU, Linear, Softmax)."""
    nodes = [
        helper.make_node("Gemm", ["input", "0.weight", "0.bias"], ["/0/Gemm_output_0"],
                         name="/0/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/0/Gemm_output_0"], ["/1/Relu_output_0"], name="/1/Relu"),
        helper.make_node("Gemm", ["/1/Relu_output_0", "2.weight", "2.bias"], ["/2/Gemm_output_0"],
                         name="/2/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Relu", ["/2/Gemm_output_0"], ["/3/Relu_output_0"], name="/3/Relu"),
        helper.make_node("Gemm", ["/3/Relu_output_0", "4.weight", "4.bias"], ["/4/Gemm_output_0"],
                         name="/4/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["/4/Gemm_output_0"], ["probabilities"], name="/5/Softmax",
                         axis=-1),
    ]
    return make_model("digits-mlp", nodes, p, ["batch", 64])


# ----------------------------------------------------------------------------------------------
# digits-cnn (NHWC internally; converted to ONNX's NCHW/OIHW at export)
# ----------------------------------------------------------------------------------------------

def im2col3x3(x):
    """(N,H,W,C) -> (N*H*W, 9*C), pad 1, column order (kh, kw, c)."""
    n, h, w, c = x.shape
    xp = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    cols = np.stack([xp[:, i:i + h, j:j + w, :] for i in range(3) for j in range(3)], axis=3)
    return cols.reshape(n * h * w, 9 * c)


def col2im3x3(dcols, shape):
    """Adjoint of im2col3x3: scatter-add patch gradients back to the (unpadded) input."""
    n, h, w, c = shape
    d = dcols.reshape(n, h, w, 9, c)
    dxp = np.zeros((n, h + 2, w + 2, c), dtype=dcols.dtype)
    for k in range(9):
        i, j = divmod(k, 3)
        dxp[:, i:i + h, j:j + w, :] += d[:, :, :, k, :]
    return dxp[:, 1:-1, 1:-1, :]


def cnn_init(rng):
    p = {
        "c1.w": he(rng, (9 * 1, 16), 9), "c1.b": torch_bias(rng, (16,), 9),
        "c2.w": he(rng, (9 * 16, 32), 144), "c2.b": torch_bias(rng, (32,), 144),
        "fc.w": he(rng, (10, 512), 512), "fc.b": torch_bias(rng, (10,), 512),
    }
    # BN affine parameters start away from (1, 0) so the exported BN is far from an identity and
    # a folding pass that mishandles scale or shift shows up in the outputs.
    for name, ch in (("bn1", 16), ("bn2", 32)):
        p[name + ".g"] = rng.uniform(0.5, 1.5, ch).astype(np.float32)
        p[name + ".b"] = (0.1 * rng.standard_normal(ch)).astype(np.float32)
    return p


def maxpool2x2(y):
    """(N,8,8,C) -> (N,4,4,C) plus the argmax within each window, for backward."""
    n, h, w, c = y.shape
    win = y.reshape(n, h // 2, 2, w // 2, 2, c).transpose(0, 1, 3, 5, 2, 4).reshape(
        n, h // 2, w // 2, c, 4)
    arg = win.argmax(axis=-1)
    return np.take_along_axis(win, arg[..., None], axis=-1)[..., 0], arg


def maxpool2x2_backward(dout, arg, shape):
    n, h, w, c = shape
    dwin = np.zeros((n, h // 2, w // 2, c, 4), dtype=dout.dtype)
    np.put_along_axis(dwin, arg[..., None], dout[..., None], axis=-1)
    return dwin.reshape(n, h // 2, w // 2, c, 2, 2).transpose(0, 1, 4, 2, 5, 3).reshape(shape)


def cnn_forward(p, x, train, stats=None):
    """x: (N,64) -> logits. train=True normalises with batch statistics (torch's train mode);
    otherwise with `stats` = {bn: (mean, var)} (eval mode, what the ONNX graph computes)."""
    n = x.shape[0]
    a = x.reshape(n, 8, 8, 1)
    cache = {}
    batch_stats = {}
    for conv, bn in (("c1", "bn1"), ("c2", "bn2")):
        cols = im2col3x3(a)
        z = (cols @ p[conv + ".w"] + p[conv + ".b"])  # (N*64, C_out)
        if train:
            mean, var = z.mean(0), z.var(0)
        else:
            mean, var = stats[bn]
        batch_stats[bn] = (mean, var)
        inv = 1.0 / np.sqrt(var + BN_EPS)
        zhat = (z - mean) * inv
        r = np.maximum(zhat * p[bn + ".g"] + p[bn + ".b"], 0.0)
        cache[conv] = (a.shape, cols, zhat, inv, r)
        a = r.reshape(n, 8, 8, -1)
    pooled, arg = maxpool2x2(a)
    flat = pooled.transpose(0, 3, 1, 2).reshape(n, 512)  # torch's Flatten of NCHW
    logits = flat @ p["fc.w"].T + p["fc.b"]
    cache["pool"] = (a.shape, arg, flat)
    return logits, cache, batch_stats


def cnn_backward(p, cache, dz):
    g = {}
    shape, arg, flat = cache["pool"]
    n = shape[0]
    g["fc.w"], g["fc.b"] = dz.T @ flat, dz.sum(0)
    dflat = dz @ p["fc.w"]
    dpooled = dflat.reshape(n, 32, 4, 4).transpose(0, 2, 3, 1)
    da = maxpool2x2_backward(dpooled, arg, shape)
    for conv, bn in (("c2", "bn2"), ("c1", "bn1")):
        in_shape, cols, zhat, inv, r = cache[conv]
        dr = da.reshape(r.shape) * (r > 0)
        g[bn + ".g"] = (dr * zhat).sum(0)
        g[bn + ".b"] = dr.sum(0)
        dzhat = dr * p[bn + ".g"]
        m = dzhat.shape[0]
        # Batch-norm backward through batch statistics.
        dz_ = inv / m * (m * dzhat - dzhat.sum(0) - zhat * (dzhat * zhat).sum(0))
        g[conv + ".w"], g[conv + ".b"] = cols.T @ dz_, dz_.sum(0)
        if conv == "c2":
            da = col2im3x3(dz_ @ p[conv + ".w"].T, in_shape)
    return g


def train_cnn(x, y, rng, epochs=12, batch=32):
    p = cnn_init(rng)
    opt = Adam(p, lr=2e-3)
    for _ in range(epochs):
        for idx in batches(rng, len(x), batch):
            logits, cache, _ = cnn_forward(p, x[idx], train=True)
            opt.step(cnn_backward(p, cache, xent_grad(logits, y[idx])))
    return p, calibrate_bn(p, x)


def calibrate_bn(p, x):
    """Population mean/var for eval mode, layer by layer over the whole training set.

    Exact statistics rather than torch's momentum average: deterministic, and they match the
    trained weights precisely. Layer 2's statistics are taken with layer 1 already in eval mode.
    The variance is the unbiased one, as torch stores in running_var."""
    stats = {}
    n = x.shape[0]
    a = x.reshape(n, 8, 8, 1)
    for conv, bn in (("c1", "bn1"), ("c2", "bn2")):
        z = im2col3x3(a).astype(np.float64) @ p[conv + ".w"] + p[conv + ".b"]
        mean, var = z.mean(0), z.var(0, ddof=1)
        stats[bn] = (mean.astype(np.float32), var.astype(np.float32))
        zhat = (z - mean) / np.sqrt(var + BN_EPS)
        a = np.maximum(zhat * p[bn + ".g"] + p[bn + ".b"], 0.0).astype(np.float32).reshape(n, 8, 8, -1)
    return stats


def cnn_predict(p, stats, x):
    return softmax(cnn_forward(p, x, train=False, stats=stats)[0])


def cnn_onnx(p, stats):
    """The graph torch.onnx.export emits (BN unfused) for Sequential(Conv2d, BatchNorm2d, ReLU,
    Conv2d, BatchNorm2d, ReLU, MaxPool2d(2), Flatten, Linear, Softmax)."""
    def oihw(wmat, c_in):  # (kh, kw, c_in) x out  ->  out, c_in, kh, kw
        return np.ascontiguousarray(wmat.reshape(3, 3, c_in, -1).transpose(3, 2, 0, 1))

    init = {
        "0.weight": oihw(p["c1.w"], 1), "0.bias": p["c1.b"],
        "1.weight": p["bn1.g"], "1.bias": p["bn1.b"],
        "1.running_mean": stats["bn1"][0], "1.running_var": stats["bn1"][1],
        "3.weight": oihw(p["c2.w"], 16), "3.bias": p["c2.b"],
        "4.weight": p["bn2.g"], "4.bias": p["bn2.b"],
        "4.running_mean": stats["bn2"][0], "4.running_var": stats["bn2"][1],
        "8.weight": p["fc.w"], "8.bias": p["fc.b"],
    }
    conv = dict(dilations=[1, 1], group=1, kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[1, 1])
    nodes = []
    prev = "input"
    for ci, bi, ri in ((0, 1, 2), (3, 4, 5)):
        nodes += [
            helper.make_node("Conv", [prev, f"{ci}.weight", f"{ci}.bias"], [f"/{ci}/Conv_output_0"],
                             name=f"/{ci}/Conv", **conv),
            helper.make_node("BatchNormalization",
                             [f"/{ci}/Conv_output_0", f"{bi}.weight", f"{bi}.bias",
                              f"{bi}.running_mean", f"{bi}.running_var"],
                             [f"/{bi}/BatchNormalization_output_0"], name=f"/{bi}/BatchNormalization",
                             epsilon=BN_EPS, momentum=BN_MOMENTUM_ONNX),
            helper.make_node("Relu", [f"/{bi}/BatchNormalization_output_0"], [f"/{ri}/Relu_output_0"],
                             name=f"/{ri}/Relu"),
        ]
        prev = f"/{ri}/Relu_output_0"
    nodes += [
        helper.make_node("MaxPool", [prev], ["/6/MaxPool_output_0"], name="/6/MaxPool",
                         ceil_mode=0, kernel_shape=[2, 2], pads=[0, 0, 0, 0], strides=[2, 2]),
        helper.make_node("Flatten", ["/6/MaxPool_output_0"], ["/7/Flatten_output_0"],
                         name="/7/Flatten", axis=1),
        helper.make_node("Gemm", ["/7/Flatten_output_0", "8.weight", "8.bias"], ["/8/Gemm_output_0"],
                         name="/8/Gemm", alpha=1.0, beta=1.0, transB=1),
        helper.make_node("Softmax", ["/8/Gemm_output_0"], ["probabilities"], name="/9/Softmax",
                         axis=-1),
    ]
    return make_model("digits-cnn", nodes, init, ["batch", 1, 8, 8])


# ----------------------------------------------------------------------------------------------
# ONNX export, checks, reference data
# ----------------------------------------------------------------------------------------------

def make_model(name, nodes, weights, input_shape):
    inits = [numpy_helper.from_array(np.asarray(v, dtype=np.float32), k) for k, v in weights.items()]
    graph = helper.make_graph(
        nodes, name.replace("-", "_"),
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, input_shape)],
        [helper.make_tensor_value_info("probabilities", TensorProto.FLOAT, ["batch", 10])],
        initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="petrel-scripts-train_digits", producer_version="1")
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def ort_session(model):
    """Single-threaded so that the reference outputs do not depend on the thread count."""
    so = ort.SessionOptions()
    so.intra_op_num_threads = 1
    so.inter_op_num_threads = 1
    return ort.InferenceSession(model.SerializeToString(), so, providers=["CPUExecutionProvider"])


def check_against_ort(name, model, x_model, numpy_probs):
    got = ort_session(model).run(["probabilities"], {"input": x_model})[0]
    err = float(np.max(np.abs(got - numpy_probs)))
    print(f"  {name}: max |onnxruntime - numpy| = {err:.2e}")
    if err > ORT_TOLERANCE:
        sys.exit(f"{name}: onnxruntime and the numpy forward differ by {err} > {ORT_TOLERANCE}")


FUNCTION_YAML = """\
name: {name}
description: {description}
model: model.onnx
inputs:
  - name: input
    datatype: FP32
    shape: [{in_shape}]
outputs:
  - name: probabilities
    datatype: FP32
    shape: [-1, 10]
"""


def write_function(out_dir, name, description, model, x_test_model, in_shape):
    d = out_dir / name
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.onnx").write_bytes(model.SerializeToString())
    (d / "function.yaml").write_text(FUNCTION_YAML.format(
        name=name, description=description, in_shape=", ".join(map(str, in_shape))))
    sess = ort_session(model)
    start = 0
    for i, b in enumerate(REFERENCE_BATCHES):  # disjoint slices of the test split
        x = np.ascontiguousarray(x_test_model[start:start + b])
        start += b
        y = sess.run(["probabilities"], {"input": x})[0]
        s = d / f"test_data_set_{i}"
        s.mkdir(exist_ok=True)
        (s / "input_0.pb").write_bytes(numpy_helper.from_array(x, "input").SerializeToString())
        (s / "output_0.pb").write_bytes(numpy_helper.from_array(y, "probabilities").SerializeToString())
    print(f"  wrote {d.relative_to(REPO_ROOT) if d.is_relative_to(REPO_ROOT) else d}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "functions",
                    help="where functions/<name>/ go (default: the repo's functions/)")
    args = ap.parse_args()

    t0 = time.perf_counter()
    x_train, x_test, y_train, y_test = load_data()
    print(f"digits: {len(x_train)} train / {len(x_test)} test")
    failures = []

    # digits-mlp
    p = train_mlp(x_train, y_train, np.random.default_rng(SEED))
    probs = mlp_predict(p, x_test)
    acc = accuracy(probs, y_test)
    print(f"digits-mlp: test accuracy {acc:.4f}  ({time.perf_counter() - t0:.1f}s)")
    model = mlp_onnx(p)
    check_against_ort("digits-mlp", model, x_test, probs)
    write_function(args.out_dir, "digits-mlp",
                   "MLP 64-256-128-10 (ReLU) on scikit-learn's 8x8 digits; softmax probabilities.",
                   model, x_test, [-1, 64])
    if acc <= MIN_ACCURACY:
        failures.append(f"digits-mlp accuracy {acc:.4f} <= {MIN_ACCURACY}")

    # digits-cnn
    t1 = time.perf_counter()
    p, stats = train_cnn(x_train, y_train, np.random.default_rng(SEED + 1))
    probs = cnn_predict(p, stats, x_test)
    acc = accuracy(probs, y_test)
    print(f"digits-cnn: test accuracy {acc:.4f}  ({time.perf_counter() - t1:.1f}s)")
    model = cnn_onnx(p, stats)
    x_test_nchw = x_test.reshape(-1, 1, 8, 8)
    check_against_ort("digits-cnn", model, x_test_nchw, probs)
    write_function(args.out_dir, "digits-cnn",
                   "Conv-BN-ReLU x2, MaxPool, Linear on scikit-learn's 8x8 digits; BatchNormalization "
                   "left unfused; softmax probabilities.",
                   model, x_test_nchw, [-1, 1, 8, 8])
    if acc <= MIN_ACCURACY:
        failures.append(f"digits-cnn accuracy {acc:.4f} <= {MIN_ACCURACY}")

    print(f"done in {time.perf_counter() - t0:.1f}s")
    if failures:
        sys.exit("; ".join(failures))


if __name__ == "__main__":
    main()
