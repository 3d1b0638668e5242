import Foundation
import SwiftProtobuf
import Testing
@testable import PetrelProtocol

/// The wire scan behind `decodeInferRequest` must agree with SwiftProtobuf's decode on every
/// input: the same request, or the same error (it hands anything unusual to SwiftProtobuf).
@Suite struct GrpcScanTests {
    func outcome(_ bytes: [UInt8], general: Bool) -> String {
        do {
            let r = general ? try OIPGrpc.decodeInferRequestGeneral(bytes) : try OIPGrpc.decodeInferRequest(bytes)
            return "\(r)"
        } catch {
            return "error: \(error.message)"
        }
    }

    func expectAgreement(_ bytes: [UInt8], scanned: Bool? = nil, _ note: String,
                         sourceLocation: SourceLocation = #_sourceLocation) {
        #expect(outcome(bytes, general: false) == outcome(bytes, general: true), "\(note)", sourceLocation: sourceLocation)
        if let scanned {
            let took = bytes.withUnsafeBufferPointer { OIPGrpc.scanInferRequest($0) } != nil
            #expect(took == scanned, "\(note): scan \(took ? "took" : "declined") it", sourceLocation: sourceLocation)
        }
    }

    @Test func randomMessagesDecodeAlike() throws {
        var rng = LCG(seed: 7)
        let types = ["FP32", "INT64", "UINT8", "BYTES", "FP16", "BOOL", "F32"]
        for round in 0..<400 {
            var m = Inference_ModelInferRequest()
            m.modelName = ["digits-mlp", "m", "", "résnet"][rng.below(4)]
            if rng.below(3) == 0 { m.modelVersion = "\(rng.below(5))" }
            if rng.below(3) == 0 { m.id = "req-\(round)" }
            if rng.below(8) == 0 { m.parameters["p"] = .with { $0.int64Param = 3 } }
            let n = rng.below(3)
            for i in 0..<n {
                var input = Inference_ModelInferRequest.InferInputTensor()
                input.name = "in\(i)"
                input.datatype = types[rng.below(types.count)]
                input.shape = (0..<rng.below(3)).map { _ in Int64(rng.below(4)) - (rng.below(20) == 0 ? 5 : 0) }
                if rng.below(10) == 0 { input.contents.fp32Contents = [1, 2] }
                if rng.below(15) == 0 { input.parameters["shared_memory_region"] = .with { $0.stringParam = "r" } }
                m.inputs.append(input)
                let count = input.shape.reduce(1) { $0 * max(Int($1), 0) }
                let size = ["FP32": 4, "INT64": 8, "UINT8": 1, "FP16": 2, "BOOL": 1][input.datatype] ?? 1
                let bytes = input.datatype == "BYTES"
                    ? bytesElements((0..<count).map { "e\($0)" })
                    : [UInt8]((0..<(count * size + (rng.below(10) == 0 ? 1 : 0))).map { _ in UInt8(rng.below(256)) })
                m.rawInputContents.append(Data(bytes))
            }
            if rng.below(10) == 0 { m.rawInputContents.append(Data([1])) }
            if rng.below(4) == 0 { m.outputs.append(.with { $0.name = "y"; if rng.below(2) == 0 { $0.parameters["binary_data"] = .with { $0.boolParam = true } } }) }
            let bytes: [UInt8] = try m.serializedBytes()
            expectAgreement(bytes, "round \(round)")
            // Truncations of the same message: malformed, or a shorter valid message.
            expectAgreement(Array(bytes.prefix(rng.below(bytes.count + 1))), "round \(round), truncated")
        }
    }

    @Test func wireVariants() throws {
        var m = Inference_ModelInferRequest()
        m.modelName = "m"
        m.inputs = [.with { $0.name = "x"; $0.datatype = "FP32"; $0.shape = [1, 2] }]
        m.rawInputContents = [Data(f32([1, 2]))]
        let base: [UInt8] = try m.serializedBytes()
        expectAgreement(base, scanned: true, "plain")

        // The same input with its shape unpacked (two varint fields), as some encoders write it.
        let input: [UInt8] = [0x0A, 1, 0x78, 0x12, 4] + Array("FP32".utf8) + [0x18, 1, 0x18, 2]
        let unpacked: [UInt8] = [0x0A, 1, 0x6D, 0x2A, UInt8(input.count)] + input + [0x3A, 8] + f32([1, 2])
        expectAgreement(unpacked, scanned: true, "unpacked shape")
        #expect(try OIPGrpc.decodeInferRequest(unpacked).inputs[0].shape == [1, 2])

        // A later model_name wins; an unknown field (99, varint) is skipped.
        let repeated = base + [0x0A, 2, 0x6E, 0x32, 0x98, 0x06, 0x01]
        expectAgreement(repeated, scanned: true, "repeated singular field, unknown field")
        #expect(try OIPGrpc.decodeInferRequest(repeated).modelName == "n2")

        // Invalid UTF-8 in model_name, and model_name as a varint (SwiftProtobuf refuses the first
        // and keeps the second as an unknown field): the scan leaves both to SwiftProtobuf.
        expectAgreement([0x0A, 1, 0xFF] + base.dropFirst(3), scanned: false, "invalid UTF-8")
        expectAgreement([0x08, 1] + base, scanned: false, "wrong wire type")
        // A tag padded to 6 bytes: SwiftProtobuf refuses tags over 5 bytes.
        expectAgreement([0x8A, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01, 0x6D] + base, scanned: false, "6-byte tag")
        // A requested output whose parameters map has a key that is not UTF-8, or a bad wire type.
        expectAgreement([0x0A, 1, 0x6D, 0x32, 8, 0x0A, 1, 0x79, 0x12, 3, 0x0A, 1, 0xFF], scanned: false, "output parameter key")
        expectAgreement([0x0A, 1, 0x6D, 0x32, 6, 0x0A, 1, 0x79, 0x12, 1, 0xFF], scanned: false, "output parameter bytes")
        // Typed contents and no raw: the general path.
        m.rawInputContents = []
        m.inputs[0].contents.fp32Contents = [1, 2]
        expectAgreement(try m.serializedBytes(), scanned: false, "typed contents")
    }
}

/// Knuth's MMIX LCG: reproducible message mixes, no quality needed beyond variety.
struct LCG {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func below(_ n: Int) -> Int {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Int(state >> 33) % n
    }
}
