"""SIGTERM and SIGINT stop `petrel serve` gracefully from the moment it announces itself.

The handler used to be a Dispatch signal source, armed asynchronously after `resume()` while the
signal was already set to SIG_IGN: a SIGTERM sent right after the announcement could be discarded,
and the server then never stopped (12 of 25 tries with the cores kept busy)."""
import multiprocessing
import signal
import time

import pytest

from conftest import FUNCTIONS, Server


def spin(seconds):
    end = time.time() + seconds
    while time.time() < end:
        pass


@pytest.mark.parametrize("workers", [False, True])
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_right_after_the_announcement_stops_the_server(tmp_path, workers, sig):
    functions = tmp_path / "functions"
    (functions / "mlp").mkdir(parents=True)
    (functions / "mlp" / "model.onnx").symlink_to(FUNCTIONS / "digits-mlp" / "model.onnx")
    (functions / "mlp" / "function.yaml").write_text("name: mlp\nmodel: model.onnx\n")
    # Busy cores widen the start-up window the old handler lost signals in; bounded, ends by itself.
    busy = [multiprocessing.Process(target=spin, args=(60,)) for _ in range(3)]
    for p in busy:
        p.start()
    try:
        for i in range(8):
            registry = None
            if workers:   # under tmp_path, so nothing is left in /tmp
                (tmp_path / f"registry{i}").mkdir()
                registry = tmp_path / f"registry{i}" / "petrel.sqlite"
            s = Server("--no-access-log", functions=functions, workers=workers, registry=registry)
            assert s.stop(sig=sig, timeout=10) == 0, "\n".join(s.log[-20:])
    finally:
        for p in busy:
            p.terminate()
            p.join()
