"""`petrel deploy` refuses a malformed function.yaml (and bad deploy arguments) with exit code 2 and
a message naming the file, the key path and the rule, and registers nothing. All offline: each test
deploys into its own registry under tmp_path with no server running on it."""
import json
import os
import shutil
import subprocess

import pytest

from conftest import FUNCTIONS, PETREL

MLP = FUNCTIONS / "digits-mlp"
HEAD = "name: mlp\nmodel: model.onnx\n"


def petrel(*args, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "PETREL_ADMIN_KEY"}
    return subprocess.run([PETREL, *map(str, args)], capture_output=True, text=True, env=env, timeout=timeout)


def function_dir(tmp_path, yaml_text):
    d = tmp_path / "fn"
    d.mkdir()
    shutil.copy(MLP / "model.onnx", d / "model.onnx")
    (d / "function.yaml").write_text(yaml_text)
    return d


def error_line(stderr):
    lines = [l for l in stderr.splitlines() if l.startswith("error: ")]
    assert lines, stderr
    return lines[0][len("error: "):]


def registered(registry):
    """What the registry holds, compactly: {function: ([revision ids], {revision: percent})}."""
    r = petrel("list", "--json", "--registry", registry)
    assert r.returncode == 0, r.stderr
    return {f["name"]: ([v["id"] for v in f["revisions"]], {t["revision"]: t["percent"] for t in f["traffic"]})
            for f in json.loads(r.stdout)}


# (id, function.yaml, the message after "<dir>/function.yaml: ", exact unless it ends with "...")
CASES = [
    ("auth", HEAD + "auth: secret\n", "auth: = secret: must be public or key"),
    ("auth-number", HEAD + "auth: 3\n", "auth: = 3: must be public or key"),
    ("unknown-key", "name: mlp\nmodle: model.onnx\n",
     "modle: unknown key (known keys: auth, batching, description, inputs, limits, model, name, outputs, scaling)"),
    ("name-slash", 'name: "a/b"\nmodel: model.onnx\n',
     "name: = \"a/b\": must be a DNS label: lower-case letters, digits and '-' only"),
    ("name-upper", "name: Mlp\nmodel: model.onnx\n",
     "name: = \"Mlp\": must be a DNS label: lower-case letters, digits and '-' only"),
    ("name-missing", "model: model.onnx\n", "name: is required"),
    ("model-missing-key", "name: mlp\n", "model: is required (the ONNX file, relative to the folder)"),
    ("description-list", HEAD + "description: [a]\n", 'description: = ["a"]: must be a string'),
    ("not-a-mapping", "- a\n- b\n", "must be a mapping of keys to values"),
    ("not-yaml", "name: [mlp\n", "not valid YAML: ..."),
    ("timeout", HEAD + "limits:\n  timeout: forever\n",
     "limits.timeout: = forever: must be a duration between 1ms and 1h, like 30s or 500ms"),
    ("timeout-too-long", HEAD + "limits:\n  timeout: 2h\n",
     "limits.timeout: = 2h: must be a duration between 1ms and 1h, like 30s or 500ms"),
    ("concurrency", HEAD + "limits: {containerConcurrency: -1}\n",
     "limits.containerConcurrency: = -1: must be an integer in 0...1000 (0 = unlimited)"),
    ("memory", HEAD + "limits: {memory: lots}\n",
     "limits.memory: = lots: must be a size of at least 64Mi, like 512Mi or 2Gi"),
    ("queue", HEAD + "limits: {queue: -3}\n", "limits.queue: = -3: must be an integer in 0...1000000"),
    ("batching-range", HEAD + "batching: {maxBatchSize: 0}\n",
     "batching.maxBatchSize: = 0: must be an integer in 1...1024 (1 = no batching)"),
    ("batching-unknown-key", HEAD + "batching: {maxBatch: 8}\n",
     "batching.maxBatch: unknown key (known keys: maxBatchSize)"),
    ("limits-unknown-key", HEAD + "limits: {queu: 3}\n",
     "limits.queu: unknown key (known keys: containerConcurrency, memory, queue, timeout)"),
    ("max-scale", HEAD + "scaling: {maxScale: -1}\n", "scaling.maxScale: = -1: must be at least 0 (0 = unlimited)"),
    ("min-above-max", HEAD + "scaling: {minScale: 5, maxScale: 2}\n",
     "scaling.maxScale: = 2: must be at least minScale (5), or 0 for unlimited"),
    ("stable-window", HEAD + "scaling: {stableWindow: 1y}\n",
     'scaling.stableWindow: = "1y": must be a duration with a unit, like 60s, 1m or 500ms'),
    ("target", HEAD + "scaling: {target: 0}\n", "scaling.target: = 0: must be at least 0.01"),
    ("scaling-unknown-key", HEAD + "scaling: {maxScal: 3}\n",
     "scaling.maxScal: unknown key (known keys: activationScale, initialScale, maxScale, maxScaleDownRate, "
     "maxScaleUpRate, minScale, panicThresholdPercentage, panicWindowPercentage, scaleDownDelay, "
     "scaleToZeroGracePeriod, stableWindow, target, targetBurstCapacity, targetUtilization, tickInterval)"),
    ("inputs-not-list", HEAD + "inputs: input\n", "inputs: must be a list of {name, datatype, shape}"),
    ("input-unknown-key", HEAD + "inputs:\n  - nam: input\n",
     "inputs[0].nam: unknown key (known keys: datatype, from, name, shape)"),
    ("datatype", HEAD + "inputs:\n  - name: input\n    datatype: float\n",
     "inputs[0].datatype: = float: must be one of BOOL, UINT8, UINT16, UINT32, UINT64, INT8, INT16, INT32, "
     "INT64, FP16, FP32, FP64, BF16, BYTES"),
    ("datatype-mismatch", HEAD + "inputs:\n  - name: input\n    datatype: INT64\n",
     "inputs[0].datatype: = INT64: the model's 'input' is FP32"),
    ("shape-mismatch", HEAD + "inputs:\n  - name: input\n    shape: [-1, 65]\n",
     "inputs[0].shape: = [-1, 65]: the model's 'input' has shape [-1, 64]"),
    ("rank-mismatch", HEAD + "inputs:\n  - name: input\n    shape: [-1]\n",
     "inputs[0].shape: = [-1]: the model's 'input' has shape [-1, 64]"),
    ("input-twice", HEAD + "inputs:\n  - name: input\n  - name: input\n", 'inputs[1].name: = "input": declared twice'),
    ("input-not-in-model", HEAD + "inputs:\n  - name: other\n", "inputs: = [\"other\"]: the model's inputs are [\"input\"]"),
    ("model-escapes", "name: mlp\nmodel: ../model.onnx\n",
     "model: = \"../model.onnx\": must stay inside the function's folder"),
    ("model-absolute", "name: mlp\nmodel: /etc/passwd\n", "model: = \"/etc/passwd\": must stay inside the function's folder"),
    ("model-file-missing", "name: mlp\nmodel: missing.onnx\n", "model: = \"missing.onnx\": no such file in {dir}"),
    # A rename of a tensor the model lacks: the message must say where (file, key path), name the tensor
    # and list what the model has.
    ("rename-input", HEAD + "inputs:\n  - name: x\n    from: nope\n",
     "inputs[0].from: = nope: ...(inputs: input; outputs: probabilities)"),
    ("rename-output", HEAD + "outputs:\n  - name: p\n    from: nope\n",
     "outputs[0].from: = nope: ...(inputs: input; outputs: probabilities)"),
]


@pytest.mark.parametrize("text,want", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_malformed_function_yaml_is_refused(tmp_path, text, want):
    d = function_dir(tmp_path, text)
    registry = tmp_path / "registry.sqlite"
    r = petrel("deploy", d, "--registry", registry)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    got = error_line(r.stderr)
    want = f"{d}/function.yaml: " + want.replace("{dir}", str(d))
    if "..." in want:
        # Fixed parts in order, free text between them.
        pos = 0
        for part in want.split("..."):
            i = got.find(part, pos)
            assert i >= 0 and (pos > 0 or i == 0), f"expected {want!r}\n     got {got!r}"
            pos = i + len(part)
    else:
        assert got == want
    assert "Traceback" not in r.stderr and "Fatal error" not in r.stderr
    assert not r.stdout.strip().startswith("deployed"), r.stdout
    assert registered(registry) == {}


@pytest.mark.parametrize("args,want", [
    (["--tag", "Bad_Tag"], "tag 'Bad_Tag' is not valid: it must be a DNS label (lower-case letters, digits and '-', "
                           "1–63 characters, not starting or ending with '-')"),
    (["--name", "Bad/Name"], "--name: \"Bad/Name\": must be a DNS label: lower-case letters, digits and '-' only"),
    (["--traffic", "150"], "--traffic 150: must be a percentage in 0...100"),
], ids=["tag", "name", "traffic"])
def test_bad_deploy_argument_is_refused_and_registers_nothing(tmp_path, args, want):
    """Exit code 2 for an invalid argument, and the deploy is all or nothing: no revision (at 0 %) or
    function without traffic is left behind."""
    d = function_dir(tmp_path, (MLP / "function.yaml").read_text())
    registry = tmp_path / "registry.sqlite"
    r = petrel("deploy", d, *args, "--registry", registry)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert want in r.stderr, r.stderr
    assert registered(registry) == {}


def test_refused_deploy_leaves_the_function_as_it_was(tmp_path):
    """A refused second deploy changes nothing: same revisions, same traffic."""
    d = function_dir(tmp_path, (MLP / "function.yaml").read_text())
    registry = tmp_path / "registry.sqlite"
    r = petrel("deploy", d, "--registry", registry)
    assert r.returncode == 0, r.stderr
    before = registered(registry)
    (d / "function.yaml").write_text((MLP / "function.yaml").read_text() + "limits: {timeout: forever}\n")
    r = petrel("deploy", d, "--registry", registry)
    assert r.returncode == 2 and "limits.timeout: = forever" in r.stderr, r.stderr
    (d / "function.yaml").write_text((MLP / "function.yaml").read_text().replace("MLP", "MLP v2"))
    r = petrel("deploy", d, "--tag", "Bad_Tag", "--registry", registry)
    assert r.returncode == 2, r.stderr
    assert registered(registry) == before
