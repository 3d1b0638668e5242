import Foundation
import SwiftProtobuf
import Testing
@testable import PetrelProtocol

@Suite struct GrpcTests {
    func serialized(_ m: Inference_ModelInferRequest) throws -> [UInt8] { try m.serializedBytes() }

    @Test func typedContentsEveryField() throws {
        var m = Inference_ModelInferRequest()
        m.modelName = "m"
        m.modelVersion = "3"
        m.id = "req"
        m.parameters["p"] = .with { $0.int64Param = 5 }
        m.parameters["d"] = .with { $0.doubleParam = 0.5 }
        func input(_ name: String, _ dt: String, _ shape: [Int64], _ fill: (inout Inference_InferTensorContents) -> Void) -> Inference_ModelInferRequest.InferInputTensor {
            .with { $0.name = name; $0.datatype = dt; $0.shape = shape; fill(&$0.contents) }
        }
        m.inputs = [
            input("b", "BOOL", [2]) { $0.boolContents = [true, false] },
            input("i8", "INT8", [2]) { $0.intContents = [-128, 127] },
            input("i16", "INT16", [1]) { $0.intContents = [-300] },
            input("i32", "INT32", [1]) { $0.intContents = [Int32.min] },
            input("i64", "INT64", [1]) { $0.int64Contents = [Int64.max] },
            input("u8", "UINT8", [1]) { $0.uintContents = [255] },
            input("u16", "UINT16", [1]) { $0.uintContents = [65535] },
            input("u32", "UINT32", [1]) { $0.uintContents = [UInt32.max] },
            input("u64", "UINT64", [1]) { $0.uint64Contents = [UInt64.max] },
            input("f32", "FP32", [1, 2]) { $0.fp32Contents = [1.5, -0.25] },
            input("f64", "FP64", [1]) { $0.fp64Contents = [0.1] },
            input("s", "BYTES", [2]) { $0.bytesContents = [Data("ab".utf8), Data()] },
        ]
        m.outputs = [.with { $0.name = "y" }]
        let r = try OIPGrpc.decodeInferRequest(try serialized(m))
        #expect(r.modelName == "m" && r.modelVersion == "3" && r.id == "req")
        #expect(r.parameters == ["p": .int(5), "d": .double(0.5)])
        #expect(r.outputs == [RequestedOutput(name: "y")])
        #expect(r.inputs.map(\.data) == [
            [1, 0], le([Int8(-128), 127]), le([Int16(-300)]), le([Int32.min]), le([Int64.max]), [255],
            le([UInt16(65535)]), le([UInt32.max]), le([UInt64.max]), f32([1.5, -0.25]), f64([0.1]), bytesElements(["ab", ""]),
        ])
        #expect(r.inputs[9].shape == [1, 2])
    }

    @Test func rawContents() throws {
        var m = Inference_ModelInferRequest()
        m.modelName = "m"
        m.inputs = [.with { $0.name = "x"; $0.datatype = "FP16"; $0.shape = [2] },
                    .with { $0.name = "s"; $0.datatype = "BYTES"; $0.shape = [1] }]
        m.rawInputContents = [Data(le([UInt16(0x3C00), 0x4000])), Data(bytesElements(["hey"]))]
        let r = try OIPGrpc.decodeInferRequest(try serialized(m))
        #expect(r.inputs[0] == InferTensor(name: "x", datatype: .fp16, shape: [2], data: le([UInt16(0x3C00), 0x4000])))
        #expect(r.inputs[1].data == bytesElements(["hey"]))
        #expect(r.modelVersion == nil && r.id == nil)
    }

    @Test func errors() throws {
        var m = Inference_ModelInferRequest()
        m.modelName = "m"
        m.inputs = [.with { $0.name = "x"; $0.datatype = "FP32"; $0.shape = [2]; $0.contents.fp32Contents = [1] }]
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': expected 2 elements for shape [2], got 1")
        m.inputs[0].contents = .with { $0.intContents = [1, 2] }
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': datatype FP32 expects fp32_contents, got int_contents")
        m.inputs[0].contents = .with { $0.fp32Contents = [1, 2] }
        m.rawInputContents = [Data(f32([1, 2]))]
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': typed 'contents' cannot be mixed with raw_input_contents")
        m.inputs[0].clearContents()
        m.rawInputContents = [Data(f32([1]))]
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': expected 2 elements for shape [2], got 1")
        m.rawInputContents = [Data(f32([1, 2])), Data()]
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "raw_input_contents has 2 entries for 1 inputs")
        m.rawInputContents = []
        m.inputs[0].datatype = "INT8"
        m.inputs[0].contents = .with { $0.intContents = [1, 200] }
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': value 200 is out of range for INT8 (-128...127)")
        m.inputs[0].datatype = "FP16"
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': FP16 has no typed contents field; send it in raw_input_contents")
        m.inputs[0].datatype = "F32"
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest(try serialized(m)) } == "input 'x': unknown datatype 'F32'")
        #expect(errorMessage { _ = try OIPGrpc.decodeInferRequest([0x0A, 0x05, 0x61]) }?.hasPrefix("malformed inference.ModelInferRequest") == true)
    }

    @Test func responseRoundTrip() throws {
        let response = InferResponse(modelName: "m", modelVersion: "2", id: "q", outputs: [
            InferTensor(name: "y", datatype: .fp32, shape: [1, 2], data: f32([1, 2])),
            InferTensor(name: "e", datatype: .int64, shape: [0], data: []),
            InferTensor(name: "s", datatype: .bytes, shape: [], data: bytesElements(["z"])),
        ])
        let all = try OIPGrpc.encodeInferResponse(response, request: InferRequest(modelName: "m", inputs: []))
        let m = try Inference_ModelInferResponse(serializedBytes: all)
        #expect(m.modelName == "m" && m.modelVersion == "2" && m.id == "q")
        #expect(m.outputs.map(\.name) == ["y", "e", "s"])
        #expect(m.outputs.map(\.datatype) == ["FP32", "INT64", "BYTES"])
        #expect(m.outputs.map(\.shape) == [[1, 2], [0], []])
        #expect(m.rawOutputContents == [Data(f32([1, 2])), Data(), Data(bytesElements(["z"]))])
        // Same bytes as SwiftProtobuf would write.
        var expected = Inference_ModelInferResponse()
        expected.modelName = "m"; expected.modelVersion = "2"; expected.id = "q"
        expected.outputs = m.outputs
        expected.rawOutputContents = m.rawOutputContents
        #expect(try expected.serializedBytes() == all)

        let one = try OIPGrpc.encodeInferResponse(response, request: InferRequest(modelName: "m", inputs: [], outputs: [RequestedOutput(name: "s")]))
        #expect(try Inference_ModelInferResponse(serializedBytes: one).outputs.map(\.name) == ["s"])
        #expect(errorMessage { _ = try OIPGrpc.encodeInferResponse(response, request: InferRequest(modelName: "m", inputs: [], outputs: [RequestedOutput(name: "q")])) } == "unknown requested output 'q'")
    }

    @Test func peekModelName() throws {
        var m = Inference_ModelInferRequest()
        m.modelName = "résnet"
        m.modelVersion = "4"
        m.id = "x"
        m.inputs = [.with { $0.name = "x"; $0.datatype = "FP32"; $0.shape = [1000]; $0.contents.fp32Contents = Array(repeating: 1, count: 1000) }]
        m.rawInputContents = []
        let b = try serialized(m)
        #expect(OIPGrpc.peekModelName(b)! == ("résnet", "4"))
        m.modelVersion = ""
        #expect(OIPGrpc.peekModelName(try serialized(m))! == ("résnet", nil))
        // Fields out of order and repeated: the last occurrence wins, as in proto3.
        let reordered: [UInt8] = [0x1A, 0x01, 0x61, 0x0A, 0x01, 0x61, 0x12, 0x01, 0x39, 0x0A, 0x01, 0x62]
        #expect(OIPGrpc.peekModelName(reordered)! == ("b", "9"))
        #expect(OIPGrpc.peekModelName([])! == ("", nil))
        #expect(OIPGrpc.peekModelName(Array(b.dropLast())) == nil)
        #expect(OIPGrpc.peekModelName([0x0A, 0x02, 0xFF, 0xFE]) == nil)
        #expect(OIPGrpc.peekModelName([0x0B]) == nil)
    }

    @Test func otherRPCs() throws {
        #expect(try Inference_ServerLiveResponse(serializedBytes: OIPGrpc.encodeServerLiveResponse(live: true)).live)
        #expect(try Inference_ServerReadyResponse(serializedBytes: OIPGrpc.encodeServerReadyResponse(ready: true)).ready)
        #expect(try !Inference_ModelReadyResponse(serializedBytes: OIPGrpc.encodeModelReadyResponse(ready: false)).ready)
        let meta = try Inference_ServerMetadataResponse(serializedBytes: OIPGrpc.encodeServerMetadataResponse(version: "1.0"))
        #expect(meta.name == "petrel" && meta.version == "1.0" && meta.extensions == ["binary_tensor_data"])
        let ready = try Inference_ModelReadyRequest.with { $0.name = "m"; $0.version = "2" }.serializedBytes() as [UInt8]
        #expect(try OIPGrpc.decodeModelReadyRequest(ready) == ("m", "2"))
        let mm = try Inference_ModelMetadataRequest.with { $0.name = "m" }.serializedBytes() as [UInt8]
        #expect(try OIPGrpc.decodeModelMetadataRequest(mm) == ("m", nil))
        let sig = ModelSignature(name: "m", versions: ["1"], platform: "onnx",
                                 inputs: [TensorSpec(name: "x", datatype: .fp32, shape: [-1, 4])],
                                 outputs: [TensorSpec(name: "y", datatype: .bytes, shape: [-1])])
        let md = try Inference_ModelMetadataResponse(serializedBytes: OIPGrpc.encodeModelMetadataResponse(sig))
        #expect(md.name == "m" && md.versions == ["1"] && md.platform == "onnx")
        #expect(md.inputs.map(\.name) == ["x"] && md.inputs[0].shape == [-1, 4] && md.outputs[0].datatype == "BYTES")
        #expect(OIPGrpc.Method(rawValue: "/inference.GRPCInferenceService/ModelInfer") == .modelInfer)
    }
}
