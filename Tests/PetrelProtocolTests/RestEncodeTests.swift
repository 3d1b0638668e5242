import Foundation
import Testing
@testable import PetrelProtocol

@Suite struct RestEncodeTests {
    let response = InferResponse(modelName: "m", modelVersion: "1", id: "r1", outputs: [
        InferTensor(name: "y", datatype: .fp32, shape: [1, 3], data: f32([0.1, -2, .nan])),
        InferTensor(name: "s", datatype: .bytes, shape: [2], data: bytesElements(["a\"b", "é"])),
        InferTensor(name: "b", datatype: .bool, shape: [2], data: [1, 0]),
    ])

    @Test func jsonOutputs() throws {
        let request = InferRequest(modelName: "m", inputs: [])
        let (body, header) = try OIPRest.encodeInferResponse(response, request: request)
        #expect(header == nil)
        #expect(text(body) == #"{"model_name":"m","model_version":"1","id":"r1","outputs":[{"name":"y","datatype":"FP32","shape":[1,3],"data":[0.1,-2.0,null]},{"name":"s","datatype":"BYTES","shape":[2],"data":["a\"b","é"]},{"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]}]}"#)
    }

    @Test func requestedOutputsBinaryAndOrder() throws {
        let request = InferRequest(modelName: "m", inputs: [], outputs: [
            RequestedOutput(name: "b", binary: false), RequestedOutput(name: "y", binary: true),
        ])
        let (body, header) = try OIPRest.encodeInferResponse(response, request: request)
        let json = #"{"model_name":"m","model_version":"1","id":"r1","outputs":[{"name":"b","datatype":"BOOL","shape":[2],"data":[true,false]},{"name":"y","datatype":"FP32","shape":[1,3],"parameters":{"binary_data_size":12}}]}"#
        #expect(header == json.utf8.count)
        #expect(text(Array(body.prefix(header ?? 0))) == json)
        #expect(Array(body.dropFirst(header ?? 0)) == response.outputs[0].data)
    }

    @Test func binaryByDefault() throws {
        let request = InferRequest(modelName: "m", inputs: [], outputs: [], binaryOutputsByDefault: true)
        let (body, header) = try OIPRest.encodeInferResponse(response, request: request)
        let h = try #require(header)
        #expect(Array(body.dropFirst(h)) == response.outputs.flatMap(\.data))
    }

    @Test func unknownRequestedOutput() {
        let request = InferRequest(modelName: "m", inputs: [], outputs: [RequestedOutput(name: "zz")])
        #expect(errorMessage { _ = try OIPRest.encodeInferResponse(response, request: request) } == "unknown requested output 'zz'")
    }

    @Test func inconsistentOutputIsInternal() {
        let bad = InferResponse(modelName: "m", outputs: [InferTensor(name: "y", datatype: .fp32, shape: [2], data: f32([1]))])
        do {
            _ = try OIPRest.encodeInferResponse(bad, request: InferRequest(modelName: "m", inputs: []))
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .internal)
        }
    }

    @Test func everyDatatypeRoundTripsThroughJSON() throws {
        let tensors = [
            InferTensor(name: "bool", datatype: .bool, shape: [2], data: [1, 0]),
            InferTensor(name: "u8", datatype: .uint8, shape: [2], data: [0, 255]),
            InferTensor(name: "u16", datatype: .uint16, shape: [2], data: le([UInt16(0), .max])),
            InferTensor(name: "u32", datatype: .uint32, shape: [2], data: le([UInt32(0), .max])),
            InferTensor(name: "u64", datatype: .uint64, shape: [2], data: le([UInt64(0), .max])),
            InferTensor(name: "i8", datatype: .int8, shape: [2], data: le([Int8.min, .max])),
            InferTensor(name: "i16", datatype: .int16, shape: [2], data: le([Int16.min, .max])),
            InferTensor(name: "i32", datatype: .int32, shape: [2], data: le([Int32.min, .max])),
            InferTensor(name: "i64", datatype: .int64, shape: [2], data: le([Int64.min, .max])),
            InferTensor(name: "f16", datatype: .fp16, shape: [3], data: le([UInt16(0x3C00), 0x0001, 0xFBFF])),
            InferTensor(name: "bf16", datatype: .bf16, shape: [2], data: le([UInt16(0x4049), 0x8001])),
            InferTensor(name: "f32", datatype: .fp32, shape: [3], data: f32([1e-45, 3.4028235e38, -0.0])),
            InferTensor(name: "f64", datatype: .fp64, shape: [2], data: f64([0.1, 5e-324])),
            InferTensor(name: "str", datatype: .bytes, shape: [2], data: bytesElements(["x\n\u{1}", ""])),
        ]
        let (body, _) = try OIPRest.encodeInferResponse(InferResponse(modelName: "m", outputs: tensors),
                                                        request: InferRequest(modelName: "m", inputs: []))
        // A response's "outputs" decode as a request's "inputs": the same tensor JSON.
        let asRequest = text(body).replacingOccurrences(of: "\"outputs\"", with: "\"inputs\"")
        let decoded = try decode(asRequest)
        #expect(decoded.inputs == tensors)
    }

    @Test func metadataBodies() {
        let sig = ModelSignature(name: "m", versions: ["1", "2"], platform: "onnx",
                                 inputs: [TensorSpec(name: "x", datatype: .fp32, shape: [-1, 64])],
                                 outputs: [TensorSpec(name: "y", datatype: .int64, shape: [-1])])
        #expect(text(OIPRest.encodeModelMetadata(sig)) == #"{"name":"m","versions":["1","2"],"platform":"onnx","inputs":[{"name":"x","datatype":"FP32","shape":[-1,64]}],"outputs":[{"name":"y","datatype":"INT64","shape":[-1]}]}"#)
        #expect(text(OIPRest.encodeServerMetadata(version: "0.3.0")) == #"{"name":"petrel","version":"0.3.0","extensions":["binary_tensor_data"]}"#)
        #expect(text(OIPRest.encodeLive(true)) == #"{"live":true}"#)
        #expect(text(OIPRest.encodeReady(false)) == #"{"ready":false}"#)
    }
}
