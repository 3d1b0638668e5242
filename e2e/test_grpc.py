"""The Open Inference Protocol over gRPC with grpcio stubs generated from our .proto, and
tritonclient (HTTP and gRPC) on digits-mlp and MiniLM, checked against reference outputs."""
import urllib.request

import grpc
import numpy as np
import pytest

from conftest import FUNCTIONS, server_in_both_modes, grpc_stubs, reference

# Every test here runs against both modes: the gateway forwarding to worker processes (what
# `petrel serve` runs by default) must answer exactly as in-process serving does.
server = pytest.fixture(scope="module", params=["in-process", "workers"])(server_in_both_modes)


@pytest.fixture(scope="module")
def stub(server):
    pb2, pb2_grpc = grpc_stubs()
    channel = grpc.insecure_channel(server.address)
    yield pb2, pb2_grpc.GRPCInferenceServiceStub(channel)
    channel.close()


def infer_request(pb2, function, case=0, raw=True):
    inputs, _ = reference(function, case)
    req = pb2.ModelInferRequest(model_name=function, id="g-1")
    for name, a in inputs:
        t = req.inputs.add(name=name, datatype={"float32": "FP32", "int64": "INT64"}[str(a.dtype)], shape=list(a.shape))
        if raw:
            req.raw_input_contents.append(a.astype(a.dtype.newbyteorder("<")).tobytes())
        elif a.dtype == np.float32:
            t.contents.fp32_contents.extend(a.flatten().tolist())
        else:
            t.contents.int64_contents.extend(a.flatten().tolist())
    return req


@pytest.mark.parametrize("raw", [True, False])
def test_model_infer(stub, raw):
    pb2, s = stub
    resp = s.ModelInfer(infer_request(pb2, "digits-mlp", 2, raw))
    assert resp.model_name == "digits-mlp" and resp.id == "g-1"
    _, outputs = reference("digits-mlp", 2)
    out = resp.outputs[0]
    assert out.name == "probabilities" and out.datatype == "FP32" and list(out.shape) == list(outputs[0][1].shape)
    got = np.frombuffer(resp.raw_output_contents[0], dtype="<f4").reshape(out.shape)
    np.testing.assert_allclose(got, outputs[0][1], atol=1e-4)


def test_health_and_metadata(stub):
    pb2, s = stub
    assert s.ServerLive(pb2.ServerLiveRequest()).live
    assert s.ServerReady(pb2.ServerReadyRequest()).ready
    assert s.ModelReady(pb2.ModelReadyRequest(name="digits-cnn")).ready
    meta = s.ServerMetadata(pb2.ServerMetadataRequest())
    assert meta.name == "petrel"
    m = s.ModelMetadata(pb2.ModelMetadataRequest(name="digits-cnn"))
    assert m.inputs[0].name == "input" and list(m.inputs[0].shape) == [-1, 1, 8, 8]


def test_errors(stub, server):
    pb2, s = stub
    with pytest.raises(grpc.RpcError) as e:
        s.ModelInfer(pb2.ModelInferRequest(model_name="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND and "nope" in e.value.details()
    bad = infer_request(pb2, "digits-mlp")
    bad.inputs[0].shape[:] = [1, 32]
    with pytest.raises(grpc.RpcError) as e:
        s.ModelInfer(bad)
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "input" in e.value.details()
    with pytest.raises(grpc.RpcError) as e:
        s.ModelMetadata(pb2.ModelMetadataRequest(name="nope"))
    assert e.value.code() == grpc.StatusCode.NOT_FOUND
    channel = grpc.insecure_channel(server.address)
    unknown = channel.unary_unary("/inference.GRPCInferenceService/ModelStreamInfer")
    with pytest.raises(grpc.RpcError) as e:
        unknown(b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    with pytest.raises(grpc.RpcError) as e:
        channel.unary_unary("/other.Service/Call")(b"")
    assert e.value.code() == grpc.StatusCode.UNIMPLEMENTED
    channel.close()


def test_message_over_the_limit_is_resource_exhausted_and_the_server_goes_on(server):
    pb2, pb2_grpc = grpc_stubs()
    channel = grpc.insecure_channel(server.address, options=[("grpc.max_send_message_length", 200 << 20)])
    s = pb2_grpc.GRPCInferenceServiceStub(channel)
    huge = pb2.ModelInferRequest(model_name="digits-mlp")
    huge.inputs.add(name="input", datatype="FP32", shape=[300000, 64])
    huge.raw_input_contents.append(bytes(300000 * 64 * 4))  # 76.8 MB > the 64 MiB default
    with pytest.raises(grpc.RpcError) as e:
        s.ModelInfer(huge)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert s.ServerLive(pb2.ServerLiveRequest(), timeout=5).live
    channel.close()


def test_concurrent_calls_are_batched_and_each_gets_its_own_answer(stub, server):
    """digits-mlp asks for dynamic batching: 300 calls in flight on one HTTP/2 connection arrive
    together and run in batches, in-process and in a worker; every call still gets exactly the
    reference answer of its own input and its own id."""
    pb2, s = stub
    cases = sorted(p.name for p in (FUNCTIONS / "digits-mlp").glob("test_data_set_*"))
    refs = [reference("digits-mlp", int(c.rsplit("_", 1)[1])) for c in cases]
    futures = []
    for i in range(300):
        (name, x), = refs[i % len(refs)][0]
        req = pb2.ModelInferRequest(model_name="digits-mlp", id=f"c-{i}")
        req.inputs.add(name=name, datatype="FP32", shape=list(x.shape))
        req.raw_input_contents.append(x.astype("<f4").tobytes())
        futures.append(s.ModelInfer.future(req, timeout=60))
    for i, f in enumerate(futures):
        resp = f.result()
        (_, want), = refs[i % len(refs)][1]
        got = np.frombuffer(resp.raw_output_contents[0], dtype="<f4").reshape(list(resp.outputs[0].shape))
        assert resp.id == f"c-{i}"
        np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-6)
    if server.workers:
        return  # a worker's metrics stay in the worker
    metrics = urllib.request.urlopen(f"{server.url}/metrics", timeout=10).read().decode()
    executions = [l for l in metrics.splitlines() if l.startswith('petrel_batch_executions_total{function="digits-mlp"}')]
    assert executions and float(executions[0].split()[-1]) > 0, metrics
