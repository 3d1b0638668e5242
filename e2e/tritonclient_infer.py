"""Runs tritonclient against a server in its own process: tritonclient.grpc registers the
`inference` proto package in protobuf's global pool, which would clash with the stubs test_grpc.py
generates from our .proto in the pytest process.

usage: tritonclient_infer.py {http,grpc} HOST:PORT FUNCTION CASE"""
import sys

import numpy as np

from conftest import reference

proto, url, function, case = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
if proto == "http":
    import tritonclient.http as tc
else:
    import tritonclient.grpc as tc

client = tc.InferenceServerClient(url=url)
assert client.is_server_live(), "server not live"
assert client.is_server_ready(), "server not ready"
assert client.is_model_ready(function), f"{function} not ready"
meta = client.get_model_metadata(function)
name = meta["name"] if isinstance(meta, dict) else meta.name
assert name == function, meta

inputs, outputs = reference(function, case)
def make_inputs():
    out = []
    for n, a in inputs:
        t = tc.InferInput(n, list(a.shape), {"float32": "FP32", "int64": "INT64"}[str(a.dtype)])
        t.set_data_from_numpy(a)
        out.append(t)
    return out

res = client.infer(function, make_inputs())
for n, want in outputs:
    np.testing.assert_allclose(res.as_numpy(n), want, atol=1e-3, err_msg=f"{proto} {function} {n}")
if proto == "http":
    # Outputs as JSON instead of the binary extension, and inputs as JSON too.
    ins = make_inputs()
    for t, (_, a) in zip(ins, inputs):
        t.set_data_from_numpy(a, binary_data=False)
    res = client.infer(function, ins, outputs=[tc.InferRequestedOutput(outputs[0][0], binary_data=False)])
    np.testing.assert_allclose(res.as_numpy(outputs[0][0]), outputs[0][1], atol=1e-3, err_msg="http json")
client.close()
print("ok")
