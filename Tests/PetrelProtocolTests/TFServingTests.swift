import Testing
@testable import PetrelProtocol

@Suite struct TFServingTests {
    let one = ModelSignature(name: "half", versions: ["1"], inputs: [TensorSpec(name: "x", datatype: .fp32, shape: [-1, 2])],
                             outputs: [TensorSpec(name: "y", datatype: .fp32, shape: [-1])])
    let two = ModelSignature(name: "m", versions: ["1"], inputs: [
        TensorSpec(name: "a", datatype: .int64, shape: [-1]), TensorSpec(name: "s", datatype: .bytes, shape: [-1, 2]),
    ], outputs: [TensorSpec(name: "p", datatype: .fp32, shape: [-1, 2]), TensorSpec(name: "c", datatype: .int32, shape: [-1])])

    func decode(_ json: String, _ sig: ModelSignature) throws -> TFServingRest.PredictRequest {
        try TFServingRest.decodePredictRequest(body: bytes(json), signature: sig)
    }

    @Test func rowFormBareInstances() throws {
        let r = try decode(#"{"signature_name":"serving_default","instances":[[1,2],[3,4],[5,6]]}"#, one)
        #expect(r.format == .row && r.signatureName == "serving_default")
        #expect(r.inference.inputs == [InferTensor(name: "x", datatype: .fp32, shape: [3, 2], data: f32([1, 2, 3, 4, 5, 6]))])
        #expect(r.inference.modelName == "half")
    }

    @Test func rowFormNamedInstances() throws {
        let r = try decode(#"{"instances":[{"a":1,"s":["p","q"]},{"s":["r","t"],"a":2}]}"#, two)
        #expect(r.inference.inputs[0] == InferTensor(name: "a", datatype: .int64, shape: [2], data: le([Int64(1), 2])))
        #expect(r.inference.inputs[1] == InferTensor(name: "s", datatype: .bytes, shape: [2, 2], data: bytesElements(["p", "q", "r", "t"])))
    }

    @Test func columnarForms() throws {
        let r = try decode(#"{"inputs":[[1,2]]}"#, one)
        #expect(r.format == .columnar)
        #expect(r.inference.inputs[0].shape == [1, 2])
        let n = try decode(#"{"inputs":{"s":[["a","b"]],"a":[7]}}"#, two)
        #expect(n.inference.inputs.map(\.name) == ["s", "a"])
        #expect(n.inference.inputs[0].shape == [1, 2])
        #expect(try decode(#"{"inputs":{"x":[[1,2]]}}"#, one).inference.inputs[0].shape == [1, 2])
    }

    @Test func errors() {
        let cases: [(String, ModelSignature, String)] = [
            (#"{"instances":[[1,2],[3]]}"#, one, "instance 1: input 'x' has shape [1], earlier instances [2]"),
            (#"{"instances":[]}"#, one, "'instances' is empty"),
            (#"{"instances":[[1,"a"]]}"#, one, #"instance 0: input 'x': datatype FP32 expects numbers, got string "a""#),
            (#"{"instances":[{"a":1}]}"#, two, "instance 0: missing input 's'"),
            (#"{"instances":[{"a":1,"z":2}]}"#, two, "instance 0: unknown input 'z' (inputs: 'a', 's')"),
            (#"{"instances":[1]}"#, two, "instance 0: the model has 2 inputs, so each instance must be an object keyed by input name"),
            (#"{"inputs":[1],"instances":[1]}"#, one, "the request has both 'instances' and 'inputs'"),
            (#"{"signature_name":"x"}"#, one, "the request has neither 'instances' nor 'inputs'"),
            (#"{"inputs":{"a":[1]}}"#, two, "missing input 's'"),
            (#"{"inputs":[1]}"#, two, "the model has 2 inputs, so 'inputs' must be an object keyed by input name"),
        ]
        for (json, sig, message) in cases {
            #expect(errorMessage { _ = try decode(json, sig) } == message, "\(json)")
        }
        #expect(text(TFServingRest.encodeError(.invalidArgument("no"))) == #"{"error":"no"}"#)
    }

    @Test func encodeBothForms() throws {
        let response = InferResponse(modelName: "m", outputs: [
            InferTensor(name: "p", datatype: .fp32, shape: [2, 2], data: f32([0.5, 1, 2, 3])),
            InferTensor(name: "c", datatype: .int32, shape: [2], data: le([Int32(7), 8])),
        ])
        var request = try decode(#"{"instances":[{"a":1,"s":["p","q"]},{"a":2,"s":["r","t"]}]}"#, two)
        #expect(text(try TFServingRest.encodePredictResponse(response, request: request))
            == #"{"predictions":[{"p":[0.5,1.0],"c":7},{"p":[2.0,3.0],"c":8}]}"#)
        request.format = .columnar
        #expect(text(try TFServingRest.encodePredictResponse(response, request: request))
            == #"{"outputs":{"p":[[0.5,1.0],[2.0,3.0]],"c":[7,8]}}"#)
        let single = InferResponse(modelName: "half", outputs: [InferTensor(name: "y", datatype: .fp32, shape: [3], data: f32([1, 2, 3]))])
        let rows = try decode(#"{"instances":[[1,2],[3,4],[5,6]]}"#, one)
        #expect(text(try TFServingRest.encodePredictResponse(single, request: rows)) == #"{"predictions":[1.0,2.0,3.0]}"#)
        let cols = try decode(#"{"inputs":[[1,2]]}"#, one)
        #expect(text(try TFServingRest.encodePredictResponse(single, request: cols)) == #"{"outputs":[1.0,2.0,3.0]}"#)
        let scalar = InferResponse(modelName: "half", outputs: [InferTensor(name: "y", datatype: .fp32, shape: [], data: f32([4]))])
        #expect(text(try TFServingRest.encodePredictResponse(scalar, request: cols)) == #"{"outputs":4.0}"#)
        #expect(errorMessage { _ = try TFServingRest.encodePredictResponse(scalar, request: rows) } == "row-format predictions need outputs with a batch dimension")
    }

    @Test func statusAndMetadata() {
        #expect(text(TFServingRest.encodeModelStatus(versions: ["1"])) == #"{"model_version_status":[{"version":"1","state":"AVAILABLE","status":{"error_code":"OK","error_message":""}}]}"#)
        #expect(text(TFServingRest.encodeMetadata(one, version: nil)) == #"{"model_spec":{"name":"half","signature_name":"","version":"1"},"metadata":{"signature_def":{"signature_def":{"serving_default":{"inputs":{"x":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":"-1","name":""},{"size":"2","name":""}],"unknown_rank":false},"name":"x:0"}},"outputs":{"y":{"dtype":"DT_FLOAT","tensor_shape":{"dim":[{"size":"-1","name":""}],"unknown_rank":false},"name":"y:0"}},"method_name":"tensorflow/serving/predict"}}}}}"#)
        #expect(InferDataType.allCases.map(TFServingRest.tfDataType).count == Set(InferDataType.allCases.map(TFServingRest.tfDataType)).count)
    }
}
