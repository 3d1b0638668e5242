"""Open Inference Protocol REST and TF Serving REST through curl (HTTP/2 prior knowledge, HTTP/1.1, TLS)."""
import json
import subprocess

import numpy as np
import pytest

from conftest import server_in_both_modes, Server, curl, reference

# Every test here runs against both modes: the gateway forwarding to worker processes (what
# `petrel serve` runs by default) must answer exactly as in-process serving does.
server = pytest.fixture(scope="module", params=["in-process", "workers"])(server_in_both_modes)


def infer_body(function, case=0):
    inputs, _ = reference(function, case)
    return json.dumps({"id": "req-7", "inputs": [
        {"name": n, "shape": list(a.shape), "datatype": {"float32": "FP32", "int64": "INT64"}[str(a.dtype)],
         "data": a.flatten().tolist()} for n, a in inputs]})


def check_outputs(function, body, case=0, atol=1e-4):
    _, outputs = reference(function, case)
    got = {o["name"]: o for o in body["outputs"]}
    for name, want in outputs:
        o = got[name]
        assert o["shape"] == list(want.shape)
        np.testing.assert_allclose(np.array(o["data"], dtype=np.float32).reshape(want.shape), want, atol=atol)


def test_infer_h2c_prior_knowledge(server):
    code, out, err = curl("--http2-prior-knowledge", "-H", "content-type: application/json", "-d", infer_body("digits-mlp"),
                          "-w", "\n%{http_version} %{http_code}", f"{server.url}/v2/models/digits-mlp/infer")
    body, meta = out.decode().rsplit("\n", 1)
    assert meta == "2 200", err
    r = json.loads(body)
    assert r["model_name"] == "digits-mlp" and r["id"] == "req-7"
    check_outputs("digits-mlp", r)


def test_infer_http1(server):
    code, out, _ = curl("--http1.1", "-d", infer_body("digits-cnn", 1), "-w", "\n%{http_version}",
                        f"{server.url}/v2/models/digits-cnn/versions/1/infer")
    body, version = out.decode().rsplit("\n", 1)
    assert version == "1.1"
    check_outputs("digits-cnn", json.loads(body), 1)


def test_health_and_metadata(server):
    for path, want in [("/v2/health/live", {"live": True}), ("/v2/health/ready", {"ready": True}),
                       ("/v2/models/digits-mlp/ready", {"ready": True})]:
        _, out, _ = curl("--http2-prior-knowledge", server.url + path)
        assert json.loads(out) == want, path
    _, out, _ = curl("--http2-prior-knowledge", server.url + "/v2")
    assert json.loads(out)["name"] == "petrel"
    _, out, _ = curl("--http2-prior-knowledge", server.url + "/v2/models/digits-mlp")
    meta = json.loads(out)
    assert meta["inputs"] == [{"name": "input", "datatype": "FP32", "shape": [-1, 64]}]
    assert meta["outputs"][0]["name"] == "probabilities"


@pytest.mark.parametrize("path,body,status,needle", [
    ("/v2/models/nope/infer", "{}", 404, "nope"),
    ("/v2/models/digits-mlp/versions/9/infer", "{}", 404, "9"),
    ("/v2/models/digits-mlp/infer", "{not json", 400, "JSON"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[{"name":"input","shape":[1,63],"datatype":"FP32","data":[' + ",".join(["0"] * 63) + "]}]}", 400, "input"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[1,2]}]}', 400, "input"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[{"name":"input","shape":[1,64],"datatype":"INT64","data":[' + ",".join(["0"] * 64) + "]}]}", 400, "FP32"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[{"name":"pixels","shape":[1,64],"datatype":"FP32","data":[' + ",".join(["0"] * 64) + "]}]}", 400, "pixels"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[]}', 400, "input"),
    ("/v2/models/digits-mlp/infer", '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":["a"' + ",0" * 63 + "]}]}", 400, "input"),
    ("/nowhere", "", 404, "nowhere"),
])
def test_errors_are_precise(server, path, body, status, needle):
    args = ["--http2-prior-knowledge", "-w", "\n%{http_code}", server.url + path]
    if body:
        args[:0] = ["-d", body]
    _, out, _ = curl(*args)
    text, code = out.decode().rsplit("\n", 1)
    assert int(code) == status, text
    err = json.loads(text)["error"]
    assert needle in err, err


def test_tf_serving_rest(server):
    inputs, outputs = reference("digits-mlp")
    x = inputs[0][1]
    _, out, _ = curl("--http2-prior-knowledge", "-d", json.dumps({"instances": x.tolist()}),
                     f"{server.url}/v1/models/digits-mlp:predict")
    preds = np.array(json.loads(out)["predictions"], dtype=np.float32)
    np.testing.assert_allclose(preds, outputs[0][1], atol=1e-4)
    _, out, _ = curl("--http2-prior-knowledge", "-d", json.dumps({"inputs": {"input": x.tolist()}}),
                     f"{server.url}/v1/models/digits-mlp/versions/1:predict")
    np.testing.assert_allclose(np.array(json.loads(out)["outputs"], dtype=np.float32), outputs[0][1], atol=1e-4)
    _, out, _ = curl("--http2-prior-knowledge", f"{server.url}/v1/models/digits-mlp")
    assert json.loads(out)["model_version_status"][0]["state"] == "AVAILABLE"
    _, out, _ = curl("--http2-prior-knowledge", f"{server.url}/v1/models/digits-mlp/metadata")
    assert "signature_def" in json.loads(out)["metadata"]


def test_tls_h2_with_self_signed_certificate(tmp_path):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(tmp_path / "key.pem"), "-out", str(tmp_path / "cert.pem")], check=True, capture_output=True)
    s = Server("--tls-cert", str(tmp_path / "cert.pem"), "--tls-key", str(tmp_path / "key.pem"))
    try:
        assert s.scheme == "https"
        _, out, err = curl("--http2", "--cacert", str(tmp_path / "cert.pem"), "-d", infer_body("digits-mlp"),
                           "-w", "\n%{http_version}", f"https://localhost:{s.port}/v2/models/digits-mlp/infer")
        body, version = out.decode().rsplit("\n", 1)
        assert version == "2", err
        check_outputs("digits-mlp", json.loads(body))
        _, out, _ = curl("--http1.1", "--cacert", str(tmp_path / "cert.pem"), "-w", "\n%{http_version}",
                         f"https://localhost:{s.port}/v2/health/live")
        assert out.decode().endswith("\n1.1")
    finally:
        assert s.stop() == 0


def test_metrics_count_requests(server):
    curl("--http2-prior-knowledge", "-d", infer_body("digits-mlp"), f"{server.url}/v2/models/digits-mlp/infer")
    _, out, _ = curl("--http2-prior-knowledge", f"{server.url}/metrics")
    text = out.decode()
    assert 'petrel_requests_total{function="digits-mlp",protocol="rest",status="200"}' in text
    assert "petrel_request_duration_seconds_bucket" in text
    assert "petrel_requests_in_flight" in text


def test_access_log_line_per_request(server):
    curl("--http2-prior-knowledge", f"{server.url}/v2/models/digits-mlp/ready")
    assert any("GET /v2/models/digits-mlp/ready 200" in line for line in server.log)
