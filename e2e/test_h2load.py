import pytest
"""h2load smoke: 1,000 requests, REST and gRPC, zero errors."""
import re
import subprocess

from conftest import server_in_both_modes, grpc_stubs, reference

# Against both modes: `petrel serve`'s default (gateway + worker processes) and --in-process.
server = pytest.fixture(scope="module", params=["in-process", "workers"])(server_in_both_modes)
from test_rest import infer_body


def h2load(url, body_file, *headers, n=1000):
    args = ["h2load", "-n", str(n), "-c", "4", "-m", "8", "-d", str(body_file)]
    for h in headers:
        args += ["-H", h]
    out = subprocess.run(args + [url], capture_output=True, text=True, timeout=120).stdout
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    assert m, out
    status = re.search(r"status codes: (\d+) 2xx", out)
    return [int(x) for x in m.groups()], int(status.group(1)), out


def test_rest_1000_requests(server, tmp_path):
    body = tmp_path / "req.json"
    body.write_text(infer_body("digits-mlp"))
    counts, ok, out = h2load(f"{server.url}/v2/models/digits-mlp/infer", body, "content-type: application/json")
    assert counts[3] == 1000 and counts[4] == 0 and counts[5] == 0 and ok == 1000, out


def test_grpc_1000_requests(server, tmp_path):
    pb2, _ = grpc_stubs()
    inputs, _ = reference("digits-mlp")
    req = pb2.ModelInferRequest(model_name="digits-mlp")
    req.inputs.add(name="input", datatype="FP32", shape=[1, 64])
    req.raw_input_contents.append(inputs[0][1].astype("<f4").tobytes())
    msg = req.SerializeToString()
    body = tmp_path / "req.grpc"
    body.write_bytes(b"\0" + len(msg).to_bytes(4, "big") + msg)
    counts, ok, out = h2load(f"{server.url}/inference.GRPCInferenceService/ModelInfer", body,
                             "content-type: application/grpc", "te: trailers")
    assert counts[3] == 1000 and counts[4] == 0 and counts[5] == 0 and ok == 1000, out
