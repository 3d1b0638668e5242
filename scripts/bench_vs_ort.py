#!/usr/bin/env python3
"""Benchmark Petrel against onnxruntime on the same machine, in one run, row by row.

Why one script: a ratio is only meaningful when both sides run on the same machine, at the same
moment, with the same thread budget. Each row (model, batch, seq, threads) is timed by onnxruntime
in-process and then by ``petrel bench model`` as a subprocess; the ORT session is destroyed
before Petrel starts, so ORT's spinning worker threads cannot steal Petrel's cores.

Petrel's side of the contract (one JSON object on stdout):
    petrel bench model MODEL.onnx --batch B [--seq S] --threads T --json
        -> {"p50_ms", "p90_ms", "p99_ms", "throughput_per_s", "iterations"}
    petrel bench sgemm --sizes 256,1024,4096 --threads 1 --json
        -> {"peak_gflops", "threads", "isa", "results": [{"size", "gflops", "percent_of_peak"}]}
``--seq`` is passed only to models with a sequence axis (minilm).

Targets: Petrel/ORT p50 <= 1.0 on every row, <= 0.5 for the digits models at batch 1;
SGEMM >= 85 % of peak single-threaded at 1024^3.

Writes bench-results/bench.json (raw numbers) and bench-results/bench.md (the tables).
``--ort-only`` times just onnxruntime (no petrel binary needed).
"""

import argparse
import fnmatch
import gc
import json
import os
import platform
import shlex
import statistics
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import onnxruntime as ort

REPO_ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = REPO_ROOT / "functions"

# (model, batch, seq); each runs at every thread count in THREADS.
ROWS = [
    ("digits-mlp", 1, None),
    ("digits-mlp", 256, None),
    ("digits-cnn", 1, None),
    ("digits-cnn", 64, None),
    ("minilm", 1, 128),
    ("minilm", 8, 128),
]
THREADS = (1, 2)
SGEMM_SIZES = (256, 1024, 4096)
MIN_ITERATIONS = 20
MAX_ITERATIONS = 200_000  # bounds a row even if a model runs in microseconds
RATIO_TARGET = 1.0
RATIO_TARGET_DIGITS_B1 = 0.5
SGEMM_TARGET_SIZE, SGEMM_TARGET_PERCENT = 1024, 85.0


class BenchError(SystemExit):
    """Fatal, with a message for the user (no traceback)."""


def ratio_target(model, batch):
    return RATIO_TARGET_DIGITS_B1 if model.startswith("digits-") and batch == 1 else RATIO_TARGET


def parse_row_filters(spec):
    """'digits-*:1,minilm:8:2' -> [(glob, batch|None, threads|None), ...]."""
    filters = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        fields = part.split(":")
        if len(fields) > 3:
            raise BenchError(f"--rows: '{part}' is not MODEL[:BATCH[:THREADS]]")
        try:
            nums = [int(f) if f not in ("", "*") else None for f in fields[1:]]
        except ValueError:
            raise BenchError(f"--rows: '{part}': BATCH and THREADS must be integers or *")
        nums += [None] * (2 - len(nums))
        filters.append((fields[0] or "*", nums[0], nums[1]))
    return filters


def selected_rows(filters):
    rows = [(m, b, s, t) for (m, b, s) in ROWS for t in THREADS]
    if not filters:
        return rows
    return [r for r in rows
            if any(fnmatch.fnmatchcase(r[0], g) and bb in (None, r[1]) and tt in (None, r[3])
                   for g, bb, tt in filters)]


def make_feeds(sess, model, batch, seq, rng):
    """Random inputs of the right shape and dtype; token ids from the ordinary-word range."""
    if model == "minilm":
        return {
            "input_ids": rng.integers(1000, 30000, size=(batch, seq), dtype=np.int64),
            "attention_mask": np.ones((batch, seq), dtype=np.int64),
            "token_type_ids": np.zeros((batch, seq), dtype=np.int64),
        }
    (inp,) = sess.get_inputs()
    shape = [batch] + [int(d) for d in inp.shape[1:]]
    return {inp.name: rng.random(shape, dtype=np.float32)}


def percentile(sorted_ms, q):
    return float(np.percentile(sorted_ms, q))


def time_ort(model_path, model, batch, seq, threads, budget_s, seed):
    so = ort.SessionOptions()
    so.intra_op_num_threads = threads
    so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    sess = ort.InferenceSession(str(model_path), so, providers=["CPUExecutionProvider"])
    feeds = make_feeds(sess, model, batch, seq, np.random.default_rng(seed))
    outputs = [o.name for o in sess.get_outputs()]

    # Warm-up: first runs allocate arenas and fault in pages; spend ~10 % of the budget on it.
    warm_end = time.perf_counter() + 0.1 * budget_s
    for i in range(MAX_ITERATIONS):
        sess.run(outputs, feeds)
        if i >= 4 and time.perf_counter() >= warm_end:
            break

    times_ms = []
    end = time.perf_counter() + budget_s
    while len(times_ms) < MAX_ITERATIONS:
        t0 = time.perf_counter_ns()
        sess.run(outputs, feeds)
        times_ms.append((time.perf_counter_ns() - t0) / 1e6)
        if len(times_ms) >= MIN_ITERATIONS and time.perf_counter() >= end:
            break
    del sess  # ends ORT's thread pool before Petrel runs
    gc.collect()
    times_ms.sort()
    p50 = statistics.median(times_ms)
    return {
        "p50_ms": p50,
        "p90_ms": percentile(times_ms, 90),
        "p99_ms": percentile(times_ms, 99),
        "mean_ms": statistics.fmean(times_ms),
        "throughput_per_s": batch * 1000.0 / p50,
        "iterations": len(times_ms),
    }


def run_petrel(petrel, args, required_keys, timeout_s):
    """Run petrel with --json; return its JSON object or fail naming the exact command."""
    cmd = [str(petrel)] + [str(a) for a in args]
    shown = " ".join(shlex.quote(c) for c in cmd)
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, cwd=REPO_ROOT)
    except FileNotFoundError:
        raise BenchError(f"cannot execute '{cmd[0]}' (command: {shown})")
    except subprocess.TimeoutExpired:
        raise BenchError(f"petrel did not finish in {timeout_s:.0f} s: {shown}")
    if proc.returncode != 0:
        raise BenchError(f"petrel failed (exit {proc.returncode}): {shown}\n"
                         f"--- stderr ---\n{proc.stderr.strip()[-4000:]}")
    out = proc.stdout.strip()
    data = None
    for candidate in (out, out.splitlines()[-1] if out else ""):  # tolerate log lines before it
        try:
            data = json.loads(candidate)
            break
        except json.JSONDecodeError:
            continue
    if not isinstance(data, dict):
        raise BenchError(f"petrel printed no JSON object: {shown}\n--- stdout ---\n{out[-2000:]}")
    missing = [k for k in required_keys if k not in data]
    if missing:
        raise BenchError(f"petrel's JSON lacks {missing}: {shown}\n{out[-2000:]}")
    return data


def petrel_model_args(model_path, batch, seq, threads, seconds):
    """The same time budget as ORT's side of the row."""
    args = ["bench", "model", model_path, "--batch", batch]
    if seq is not None:
        args += ["--seq", seq]
    return args + ["--threads", threads, "--seconds", seconds, "--json"]


def fmt(x, nd=3):
    return "—" if x is None else f"{x:.{nd}f}"


def markdown(meta, rows, sgemm, ort_only):
    lines = [
        "# Petrel vs onnxruntime",
        "",
        f"{meta['date']} · {meta['cpu']} · {meta['cores']} cores · onnxruntime {meta['onnxruntime']}"
        f" · {meta['time_per_row_s']:g} s per row per runtime, {meta.get('rounds', 1)} paired rounds"
        f" · load average (1 min) "
        f"{meta['loadavg_start'][0]:.2f} at start, {meta['loadavg_end'][0]:.2f} at end",
        "",
        "Petrel/ORT is the median over rounds of each round's ratio (an ORT and a Petrel measurement"
        " taken back to back); the p50 columns are each runtime's fastest round.",
        "",
        "| model | batch | seq | threads | ORT p50 ms | Petrel p50 ms | Petrel/ORT | rounds | target |",
        "|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in rows:
        ratio = r.get("ratio")
        if ratio is None:
            verdict = "n/a (ORT only)" if ort_only else "n/a"
        else:
            verdict = f"≤ {r['target_ratio']:g}: " + ("met" if r["target_met"] else "**missed**")
        lines.append(f"| {r['model']} | {r['batch']} | {r['seq'] if r['seq'] else '—'} | "
                     f"{r['threads']} | {fmt(r['ort']['p50_ms'])} | "
                     f"{fmt(r['petrel']['p50_ms'] if r.get('petrel') else None)} | "
                     f"{fmt(ratio, 2)} | {' '.join(fmt(x.get('ratio'), 2) for x in r['rounds'])} | {verdict} |")
    for s in meta.get("skipped", []):
        lines.append(f"\nSkipped: {s}")
    lines.append("")
    if sgemm:
        lines += [
            f"## SGEMM (Petrel, {sgemm.get('threads')} thread(s), ISA {sgemm.get('isa')}, "
            f"peak {fmt(sgemm.get('peak_gflops'), 1)} GFLOP/s)",
            "",
            "| size | GFLOP/s | % of peak | target |",
            "|---:|---:|---:|---|",
        ]
        for res in sgemm.get("results", []):
            target = "—"
            if res.get("size") == SGEMM_TARGET_SIZE:
                ok = res.get("percent_of_peak", 0) >= SGEMM_TARGET_PERCENT
                target = f"≥ {SGEMM_TARGET_PERCENT:g} %: " + ("met" if ok else "**missed**")
            lines.append(f"| {res.get('size')}³ | {fmt(res.get('gflops'), 1)} | "
                         f"{fmt(res.get('percent_of_peak'), 1)} | {target} |")
        lines.append("")
    elif not ort_only:
        lines += ["SGEMM: not run.", ""]
    return "\n".join(lines)


def cpu_name():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Rows: " + ", ".join(
                                     f"{m} b{b}" + (f" s{s}" if s else "") for m, b, s in ROWS)
                                 + f"; threads {THREADS}.")
    ap.add_argument("--petrel", type=Path, default=REPO_ROOT / ".build" / "release" / "petrel",
                    help="petrel binary (default: .build/release/petrel)")
    ap.add_argument("--ort-only", action="store_true", help="time onnxruntime only")
    ap.add_argument("--rows", default="",
                    help="comma-separated filters MODEL[:BATCH[:THREADS]], MODEL may be a glob; "
                         "e.g. 'digits-*:1' or 'minilm:8:2'")
    ap.add_argument("--time-per-row", type=float, default=1.0,
                    help="seconds of timed ORT iterations per row (at least %d runs)" % MIN_ITERATIONS)
    ap.add_argument("--rounds", type=int, default=9,
                    help="rounds per row, each an ORT and a Petrel measurement back to back; the row's ratio is the median of the rounds' ratios")
    ap.add_argument("--no-sgemm", action="store_true", help="skip 'petrel bench sgemm'")
    ap.add_argument("--out-dir", type=Path, default=REPO_ROOT / "bench-results")
    ap.add_argument("--seed", type=int, default=0, help="seed of the random ORT inputs")
    args = ap.parse_args()

    rows = selected_rows(parse_row_filters(args.rows))
    if not rows:
        raise BenchError(f"--rows '{args.rows}' matches no row")
    petrel = args.petrel if args.petrel.is_absolute() else (Path.cwd() / args.petrel)
    if not args.ort_only and not petrel.is_file():
        raise BenchError(f"petrel binary not found at {petrel}: build it "
                         "(swift build -c release), pass --petrel PATH, or use --ort-only")

    skipped = []
    for name in sorted({r[0] for r in rows}):
        if not (FUNCTIONS / name / "model.onnx").exists():
            if name == "minilm":
                msg = ("minilm rows: functions/minilm/model.onnx is absent "
                       "(run scripts/link_minilm.sh)")
            else:
                raise BenchError(f"functions/{name}/model.onnx is absent "
                                 "(run scripts/train_digits.py)")
            print(f"skipping {msg}", file=sys.stderr)
            skipped.append(msg)
            rows = [r for r in rows if r[0] != name]
    if not rows:
        raise BenchError("no rows left to run: " + "; ".join(skipped))

    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "host": platform.node(),
        "cpu": cpu_name(),
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "onnxruntime": ort.__version__,
        "petrel": None if args.ort_only else str(petrel),
        "ort_only": args.ort_only,
        "time_per_row_s": args.time_per_row,
        "rounds": args.rounds,
        "min_iterations": MIN_ITERATIONS,
        "skipped": skipped,
        # Other processes on the machine skew a 2-core benchmark: keep the evidence with the numbers.
        "loadavg_start": list(os.getloadavg()),
    }
    timeout_s = 60 + 20 * args.time_per_row

    results, sgemm = [], None
    try:
        sgemm = run_rows(args, petrel, rows, results, timeout_s)
    except BenchError:
        save(args, meta, results, sgemm, partial=True)  # keep what was measured
        raise
    print(save(args, meta, results, sgemm))


def run_rows(args, petrel, rows, results, timeout_s):
    """Times every row (appending to results), then SGEMM; returns petrel's SGEMM JSON or None.

    This machine is a VM whose speed swings by up to 30 % from minute to minute (neighbours on the
    host), so each row runs ``--rounds`` rounds, each an ORT and a Petrel measurement back to back
    (which goes first alternates from round to round, so a steady drift favours neither). A round's
    ratio compares two measurements taken seconds apart; the row's ratio is the median of its
    rounds' ratios. Each runtime's fastest round is reported too, but a ratio of fastest rounds
    compares moments that can lie a slow phase apart: one side's best from before it began, the
    other's from inside it."""
    for model, batch, seq, threads in rows:
        path = FUNCTIONS / model / "model.onnx"
        label = f"{model} batch {batch}" + (f" seq {seq}" if seq else "") + f" threads {threads}"
        print(f"{label:36s}", end="", flush=True, file=sys.stderr)
        row = {"model": model, "batch": batch, "seq": seq, "threads": threads,
               "target_ratio": ratio_target(model, batch), "rounds": []}
        rel = os.path.relpath(path, REPO_ROOT)
        for i in range(args.rounds):
            rnd = {}
            order = ("ort", "petrel") if i % 2 == 0 else ("petrel", "ort")
            for side in order:
                if side == "ort":
                    rnd["ort"] = time_ort(path, model, batch, seq, threads, args.time_per_row, args.seed)
                elif not args.ort_only:
                    rnd["petrel"] = run_petrel(petrel, petrel_model_args(rel, batch, seq, threads, args.time_per_row),
                                               ("p50_ms", "p90_ms", "p99_ms", "throughput_per_s", "iterations"),
                                               timeout_s)
            if "petrel" in rnd:
                rnd["ratio"] = rnd["petrel"]["p50_ms"] / rnd["ort"]["p50_ms"]
            row["rounds"].append(rnd)
        row["ort"] = min((r["ort"] for r in row["rounds"]), key=lambda x: x["p50_ms"])
        print(f" ORT p50 {row['ort']['p50_ms']:.4f} ms", end="", flush=True, file=sys.stderr)
        if not args.ort_only:
            p = min((r["petrel"] for r in row["rounds"]), key=lambda x: x["p50_ms"])
            row["petrel"] = p
            row["best_ratio"] = p["p50_ms"] / row["ort"]["p50_ms"]
            row["ratio"] = statistics.median(r["ratio"] for r in row["rounds"])
            row["target_met"] = row["ratio"] <= row["target_ratio"]
            rounds = " ".join(f"{r['ratio']:.2f}" for r in row["rounds"])
            print(f" | Petrel p50 {p['p50_ms']:.4f} ms | ratio {row['ratio']:.2f} (rounds {rounds})", end="",
                  file=sys.stderr)
        print(file=sys.stderr)
        results.append(row)

    sgemm = None
    if not args.ort_only and not args.no_sgemm:
        print("petrel bench sgemm ...", file=sys.stderr)
        runs = [run_petrel(petrel, ["bench", "sgemm", "--sizes", ",".join(map(str, SGEMM_SIZES)),
                                    "--threads", 1, "--json"],
                           ("peak_gflops", "threads", "isa", "results"), timeout_s * 4)
                for _ in range(args.rounds)]
        # Best round per size, against the highest peak any round measured: a round whose peak
        # measurement fell in a slow moment would otherwise report over 100 %.
        sgemm = dict(runs[0])
        sgemm["peak_gflops"] = max(run.get("peak_gflops", 0) for run in runs)
        best = []
        for size in SGEMM_SIZES:
            r = dict(max((r for run in runs for r in run.get("results", []) if r.get("size") == size),
                         key=lambda r: r.get("gflops", 0)))
            if sgemm["peak_gflops"] > 0:
                r["percent_of_peak"] = 100 * r.get("gflops", 0) / sgemm["peak_gflops"]
            best.append(r)
        sgemm["results"] = best
        sgemm["rounds"] = runs
        for res in sgemm["results"]:
            if res.get("size") == SGEMM_TARGET_SIZE:
                sgemm["target_met"] = res.get("percent_of_peak", 0) >= SGEMM_TARGET_PERCENT

    return sgemm


def save(args, meta, results, sgemm, partial=False):
    """Write bench.json and bench.md; returns the Markdown."""
    meta["loadavg_end"] = list(os.getloadavg())
    meta["partial"] = partial
    md = markdown(meta, results, sgemm, args.ort_only)
    if partial:
        md += "\n**Partial results: the run stopped on an error.**\n"
    args.out_dir.mkdir(parents=True, exist_ok=True)
    (args.out_dir / "bench.json").write_text(
        json.dumps({"meta": meta, "rows": results, "sgemm": sgemm}, indent=2) + "\n")
    (args.out_dir / "bench.md").write_text(md)
    print(f"wrote {args.out_dir / 'bench.json'} and {args.out_dir / 'bench.md'}"
          + (" (partial)" if partial else ""), file=sys.stderr)
    return md


if __name__ == "__main__":
    try:
        main()
    except BenchError as e:
        print(f"\nbench_vs_ort.py: {e.code}", file=sys.stderr)
        sys.exit(1)
