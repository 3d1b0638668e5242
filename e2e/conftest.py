"""End-to-end tests against the real `petrel` binary, with clients no one here wrote:
curl, h2load, grpcio, tritonclient, and raw HTTP/2 frames from the `h2` package.

`PETREL_BIN` picks the binary (default .build/release/petrel); `PETREL_HOME` (set by
scripts/test.sh to a temporary folder) holds the compile cache, so every server in a run shares it.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[1]
PETREL = os.environ.get("PETREL_BIN", str(ROOT / ".build/release/petrel"))
FUNCTIONS = ROOT / "functions"
PROTO = ROOT / "Protos/grpc_predict_v2.proto"


class Server:
    """A `petrel serve --in-process` process on a free port; stderr is collected in `log`."""

    def __init__(self, *extra, functions=FUNCTIONS, env=None, ready_timeout=300, workers=False, registry=None):
        self.log = []
        self.workers = workers
        mode = [] if workers else ["--in-process"]
        self.registry = None
        self.admin_key = None
        if workers:
            # Each gateway gets its own registry (unless a test shares one across restarts); the
            # admin key made at its first start is written where the test can read it.
            self.registry = str(registry or Path(tempfile.mkdtemp(prefix="petrel-registry-")) / "petrel.sqlite")
            key_file = self.registry + ".admin-key"
            mode = ["--registry", self.registry, "--admin-key-file", key_file]
        self.proc = subprocess.Popen(
            [PETREL, "serve", *mode, "--functions", str(functions), "--port", "0", *extra],
            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True, env={**os.environ, **(env or {})})
        ready = threading.Event()
        self.port = None
        self.scheme = "http"

        def pump():
            for line in self.proc.stderr:
                self.log.append(line.rstrip("\n"))
                m = re.search(r"serving .* on (https?)://[\d.]+:(\d+)", line)
                if m:
                    self.scheme, self.port = m.group(1), int(m.group(2))
                    ready.set()
            ready.set()

        threading.Thread(target=pump, daemon=True).start()
        ready.wait(ready_timeout)
        if self.port is None:
            self.stop()
            raise RuntimeError("petrel serve did not start:\n" + "\n".join(self.log[-30:]))
        if workers and os.path.exists(key_file):
            self.admin_key = open(key_file).read().strip()

    @property
    def url(self):
        return f"{self.scheme}://127.0.0.1:{self.port}"

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc.poll() is None

    def stop(self, sig=signal.SIGTERM, timeout=30):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                # A server that ignores SIGTERM: its last log lines say where shutdown stopped.
                print(f"petrel serve did not exit {timeout} s after signal {sig}; its last log lines:",
                      *self.log[-30:], sep="\n", file=sys.stderr)
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode


@pytest.fixture(scope="session")
def server():
    s = Server()
    yield s
    s.stop()


def server_in_both_modes(request):
    """For modules whose clients must get the same answers from `petrel serve` (gateway and
    worker processes, the default) and `--in-process`: `server = pytest.fixture(scope="module",
    params=["in-process", "workers"])(server_in_both_modes)`."""
    s = Server(workers=request.param == "workers")
    yield s
    s.stop()


def reference(function, case=0):
    """(inputs, outputs) of a function's ONNX test case, as lists of (name, array)."""
    d = FUNCTIONS / function / f"test_data_set_{case}"
    model = onnx.load(str(FUNCTIONS / function / "model.onnx"), load_external_data=False)
    ins = [i.name for i in model.graph.input if i.name not in {t.name for t in model.graph.initializer}]
    outs = [o.name for o in model.graph.output]
    load = lambda p: numpy_helper.to_array(onnx.load_tensor(str(p)))
    inputs = [(ins[k], load(d / f"input_{k}.pb")) for k in range(len(ins))]
    outputs = [(outs[k], load(d / f"output_{k}.pb")) for k in range(len(outs))]
    return inputs, outputs


def has_minilm():
    return (FUNCTIONS / "minilm/model.onnx").exists()


_stubs = None


def grpc_stubs():
    """Python messages and stubs generated from the same .proto the server's Swift code came from."""
    global _stubs
    if _stubs is None:
        out = tempfile.mkdtemp(prefix="petrel-grpc-stubs-")
        subprocess.run([sys.executable, "-m", "grpc_tools.protoc", f"-I{PROTO.parent}", f"--python_out={out}",
                        f"--grpc_python_out={out}", str(PROTO)], check=True)
        sys.path.insert(0, out)
        import grpc_predict_v2_pb2 as pb2
        import grpc_predict_v2_pb2_grpc as pb2_grpc
        _stubs = (pb2, pb2_grpc)
    return _stubs


def curl(*args, timeout=30):
    r = subprocess.run(["curl", "-sS", *args], capture_output=True, timeout=timeout)
    return r.returncode, r.stdout, r.stderr.decode(errors="replace")
