"""`petrel serve` in its default, serverless mode: functions run in worker processes started on
demand (or claimed from the prewarm pool), scaled to zero when idle, replaced when they die."""
import concurrent.futures
import json
import os
import random
import re
import signal
import subprocess
import time

import pytest

from conftest import FUNCTIONS, Server, curl, reference
from test_rest import infer_body


def make_functions(tmp_path, scaling="scaling:\n  initialScale: 0\n", limits=""):
    """A functions folder with digits-mlp and digits-cnn under custom scaling/limits (by default
    starting at zero workers, so the first request is a cold start)."""
    root = tmp_path / "functions"
    for name, src in [("mlp", "digits-mlp"), ("cnn", "digits-cnn")]:
        d = root / name
        d.mkdir(parents=True)
        (d / "model.onnx").symlink_to(FUNCTIONS / src / "model.onnx")
        (d / "function.yaml").write_text(f"name: {name}\nmodel: model.onnx\n{scaling}{limits}")
    return root


def infer(server, function, body, *extra):
    code, out, err = curl("--http2-prior-knowledge", "-d", body, "-D", "-", "-H", "content-type: application/json",
                          *extra, f"{server.url}/v2/models/{function}/infer", timeout=60)
    text = out.decode(errors="replace")
    head, _, payload = text.partition("\r\n\r\n")
    status = int(head.split()[1]) if head.startswith("HTTP/") else 0
    headers = dict(l.split(": ", 1) for l in head.split("\r\n")[1:] if ": " in l)
    return status, headers, payload


def workers(server):
    _, out, _ = curl("--http2-prior-knowledge", f"{server.url}/metrics")
    counts = {}
    for m in re.finditer(r'petrel_workers\{function="([^"]+)",state="(\w+)"\} (\d+)', out.decode()):
        counts[(m.group(1), m.group(2))] = int(m.group(3))
    return counts


def slow_cnn_request(tmp_path, batch):
    """A digits-cnn request of `batch` rows (tens to hundreds of ms of work), as a file for curl."""
    inputs, _ = reference("digits-cnn")
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"inputs": [{"name": "input", "shape": [batch, 1, 8, 8], "datatype": "FP32",
                                           "data": inputs[0][1].flatten().tolist() * batch}]}))
    return big


def cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def wait_until_busy(pid, seconds=0.05, timeout=20):
    """Until worker `pid` has spent `seconds` more CPU (it is parsing or running a request just
    sent): a fixed sleep before killing it raced the request's end on a fast machine."""
    start, deadline = cpu_seconds(pid), time.time() + timeout
    while cpu_seconds(pid) - start < seconds:
        assert time.time() < deadline, "the worker never started on the request"
        time.sleep(0.002)


def wait_for(condition, seconds=20):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if condition():
            return True
        time.sleep(0.1)
    raise AssertionError("condition not reached in time")


def gateway_workers(server):
    """Every worker process of this gateway (their sockets live under run/<gateway pid>/)."""
    out = subprocess.run(["pgrep", "-f", f"petrel worker --socket .*/run/{server.proc.pid}/"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def worker_pids(function):
    out = subprocess.run(["pgrep", "-f", f"petrel worker .*--name {function}( |$)"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize("prewarm", ["0", "1"])
def test_cold_start_then_warm(prewarm, tmp_path):
    s = Server("--prewarm", prewarm, functions=make_functions(tmp_path), workers=True)
    try:
        if prewarm == "1":
            wait_for(lambda: "petrel_prewarm_idle_workers 1" in curl("--http2-prior-knowledge", f"{s.url}/metrics")[1].decode())
        body = infer_body("digits-mlp")
        status, headers, payload = infer(s, "mlp", body)
        assert status == 200, payload
        timing = headers.get("server-timing", "")
        assert "cold" in timing and "inference;dur=" in timing, headers
        assert ("prewarmed" in timing) == (prewarm == "1")
        status, headers, _ = infer(s, "mlp", body)
        assert status == 200 and "server-timing" not in headers
        _, out, _ = curl("--http2-prior-knowledge", f"{s.url}/metrics")
        text = out.decode()
        assert 'petrel_cold_starts_total{function="mlp"} 1' in text
        assert 'petrel_cold_start_seconds_count{function="mlp",phase="total"} 1' in text
        wait_for(lambda: workers(s).get(("mlp", "ready")) == 1 and workers(s).get(("cnn", "ready")) == 0)
        assert len(gateway_workers(s)) == 1 + int(prewarm)   # the prewarm pool refills
    finally:
        assert s.stop() == 0
    time.sleep(0.5)
    assert gateway_workers(s) == [], "workers outlived the gateway"


def test_grpc_through_the_gateway_reports_cold_start_in_trailers(tmp_path):
    from conftest import grpc_stubs
    import grpc
    s = Server("--prewarm", "0", functions=make_functions(tmp_path), workers=True)
    try:
        pb2, pb2g = grpc_stubs()
        ch = grpc.insecure_channel(s.address)
        stub = pb2g.GRPCInferenceServiceStub(ch)
        inputs, outputs = reference("digits-cnn")
        req = pb2.ModelInferRequest(model_name="cnn")
        req.inputs.add(name="input", datatype="FP32", shape=list(inputs[0][1].shape))
        req.raw_input_contents.append(inputs[0][1].astype("<f4").tobytes())
        resp, call = stub.ModelInfer.with_call(req)
        assert resp.outputs[0].name == "probabilities"
        assert any(k == "petrel-cold-start" for k, _ in call.trailing_metadata())
        with pytest.raises(grpc.RpcError) as e:
            stub.ModelInfer(pb2.ModelInferRequest(model_name="nope"))
        assert e.value.code() == grpc.StatusCode.NOT_FOUND
        ch.close()
    finally:
        assert s.stop() == 0


def test_killed_worker_gives_502_and_is_replaced(tmp_path):
    s = Server("--prewarm", "0", "--no-access-log", workers=True)
    try:
        big = slow_cnn_request(tmp_path, 30000)
        assert infer(s, "digits-cnn", infer_body("digits-cnn"))[0] == 200
        assert infer(s, "digits-mlp", infer_body("digits-mlp"))[0] == 200
        [pid] = worker_pids("digits-cnn")
        with concurrent.futures.ThreadPoolExecutor(1) as ex:
            slow = ex.submit(infer, s, "digits-cnn", f"@{big}")
            wait_until_busy(pid)
            os.kill(pid, signal.SIGKILL)
            status, _, payload = slow.result()
        assert status == 502, payload
        assert "worker" in json.loads(payload)["error"]
        # The other function never noticed; the killed one gets a new worker.
        assert infer(s, "digits-mlp", infer_body("digits-mlp"))[0] == 200
        status, headers, _ = infer(s, "digits-cnn", infer_body("digits-cnn"))
        assert status == 200 and "cold" in headers.get("server-timing", "")
        assert worker_pids("digits-cnn") != [pid]
    finally:
        assert s.stop() == 0


def gateway_connections(pid):
    """Connections accepted on worker `pid`'s socket: its socket fds that /proc/net/unix lists as
    connected (state 03) under a socket path."""
    fds = {os.readlink(f"/proc/{pid}/fd/{f}") for f in os.listdir(f"/proc/{pid}/fd")}
    n = 0
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            cols = line.split()
            if len(cols) >= 8 and cols[5] == "03" and f"socket:[{cols[6]}]" in fds:
                n += 1
    return n


@pytest.mark.parametrize("prewarm", ["0", "1"])
def test_two_gateway_loops_each_reach_the_worker_and_survive_its_crash(prewarm, tmp_path):
    """With --event-loops 2 a request is sent to the worker over its own loop's connection: curl's
    connections alternate between the loops, so the pool loop's connection and the other loop's
    both carry requests, in-flight ones on both fail 502 when the worker dies, and both reach
    its replacement (a claimed prewarmed worker's first connection is on the prewarm pool's loop)."""
    s = Server("--prewarm", prewarm, "--no-access-log", "--event-loops", "2", workers=True)
    try:
        for _ in range(6):   # a fresh connection each: three per loop
            assert infer(s, "digits-cnn", infer_body("digits-cnn"))[0] == 200
        pids = gateway_workers(s)
        # One connection from each gateway loop (a loop-confined pool had one in all).
        assert 2 in [gateway_connections(p) for p in pids], [gateway_connections(p) for p in pids]
        [pid] = [p for p in pids if gateway_connections(p) == 2]
        big = slow_cnn_request(tmp_path, 30000)
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            slow = [ex.submit(infer, s, "digits-cnn", f"@{big}") for _ in range(2)]
            wait_until_busy(pid, 0.1)
            os.kill(pid, signal.SIGKILL)
            answers = [f.result() for f in slow]
        assert [a[0] for a in answers] == [502, 502], answers
        with concurrent.futures.ThreadPoolExecutor(4) as ex:
            statuses = list(ex.map(lambda _: infer(s, "digits-cnn", infer_body("digits-cnn"))[0], range(8)))
        assert statuses == [200] * 8
        # The replacement may be a claimed prewarmed worker, whose command line names no function.
        assert gateway_workers(s) and pid not in gateway_workers(s)
    finally:
        assert s.stop() == 0


def test_hung_worker_is_killed_after_the_function_timeout(tmp_path):
    """limits.timeout: answers within it never disturb the worker (its one timer watches the oldest
    request and re-arms); a worker that stops answering is killed once its oldest request is
    that old, that request gets 504, and the next one gets a new worker."""
    fns = make_functions(tmp_path, scaling="", limits="limits:\n  timeout: 1s\n")
    s = Server("--functions", str(fns), "--prewarm", "0", "--no-access-log", workers=True)
    try:
        body = infer_body("digits-mlp")
        assert infer(s, "mlp", body)[0] == 200
        [pid] = worker_pids("mlp")
        end = time.time() + 2.5
        while time.time() < end:   # past two timeouts of steady, quick answers
            assert infer(s, "mlp", body)[0] == 200
            time.sleep(0.05)
        assert worker_pids("mlp") == [pid]
        os.kill(pid, signal.SIGSTOP)
        t0 = time.time()
        status, _, payload = infer(s, "mlp", body)
        took = time.time() - t0
        assert status == 504, payload
        assert "did not answer within 1 s (limits.timeout)" in json.loads(payload)["error"]
        assert 0.9 <= took < 5, took
        status, headers, _ = infer(s, "mlp", body)
        assert status == 200 and "cold" in headers.get("server-timing", "")
        assert pid not in worker_pids("mlp")
    finally:
        try:
            os.kill(pid, signal.SIGCONT)
        except (ProcessLookupError, UnboundLocalError):
            pass
        assert s.stop() == 0


def test_full_queue_gets_503_with_retry_after(tmp_path):
    fns = make_functions(tmp_path, limits="limits:\n  containerConcurrency: 1\n  queue: 1\n",
                         scaling="scaling:\n  maxScale: 1\n")
    s = Server("--prewarm", "0", "--no-access-log", functions=fns, workers=True)
    try:
        big = slow_cnn_request(tmp_path, 20000)
        with concurrent.futures.ThreadPoolExecutor(6) as ex:
            results = list(ex.map(lambda _: infer(s, "cnn", f"@{big}"), range(6)))
        statuses = sorted(r[0] for r in results)
        assert 200 in statuses and 503 in statuses, statuses
        rejected = [r for r in results if r[0] == 503]
        assert all(r[1].get("retry-after") == "1" for r in rejected)
        assert "queue limit 1" in json.loads(rejected[0][2])["error"]
    finally:
        assert s.stop() == 0


def test_scale_to_zero_drops_no_request_around_the_grace_boundary(tmp_path):
    """Stable window 6 s + grace 1 s: requests arrive with idle gaps that straddle the moment the
    function goes to zero. Every one must succeed; some must have found it at zero (cold)."""
    fns = make_functions(tmp_path, scaling="scaling:\n  stableWindow: 6s\n  scaleToZeroGracePeriod: 1s\n  tickInterval: 1s\n")
    s = Server("--prewarm", "0", "--no-access-log", functions=fns, workers=True)
    try:
        body = infer_body("digits-mlp")
        assert infer(s, "mlp", body)[0] == 200
        t0 = time.time()
        wait_for(lambda: workers(s).get(("mlp", "ready"), 0) == 1)
        wait_for(lambda: workers(s).get(("mlp", "ready"), 0) == 0 and worker_pids("mlp") == [], 30)
        went_to_zero_after = time.time() - t0
        assert 6 <= went_to_zero_after <= 15, went_to_zero_after
        rng = random.Random(7)
        cold = 0
        for gap in [went_to_zero_after - 1.0, went_to_zero_after - 0.3, went_to_zero_after, went_to_zero_after + 0.3]:
            assert infer(s, "mlp", body)[0] == 200
            time.sleep(max(0.0, gap + rng.uniform(-0.1, 0.1)))
            status, headers, payload = infer(s, "mlp", body)
            assert status == 200, payload
            cold += "server-timing" in headers
        assert cold >= 1
    finally:
        assert s.stop() == 0


def test_grpc_deadline_while_waiting_for_a_worker(tmp_path):
    from conftest import grpc_stubs
    import grpc
    s = Server("--prewarm", "0", functions=make_functions(tmp_path), workers=True)
    try:
        pb2, pb2g = grpc_stubs()
        ch = grpc.insecure_channel(s.address)
        stub = pb2g.GRPCInferenceServiceStub(ch)
        req = pb2.ModelInferRequest(model_name="cnn")
        with pytest.raises(grpc.RpcError) as e:
            stub.ModelInfer(req, timeout=0.002)
        assert e.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        ch.close()
    finally:
        assert s.stop() == 0


def environment(pid):
    with open(f"/proc/{pid}/environ", "rb") as f:
        return dict(e.split("=", 1) for e in f.read().decode(errors="replace").split("\0") if "=" in e)


def test_serve_runs_with_a_larger_malloc_cache_and_workers_inherit_it():
    """`petrel serve` re-executes itself once with glibc.malloc.tcache_count set (same PID); the
    workers it spawns inherit it. An explicit tcache tunable, or PETREL_MALLOC_TUNING=0, is kept."""
    s = Server("--prewarm", "0", "--no-access-log", workers=True)
    try:
        assert "glibc.malloc.tcache_count=256" in environment(s.proc.pid).get("GLIBC_TUNABLES", "")
        assert infer(s, "digits-mlp", infer_body("digits-mlp"))[0] == 200
        [pid] = worker_pids("digits-mlp")
        assert "glibc.malloc.tcache_count=256" in environment(pid).get("GLIBC_TUNABLES", "")
    finally:
        assert s.stop() == 0
    for env, want in [({"PETREL_MALLOC_TUNING": "0"}, None),
                      ({"GLIBC_TUNABLES": "glibc.malloc.tcache_count=32"}, "glibc.malloc.tcache_count=32")]:
        s = Server("--no-access-log", env=env)
        try:
            assert environment(s.proc.pid).get("GLIBC_TUNABLES") == (want or os.environ.get("GLIBC_TUNABLES"))
        finally:
            assert s.stop() == 0


def cpu_list(text):
    """A /proc Cpus_allowed_list ("0-1,4") as a set of CPU numbers."""
    cpus = set()
    for part in text.split(","):
        lo, _, hi = part.partition("-")
        cpus.update(range(int(lo), int(hi or lo) + 1))
    return cpus


def thread_cpus(pid, loops):
    """The allowed CPUs of `pid`'s event loop thread (loops=True: a one-item list), or of each of
    its other threads. The loop is the first thread named NIO-ELT: a thread it starts (a Dispatch
    worker) inherits that name."""
    threads = []
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            name = open(f"/proc/{pid}/task/{t}/comm").read()
            cpus = cpu_list(re.search(r"Cpus_allowed_list:\s*(\S+)", open(f"/proc/{pid}/task/{t}/status").read()).group(1))
            threads.append((int(t), name.startswith("NIO-ELT"), cpus))
        except FileNotFoundError:
            pass
    loop = min((t for t, named, _ in threads if named), default=None)
    return [c for t, _, c in threads if (t == loop) == loops]


def serial_mlp_requests(server, seconds):
    """One request at a time to the test functions' "mlp" for `seconds`."""
    end = time.time() + seconds
    while time.time() < end:
        assert infer(server, "mlp", infer_body("digits-mlp"))[0] == 200
        time.sleep(0.05)


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="one CPU: nothing to co-locate")
def test_gateway_and_worker_loops_share_a_cpu_only_while_requests_do_not_overlap(tmp_path):
    """One request at a time: after a 2 s tick the gateway's loop thread and the worker's are
    pinned to one CPU (the worker's on its next request). A worker started meanwhile (the killed
    one's replacement) starts spread: only its loop is pinned. Two requests in flight: both loops
    spread to every CPU again. `--no-colocate` never pins."""
    spread = set(os.sched_getaffinity(0))
    fns = make_functions(tmp_path, scaling="")
    s = Server("--functions", str(fns), "--prewarm", "0", "--no-access-log", workers=True)
    try:
        serial_mlp_requests(s, 2.6)
        [pid] = worker_pids("mlp")
        [gateway] = thread_cpus(s.proc.pid, loops=True)
        assert len(gateway) == 1, gateway
        assert thread_cpus(pid, loops=True) == [gateway]
        os.kill(pid, signal.SIGKILL)
        wait_for(lambda: worker_pids("mlp") != [pid])
        assert infer(s, "mlp", infer_body("digits-mlp"))[0] == 200
        [new] = worker_pids("mlp")
        assert thread_cpus(new, loops=True) == [gateway]
        assert all(c == spread for c in thread_cpus(new, loops=False)), thread_cpus(new, loops=False)
        big = slow_cnn_request(tmp_path, 30000)
        with concurrent.futures.ThreadPoolExecutor(2) as ex:
            answers = list(ex.map(lambda _: infer(s, "cnn", f"@{big}")[0], range(2)))
        assert answers == [200, 200]
        assert thread_cpus(s.proc.pid, loops=True) == [spread]
        assert infer(s, "mlp", infer_body("digits-mlp"))[0] == 200
        assert thread_cpus(new, loops=True) == [spread]
    finally:
        assert s.stop() == 0
    s = Server("--functions", str(fns), "--prewarm", "0", "--no-access-log", "--no-colocate", workers=True)
    try:
        serial_mlp_requests(s, 2.6)
        assert thread_cpus(s.proc.pid, loops=True) == [spread]
        assert thread_cpus(worker_pids("mlp")[0], loops=True) == [spread]
    finally:
        assert s.stop() == 0
