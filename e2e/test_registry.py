"""The registry through a real gateway (`petrel serve` with worker processes): deploys, revisions,
traffic splits, rollbacks, deletes, API keys and model repositories, driven by the `petrel` CLI and
the admin API, checked by inference over REST, TF Serving REST and gRPC."""
import collections
import http.client
import json
import math
import os
import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

import grpc
import numpy as np
import pytest

from conftest import FUNCTIONS, PETREL, Server, curl, grpc_stubs, reference
from test_rest import check_outputs, infer_body
from test_workers import wait_for

MLP = FUNCTIONS / "digits-mlp"


# --- helpers -----------------------------------------------------------------------------------

def mlp_folder(path, name="mlp", description=None, extra="", model=MLP / "model.onnx"):
    """A copy of digits-mlp as function `name`; another description makes it a new revision."""
    path.mkdir(parents=True)
    shutil.copy(model, path / "model.onnx")
    text = (MLP / "function.yaml").read_text().replace("name: digits-mlp", f"name: {name}")
    if description:
        text = re.sub(r"(?m)^description: .*$", f"description: {description}", text)
    (path / "function.yaml").write_text(text + extra)
    return path


def petrel(*args, key=None, env=None, timeout=120):
    """Runs the CLI; PETREL_ADMIN_KEY is set only when `key` is given."""
    e = {k: v for k, v in os.environ.items() if k != "PETREL_ADMIN_KEY"}
    e.update(env or {})
    if key:
        e["PETREL_ADMIN_KEY"] = key
    return subprocess.run([PETREL, *map(str, args)], capture_output=True, text=True, env=e, timeout=timeout)


def ok(r):
    assert r.returncode == 0, f"{r.args[1:]} exited {r.returncode}\nstdout: {r.stdout}\nstderr: {r.stderr}"
    return r


def describe(s, name, env=None):
    return json.loads(ok(petrel("describe", name, "--json", "--registry", s.registry, key=s.admin_key, env=env)).stdout)


def stable(view):
    """A FunctionView without its live runtime figures."""
    view = json.loads(json.dumps(view))
    for rev in view["revisions"]:
        rev.pop("runtime", None)
    return view


def traffic(view):
    return {t["revision"]: t["percent"] for t in view["traffic"]}


class Client:
    """A keep-alive HTTP/1.1 connection for many small requests."""

    def __init__(self, s):
        self.conn = http.client.HTTPConnection("127.0.0.1", s.port, timeout=60)

    def post(self, path, body, headers=None):
        self.conn.request("POST", path, body, {"content-type": "application/json", **(headers or {})})
        r = self.conn.getresponse()
        return r.status, dict(r.getheaders()), r.read()

    def infer(self, function, version=None, body=None, headers=None):
        path = f"/v2/models/{function}/versions/{version}/infer" if version else f"/v2/models/{function}/infer"
        status, hdrs, payload = self.post(path, body or infer_body("digits-mlp"), headers)
        return status, hdrs, json.loads(payload) if payload else None

    def versions(self, function, n):
        """model_version of n requests to the traffic split, counted."""
        body = infer_body("digits-mlp")
        seen = collections.Counter()
        for _ in range(n):
            status, _, r = self.infer(function, body=body)
            assert status == 200, r
            seen[r["model_version"]] += 1
        return seen

    def close(self):
        self.conn.close()


def grpc_request(function, version=""):
    pb2, _ = grpc_stubs()
    inputs, _ = reference("digits-mlp")
    req = pb2.ModelInferRequest(model_name=function, model_version=version)
    req.inputs.add(name="input", datatype="FP32", shape=list(inputs[0][1].shape))
    req.raw_input_contents.append(inputs[0][1].astype("<f4").tobytes())
    return req


def grpc_stub(s):
    _, pb2g = grpc_stubs()
    ch = grpc.insecure_channel(s.address)
    return ch, pb2g.GRPCInferenceServiceStub(ch)


def registry_dir(tmp_path):
    d = tmp_path / "registry"
    d.mkdir(exist_ok=True)
    return d / "petrel.sqlite"


def serve_mlp(tmp_path, *args):
    """A worker-mode server with its own registry, seeded with one function `mlp` (digits-mlp)."""
    fns = tmp_path / "fns"
    mlp_folder(fns / "mlp")
    return Server("--prewarm", "0", *args, functions=fns, workers=True, registry=registry_dir(tmp_path))


def stop(s):
    code = s.stop()
    assert code == 0, "\n".join(s.log[-30:])


# --- 1. the user's day -------------------------------------------------------------------------

def test_canary_split_rollback_and_restart(tmp_path):
    fns = tmp_path / "fns"
    mlp_folder(fns / "mlp")
    v2 = mlp_folder(tmp_path / "v2", description="MLP v2, the same weights in a new revision")
    registry = registry_dir(tmp_path)
    s = Server("--prewarm", "0", "--no-access-log", functions=fns, workers=True, registry=registry)
    c = None
    try:
        assert s.admin_key
        c = Client(s)
        status, _, r = c.infer("mlp")
        assert status == 200 and r["model_name"] == "mlp" and r["model_version"] == "1", r
        check_outputs("digits-mlp", r)

        # v2 at 10 % with tag canary, through the running server's admin API.
        d = ok(petrel("deploy", v2, "--traffic", "10", "--tag", "canary", "--registry", s.registry, key=s.admin_key))
        assert d.stdout.strip() == "deployed mlp-00002 (tag canary) — traffic: mlp-00001 90 %, mlp-00002 10 %", d.stdout
        assert any("deployed" in l and "revision=mlp-00002" in l for l in s.log), "deploy did not go through the server"
        view = describe(s, "mlp")
        assert traffic(view) == {"mlp-00001": 90, "mlp-00002": 10}
        assert view["tags"] == {"canary": "mlp-00002"}

        n = 2000
        seen = c.versions("mlp", n)
        assert set(seen) == {"1", "2"}, seen
        share, sigma = seen["2"] / n, math.sqrt(0.1 * 0.9 / n)
        assert abs(share - 0.1) <= 4 * sigma, f"{seen['2']} of {n} requests went to the 10 % canary"

        # Addressing one revision: by tag, number or revision id (REST), by tag or number (gRPC).
        for version, want in [("canary", "2"), ("2", "2"), ("mlp-00002", "2"), ("1", "1"), ("mlp-00001", "1")]:
            status, _, r = c.infer("mlp", version)
            assert status == 200 and r["model_version"] == want, (version, r)
            check_outputs("digits-mlp", r)
        ch, stub = grpc_stub(s)
        try:
            assert stub.ModelInfer(grpc_request("mlp", "canary"), timeout=30).model_version == "2"
            assert stub.ModelInfer(grpc_request("mlp", "1"), timeout=30).model_version == "1"
        finally:
            ch.close()

        ok(petrel("rollback", "mlp", "--registry", s.registry, key=s.admin_key))
        assert traffic(describe(s, "mlp")) == {"mlp-00001": 100}
        assert c.versions("mlp", 300) == {"1": 300}
        status, _, r = c.infer("mlp", "canary")     # the canary is still addressable by its tag
        assert status == 200 and r["model_version"] == "2"

        # One more change, so the restart has a non-trivial split and history to keep.
        ok(petrel("traffic", "mlp", "1=70", "canary=30", "--registry", s.registry, key=s.admin_key))
        before = stable(describe(s, "mlp"))
        assert traffic(before) == {"mlp-00001": 70, "mlp-00002": 30}
        c.close()
        c = None
        stop(s)

        s = Server("--prewarm", "0", "--no-access-log", functions=fns, workers=True, registry=registry)
        c = Client(s)
        assert stable(describe(s, "mlp")) == before
        status, _, r = c.infer("mlp", "canary")
        assert status == 200 and r["model_version"] == "2"
        check_outputs("digits-mlp", r)
        seen = c.versions("mlp", 200)
        assert set(seen) == {"1", "2"}, seen
        # The rollback history survived the restart too.
        ok(petrel("rollback", "mlp", "--registry", s.registry, key=s.admin_key))
        assert traffic(describe(s, "mlp")) == {"mlp-00001": 100}
        assert c.versions("mlp", 100) == {"1": 100}
        r = petrel("rollback", "mlp", "--registry", s.registry, key=s.admin_key)
        assert r.returncode == 7, (r.returncode, r.stdout, r.stderr)
    finally:
        if c:
            c.close()
        stop(s)


# --- 2. rollout and rollback under load --------------------------------------------------------

def h2load_counts(out):
    m = re.search(r"requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored", out)
    st = re.search(r"status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx", out)
    assert m and st, out
    return [int(x) for x in m.groups()], [int(x) for x in st.groups()]


def test_rollout_and_rollback_under_load_drop_no_request(tmp_path):
    v2 = mlp_folder(tmp_path / "v2", description="MLP v2")
    s = serve_mlp(tmp_path)
    try:
        body = tmp_path / "req.json"
        body.write_text(infer_body("digits-mlp"))
        c = Client(s)
        assert c.infer("mlp")[0] == 200     # v1 warm before the load starts
        c.close()
        # Timed, not counted: the release build answers several thousand requests a second, a debug
        # build a tenth of that, and the deploy and the rollback must both land inside the run.
        h2 = subprocess.Popen(["h2load", "-D", "12", "-c", "4", "-m", "4", "-t", "1", "-d", str(body),
                               "-H", "content-type: application/json", f"{s.url}/v2/models/mlp/infer"],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            t0 = time.time()
            time.sleep(1.5)
            assert h2.poll() is None, "h2load ended before the deploy"
            d = ok(petrel("deploy", v2, "--registry", s.registry, key=s.admin_key))
            assert d.stdout.startswith("deployed mlp-00002"), d.stdout
            t_deploy = time.time() - t0
            served_by = lambda rev: [l for l in list(s.log) if f"revision={rev} " in l and "/v2/models/mlp/infer 200" in l]
            wait_for(lambda: len(served_by("mlp-00002")) >= 200, 30)
            time.sleep(1.0)
            ok(petrel("rollback", "mlp", "--registry", s.registry, key=s.admin_key))
            t_rollback = time.time() - t0
            assert h2.poll() is None, f"h2load ended before the rollback ({t_rollback:.1f} s in); lengthen -D"
            mark = len(s.log)
            out, err = h2.communicate(timeout=300)
        finally:
            if h2.poll() is None:
                h2.kill()
                h2.wait()
        t_end = time.time() - t0
        counts, statuses = h2load_counts(out)
        n = counts[0]
        # With -D, requests still in flight when the time is up are started but not counted.
        assert n > 0 and counts[2] == n and counts[3] == n and counts[4] == 0 and counts[5] == 0 and statuses == [n, 0, 0, 0], out
        # Traffic went to v2 while it had 100 %, and back to v1 after the rollback (at most 16 requests
        # were in flight when it happened).
        assert len(served_by("mlp-00002")) >= 200
        after = [l for l in s.log[mark:] if "/v2/models/mlp/infer" in l][64:]
        assert len(after) >= 1000, f"only {len(after)} requests after the rollback (deploy {t_deploy:.1f} s, " \
                                   f"rollback {t_rollback:.1f} s, end {t_end:.1f} s)"
        assert all("revision=mlp-00001 " in l for l in after), [l for l in after if "revision=mlp-00001 " not in l][:5]
        assert traffic(describe(s, "mlp")) == {"mlp-00001": 100}
    finally:
        stop(s)


# --- 3. concurrent deploys ---------------------------------------------------------------------

def test_concurrent_deploys_get_distinct_revisions(tmp_path):
    a = mlp_folder(tmp_path / "a", description="MLP variant a")
    b = mlp_folder(tmp_path / "b", description="MLP variant b")
    s = serve_mlp(tmp_path, "--no-access-log")
    try:
        env = {k: v for k, v in os.environ.items() if k != "PETREL_ADMIN_KEY"}
        env["PETREL_ADMIN_KEY"] = s.admin_key
        procs = [subprocess.Popen([PETREL, "deploy", str(d), "--json", "--registry", s.registry], env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for d in (a, b)]
        results = []
        for p in procs:
            out, err = p.communicate(timeout=120)
            assert p.returncode == 0, (p.returncode, out, err)
            [entry] = json.loads(out)
            assert entry["reused"] is False
            results.append(entry["revision"])
        assert sorted(results) == ["mlp-00002", "mlp-00003"], results
        view = describe(s, "mlp")
        sources = {r["id"]: r["source"] for r in view["revisions"]}
        assert {sources[results[0]], sources[results[1]]} == {str(a), str(b)}
        assert sorted(sources) == ["mlp-00001", "mlp-00002", "mlp-00003"]
        split = traffic(view)
        assert list(split.values()) == [100] and list(split)[0] in results, view["traffic"]
        [winner] = split
        number = str(next(r["number"] for r in view["revisions"] if r["id"] == winner))
        assert {r["id"]: r["percent"] for r in view["revisions"]} == {rid: 100 if rid == winner else 0 for rid in sources}
        c = Client(s)
        try:
            assert c.versions("mlp", 100) == {number: 100}
        finally:
            c.close()
    finally:
        stop(s)


# --- 4. delete ---------------------------------------------------------------------------------

def test_deleted_function_is_gone_and_stays_gone(tmp_path):
    # Our own PETREL_HOME, so no other test's registry shares these artifacts.
    home = tmp_path / "home"
    home.mkdir()
    env = {"PETREL_HOME": str(home)}
    fns = tmp_path / "fns"
    mlp_folder(fns / "gone", name="gone")
    mlp_folder(fns / "twin", name="twin")        # the same model as `gone`: the same artifact
    keep = fns / "keep"
    keep.mkdir()
    shutil.copy(FUNCTIONS / "digits-cnn/model.onnx", keep / "model.onnx")
    (keep / "function.yaml").write_text("name: keep\nmodel: model.onnx\n")
    registry = registry_dir(tmp_path)
    s = Server("--prewarm", "0", functions=fns, workers=True, registry=registry, env=env)
    try:
        artifact = lambda name: home / "cache" / (describe(s, name, env)["revisions"][0]["artifact"] + ".petrel")
        gone_artifact, keep_artifact = artifact("gone"), artifact("keep")
        assert artifact("twin") == gone_artifact and gone_artifact != keep_artifact
        assert gone_artifact.exists() and keep_artifact.exists()
        c = Client(s)
        assert c.infer("gone")[0] == 200      # a worker of it is running when it is deleted
        c.close()

        r = ok(petrel("delete", "twin", "--registry", s.registry, key=s.admin_key, env=env))
        assert gone_artifact.exists(), "the artifact went with `twin` though `gone` still uses it"
        c = Client(s)
        assert c.infer("gone")[0] == 200
        c.close()
        r = ok(petrel("delete", "gone", "--registry", s.registry, key=s.admin_key, env=env))
        assert "deleted gone" in r.stdout, r.stdout

        def check_gone():
            code, out, _ = curl("--http2-prior-knowledge", "-w", "\n%{http_code}", "-H", "content-type: application/json",
                                "-d", infer_body("digits-mlp"), f"{s.url}/v2/models/gone/infer")
            payload, status = out.decode().rsplit("\n", 1)
            assert status == "404", payload
            assert "gone" in json.loads(payload)["error"]
            ch, stub = grpc_stub(s)
            try:
                with pytest.raises(grpc.RpcError) as e:
                    stub.ModelInfer(grpc_request("gone"), timeout=30)
                assert e.value.code() == grpc.StatusCode.NOT_FOUND, e.value
            finally:
                ch.close()
            names = [f["name"] for f in json.loads(ok(petrel("list", "--json", "--registry", s.registry,
                                                              key=s.admin_key, env=env)).stdout)]
            assert names == ["keep"], names
            assert "gone" not in ok(petrel("list", "--registry", s.registry, key=s.admin_key, env=env)).stdout
            r = petrel("describe", "gone", "--registry", s.registry, key=s.admin_key, env=env)
            assert r.returncode == 5, (r.returncode, r.stderr)
            c = Client(s)
            assert c.infer("keep", body=infer_body("digits-cnn"))[0] == 200
            c.close()

        check_gone()
        wait_for(lambda: not gone_artifact.exists(), 20)
        assert keep_artifact.exists()
        r = petrel("delete", "gone", "--registry", s.registry, key=s.admin_key, env=env)
        assert r.returncode == 5, (r.returncode, r.stderr)
        stop(s)

        # The folders are still in --functions; a restart must not bring them back.
        s = Server("--prewarm", "0", functions=fns, workers=True, registry=registry, env=env)
        check_gone()
        assert not gone_artifact.exists()
    finally:
        stop(s)


# --- 5. API keys -------------------------------------------------------------------------------

def test_api_keys(tmp_path):
    sec = mlp_folder(tmp_path / "sec", name="sec", extra="auth: key\n")
    s = serve_mlp(tmp_path)
    keys = []
    try:
        R = ["--registry", s.registry]
        ok(petrel("deploy", sec, *R, key=s.admin_key))
        view = describe(s, "sec")
        assert [r["auth"] for r in view["revisions"]] == ["key"]

        def make_key(name, function):
            r = ok(petrel("keys", "create", name, "--function", function, *R, key=s.admin_key))
            key = r.stdout.strip()
            assert re.fullmatch(r"\S+", key), r.stdout
            keys.append(key)
            return key

        k_sec, k_other = make_key("client", "sec"), make_key("other-client", "mlp")
        listed = json.loads(ok(petrel("keys", "list", "--json", *R, key=s.admin_key)).stdout)
        assert {(k["name"], k["scope"]) for k in listed} >= {("client", "sec"), ("other-client", "mlp")}
        assert not any(k_sec in json.dumps(k) for k in listed)
        sec_id = next(k["id"] for k in listed if k["name"] == "client")

        c = Client(s)
        bearer = lambda k: {"authorization": f"Bearer {k}"}
        status, headers, r = c.infer("sec")
        assert status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), (status, headers, r)
        status, _, r = c.infer("sec", headers=bearer(k_sec))
        assert status == 200, r
        check_outputs("digits-mlp", r)
        assert c.infer("sec", headers=bearer(k_other))[0] == 403
        assert c.infer("sec", headers=bearer("pk_000000000000_not-a-key"))[0] == 401
        assert c.infer("mlp")[0] == 200               # a public function needs no key

        ch, stub = grpc_stub(s)
        try:
            assert stub.ModelInfer(grpc_request("sec"), metadata=[("authorization", f"Bearer {k_sec}")],
                                   timeout=30).model_name == "sec"
            for metadata, code in [(None, grpc.StatusCode.UNAUTHENTICATED),
                                   ([("authorization", f"Bearer {k_other}")], grpc.StatusCode.PERMISSION_DENIED)]:
                with pytest.raises(grpc.RpcError) as e:
                    stub.ModelInfer(grpc_request("sec"), metadata=metadata, timeout=30)
                assert e.value.code() == code, e.value

            # The admin API: no key 401, a function key 403, the admin key 200.
            for hdrs, want in [({}, 401), (bearer(k_sec), 403), (bearer("pk_000000000000_not-a-key"), 401),
                               (bearer(s.admin_key), 200)]:
                c.conn.request("GET", "/admin/v1/functions", headers=hdrs)
                resp = c.conn.getresponse()
                resp.read()
                assert resp.status == want, (hdrs, resp.status)
                if want == 401:
                    assert resp.getheader("www-authenticate", "").startswith("Bearer")
            r = petrel("list", *R, key=k_sec)
            assert r.returncode == 6, (r.returncode, r.stderr)

            ok(petrel("keys", "revoke", sec_id, *R, key=s.admin_key))
            assert c.infer("sec", headers=bearer(k_sec))[0] == 401
            with pytest.raises(grpc.RpcError) as e:
                stub.ModelInfer(grpc_request("sec"), metadata=[("authorization", f"Bearer {k_sec}")], timeout=30)
            assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
        finally:
            ch.close()
            c.close()
    finally:
        stop(s)
    assert keys
    log = "\n".join(s.log)
    files = [p for p in Path(s.registry).parent.iterdir() if p.name.startswith("petrel.sqlite") and not p.name.endswith(".admin-key")]
    for key in keys:
        assert key not in log, "an API key is in the server's log"
        secret = key.split("_", 2)[-1]     # pk_<id>_<secret>
        for p in files:
            data = p.read_bytes()
            assert key.encode() not in data and secret.encode() not in data, f"an API key is stored in {p.name}"
    for p in files:
        assert s.admin_key.encode() not in p.read_bytes(), f"the admin key is stored in {p.name}"


# --- 6. model repositories ---------------------------------------------------------------------

def test_model_repository(tmp_path):
    repo = tmp_path / "repo"
    for version in (1, 3):
        (repo / "digits" / str(version)).mkdir(parents=True)
        shutil.copy(MLP / "model.onnx", repo / "digits" / str(version) / "model.onnx")
    (repo / "digits" / "config.pbtxt").write_text('name: "digits"\nplatform: "onnxruntime_onnx"\n')
    fns = tmp_path / "fns"
    fns.mkdir()
    s = Server("--prewarm", "0", "--no-access-log", functions=fns, workers=True, registry=registry_dir(tmp_path))
    try:
        r = petrel("deploy", repo, "--json", "--registry", s.registry, key=s.admin_key)
        assert r.returncode == 0, (r.returncode, r.stdout, r.stderr,
                                   "registry afterwards: " + petrel("list", "--registry", s.registry, key=s.admin_key).stdout)
        view = describe(s, "digits")
        assert [(rev["id"], rev["tags"]) for rev in view["revisions"]] == [("digits-00001", ["1"]), ("digits-00002", ["3"])]
        assert view["tags"] == {"1": "digits-00001", "3": "digits-00002"}
        assert traffic(view) == {"digits-00002": 100}
        c = Client(s)
        try:
            status, _, r = c.infer("digits", "3")
            assert status == 200 and r["model_version"] == "2", r
            check_outputs("digits-mlp", r)
            status, _, r = c.infer("digits")
            assert status == 200 and r["model_version"] == "2", r
        finally:
            c.close()
    finally:
        stop(s)


def test_model_repository_with_a_saved_model_is_refused(tmp_path):
    repo = tmp_path / "repo"
    (repo / "digits" / "1").mkdir(parents=True)
    shutil.copy(MLP / "model.onnx", repo / "digits" / "1" / "model.onnx")
    (repo / "tf" / "1" / "variables").mkdir(parents=True)
    (repo / "tf" / "1" / "saved_model.pb").write_bytes(b"\x08\x01")
    registry = registry_dir(tmp_path)
    r = petrel("deploy", repo, "--registry", registry)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert f"error: {repo}/tf/1: has no model.onnx (found: saved_model.pb" in r.stderr, r.stderr
    assert "SavedModel" in r.stderr
    assert json.loads(ok(petrel("list", "--json", "--registry", registry)).stdout) == []


# --- 7. reuse and exit codes -------------------------------------------------------------------

def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_redeploy_is_unchanged_and_exit_codes(tmp_path):
    v2 = mlp_folder(tmp_path / "v2", description="MLP v2")
    s = serve_mlp(tmp_path, "--no-access-log")
    try:
        R = ["--registry", s.registry]
        # The folder `serve` deployed, deployed again: its revision is reused.
        r = ok(petrel("deploy", tmp_path / "fns" / "mlp", *R, key=s.admin_key))
        assert r.stdout.startswith("unchanged mlp-00001"), r.stdout
        r = ok(petrel("deploy", v2, *R, key=s.admin_key))
        assert r.stdout.startswith("deployed mlp-00002"), r.stdout
        r = ok(petrel("deploy", v2, *R, key=s.admin_key))
        assert r.stdout.strip() == "unchanged mlp-00002 — traffic: mlp-00002 100 %", r.stdout
        [entry] = json.loads(ok(petrel("deploy", v2, "--json", *R, key=s.admin_key)).stdout)
        assert entry["revision"] == "mlp-00002" and entry["reused"] is True
        view = describe(s, "mlp")
        assert [rev["id"] for rev in view["revisions"]] == ["mlp-00001", "mlp-00002"]

        def code(*args, key=s.admin_key):
            r = petrel(*args, key=key)
            return r.returncode, r.stderr

        assert code("describe", "nope", *R)[0] == 5
        assert code("delete", "nope", *R)[0] == 5
        assert code("traffic", "mlp", "9=100", *R)[0] == 5
        assert code("traffic", "mlp", "1=50", *R)[0] == 2
        assert code("rollback", "mlp", *R)[0] == 0           # back to 100 % on mlp-00001
        assert code("rollback", "mlp", *R)[0] == 7           # nothing earlier
        got, err = code("rollback", "mlp", *R)
        assert got == 7 and "roll back" in err, err
        for args in [("list",), ("describe", "mlp"), ("deploy", str(v2)), ("rollback", "mlp"),
                     ("traffic", "mlp", "1=100"), ("keys", "list"), ("delete", "mlp")]:
            got, err = code(*args, *R, key=None)
            assert got == 6, (args, got, err)
            assert "PETREL_ADMIN_KEY" in err, err
            got, err = code(*args, *R, key="pk_000000000000_wrong")
            assert got == 6, (args, got, err)
        assert [rev["id"] for rev in describe(s, "mlp")["revisions"]] == ["mlp-00001", "mlp-00002"]
        got, err = code("list", "--server", f"http://127.0.0.1:{free_port()}", key="pk_000000000000_wrong")
        assert got == 3, err
    finally:
        stop(s)


# --- TF Serving labels ----------------------------------------------------------------------

def test_tf_serving_label_addresses_a_tag(tmp_path):
    """TF Serving REST: /v1/models/F/labels/TAG:predict answers from the revision the tag names."""
    v2 = mlp_folder(tmp_path / "v2", description="MLP v2")
    s = serve_mlp(tmp_path)
    try:
        ok(petrel("deploy", v2, "--no-traffic", "--tag", "canary", "--registry", s.registry, key=s.admin_key))
        inputs, outputs = reference("digits-mlp")
        body = json.dumps({"instances": inputs[0][1].tolist()})
        c = Client(s)
        try:
            status, _, payload = c.post("/v1/models/mlp:predict", body)
            assert status == 200, payload
            status, _, payload = c.post("/v1/models/mlp/labels/canary:predict", body)
            assert status == 200, payload
            np.testing.assert_allclose(np.array(json.loads(payload)["predictions"], dtype=np.float32), outputs[0][1],
                                       atol=1e-4)
        finally:
            c.close()
        # The access log names the revision that answered.
        wait_for(lambda: any("labels/canary:predict 200" in l for l in list(s.log)), 10)
        line = next(l for l in s.log if "labels/canary:predict 200" in l)
        assert "revision=mlp-00002 " in line, line
    finally:
        stop(s)



# --- a CLI with another PETREL_HOME ------------------------------------------------------------

def test_deploy_uploads_the_model_to_a_server_with_another_home(tmp_path):
    """The CLI's $PETREL_HOME is not the server's: deploy uploads the model through the admin API
    (PUT /admin/v1/models/SHA), and a second deploy finds it there and uploads nothing."""
    fns = tmp_path / "fns"
    fns.mkdir()
    server_home = tmp_path / "server-home"
    s = Server("--prewarm", "0", functions=fns, workers=True, registry=registry_dir(tmp_path),
               env={"PETREL_HOME": str(server_home)})
    try:
        cli_env = {"PETREL_HOME": str(tmp_path / "cli-home")}
        d = ok(petrel("deploy", mlp_folder(tmp_path / "src"), "--server", s.url, key=s.admin_key, env=cli_env))
        assert d.stdout.startswith("deployed mlp-00001"), d.stdout
        assert "uploading the model" in d.stderr, d.stderr
        sha = describe(s, "mlp")["revisions"][0]["model_sha256"]
        assert (server_home / "models" / f"{sha}.onnx").exists()
        again = ok(petrel("deploy", tmp_path / "src", "--server", s.url, key=s.admin_key, env=cli_env))
        assert again.stdout.startswith("unchanged mlp-00001") and "uploading" not in again.stderr, again
        c = Client(s)
        assert c.infer("mlp")[0] == 200
        c.close()
        # Bytes that do not hash to the name they are sent under are refused.
        rc, out, _ = curl("--http2-prior-knowledge", "-X", "PUT", "--data-binary", "not a model",
                          "-H", f"authorization: Bearer {s.admin_key}", f"{s.url}/admin/v1/models/{'0' * 64}",
                          "-w", "%{http_code}")
        assert out.decode().endswith("400") and b"hash to" in out, out
    finally:
        stop(s)


def test_a_keyed_revision_guards_every_revision(tmp_path):
    """auth guards the function: once a revision says `auth: key`, the older public revision is
    guarded too (addressed by version, or after a rollback), and a caller without a key learns
    nothing about the revisions."""
    keyed = mlp_folder(tmp_path / "keyed", extra="auth: key\n")
    s = serve_mlp(tmp_path)
    try:
        R = ["--registry", s.registry]
        c = Client(s)
        assert c.infer("mlp", version="1")[0] == 200
        ok(petrel("deploy", keyed, "--traffic", "10", *R, key=s.admin_key))
        assert c.infer("mlp", version="1")[0] == 401
        assert c.infer("mlp", version="no-such-version")[0] == 401
        ok(petrel("rollback", "mlp", *R, key=s.admin_key))
        assert c.infer("mlp")[0] == 401
        key = ok(petrel("keys", "create", "caller", "--function", "mlp", *R, key=s.admin_key)).stdout.strip()
        status, _, body = c.infer("mlp", headers={"authorization": f"Bearer {key}"})
        assert status == 200 and body["model_version"] == "1", body
        c.close()
    finally:
        stop(s)
