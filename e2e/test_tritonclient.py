"""tritonclient[http] and tritonclient[grpc] (clients no one here wrote) on every bundled function,
outputs checked against the functions' reference outputs."""
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import server_in_both_modes, has_minilm

# Against both modes: `petrel serve`'s default (gateway + worker processes) and --in-process.
server = pytest.fixture(scope="module", params=["in-process", "workers"])(server_in_both_modes)

FUNCTIONS = ["digits-mlp", "digits-cnn"] + (["minilm"] if has_minilm() else [])


@pytest.mark.parametrize("proto", ["http", "grpc"])
@pytest.mark.parametrize("function", FUNCTIONS)
def test_tritonclient(server, proto, function):
    r = subprocess.run([sys.executable, str(Path(__file__).parent / "tritonclient_infer.py"), proto, server.address, function, "0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr
