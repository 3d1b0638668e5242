import Foundation
import Testing
@testable import PetrelProtocol

/// Microbenchmarks of the codecs' hot paths, printed for the record; they assert nothing about speed.
/// Debug builds are 10-20× slower than release. Release (-O, copied into a scratch package), 2-core
/// VM shared with other builds, best of 3: REST decode 1×64 FP32 (17-digit literals, 1356 B) 4.5 µs,
/// REST encode 1×10 FP32 1.2 µs, gRPC decode 1×64 raw 2.5 µs, gRPC encode 1×10 0.85 µs,
/// peekModelName 0.1 µs. Not run by default (timings belong in benchmarks, not in the test
/// suite): `PETREL_MICROBENCH=1 swift test --filter Benchmark`.
@Suite(.enabled(if: ProcessInfo.processInfo.environment["PETREL_MICROBENCH"] != nil)) struct Benchmark {
    static func time(_ label: String, iterations: Int, _ body: () throws -> Void) rethrows -> Double {
        for _ in 0..<(iterations / 10) { try body() }
        let start = DispatchTime.now().uptimeNanoseconds
        for _ in 0..<iterations { try body() }
        let ns = Double(DispatchTime.now().uptimeNanoseconds - start) / Double(iterations)
        print("benchmark \(label): \(String(format: "%.2f", ns / 1000)) µs/op")
        return ns
    }

    @Test func restDecode1x64AndEncode1x10() throws {
        // Python-style 17-digit literals, what tritonclient sends for float32 data.
        let values = (0..<64).map { Float($0) * 0.123456 - 3.3 }
        let json = #"{"id":"1","inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[\#(values.map { String(format: "%.17g", Double($0)) }.joined(separator: ","))]}],"outputs":[{"name":"y"}]}"#
        let body = Array(json.utf8)
        let n = 20_000
        var request = try OIPRest.decodeInferRequest(body: body, modelName: "m")
        #expect(floats(request.inputs[0].data) == values)
        _ = try Self.time("REST decode 1x64 FP32 (\(body.count) B)", iterations: n) {
            request = try OIPRest.decodeInferRequest(body: body, modelName: "m")
        }
        let response = InferResponse(modelName: "m", modelVersion: "1", id: "1", outputs: [
            InferTensor(name: "y", datatype: .fp32, shape: [1, 10], data: f32((0..<10).map { Float($0) * 0.3337 - 1 })),
        ])
        var out: [UInt8] = []
        _ = try Self.time("REST encode 1x10 FP32", iterations: n) {
            out = try OIPRest.encodeInferResponse(response, request: request).body
        }
        #expect(!out.isEmpty)
        var m = Inference_ModelInferRequest()
        m.modelName = "m"
        m.inputs = [.with { $0.name = "x"; $0.datatype = "FP32"; $0.shape = [1, 64] }]
        m.rawInputContents = [Data(f32(values))]
        let grpc: [UInt8] = try m.serializedBytes()
        _ = try Self.time("gRPC decode 1x64 FP32 raw", iterations: n) {
            request = try OIPGrpc.decodeInferRequest(grpc)
        }
        _ = try Self.time("gRPC encode 1x10 FP32", iterations: n) {
            out = try OIPGrpc.encodeInferResponse(response, request: request)
        }
        _ = Self.time("gRPC peekModelName", iterations: n) { _ = OIPGrpc.peekModelName(grpc) }
    }
}
