import Testing
@testable import PetrelProtocol

@Suite struct ValidationTests {
    let sig = ModelSignature(name: "m", inputs: [
        TensorSpec(name: "x", datatype: .fp32, shape: [-1, 2]), TensorSpec(name: "s", datatype: .bytes, shape: [1]),
    ], outputs: [TensorSpec(name: "y", datatype: .fp32, shape: [-1])])
    let x = InferTensor(name: "x", datatype: .fp32, shape: [1, 2], data: f32([1, 2]))
    let s = InferTensor(name: "s", datatype: .bytes, shape: [1], data: bytesElements(["a"]))

    func check(_ inputs: [InferTensor], outputs: [RequestedOutput] = []) -> String? {
        var r = InferRequest(modelName: "m", inputs: inputs, outputs: outputs)
        return errorMessage { try validate(&r, against: sig) }
    }

    @Test func acceptsAndReorders() throws {
        var r = InferRequest(modelName: "m", inputs: [s, x], outputs: [RequestedOutput(name: "y")])
        try validate(&r, against: sig)
        #expect(r.inputs.map(\.name) == ["x", "s"])
    }

    @Test func messages() {
        var wrongType = x; wrongType.datatype = .fp64; wrongType.data = f64([1, 2])
        var wrongRank = x; wrongRank.shape = [2]
        var wrongDim = x; wrongDim.shape = [1, 3]; wrongDim.data = f32([1, 2, 3])
        var short = x; short.data = f32([1])
        var ragged = x; ragged.data = [0, 0, 0]
        var badBytes = s; badBytes.data = [9, 0, 0, 0]
        var twoStrings = s; twoStrings.data = bytesElements(["a", "b"])
        let cases: [([InferTensor], [RequestedOutput], String)] = [
            ([x, x, s], [], "duplicate input 'x'"),
            ([x, s, InferTensor(name: "z", datatype: .fp32, shape: [], data: f32([1]))], [], "unknown input 'z' for model 'm' (inputs: 'x', 's')"),
            ([x], [], "missing input 's' (BYTES [1])"),
            ([wrongType, s], [], "input 'x': expected datatype FP32, got FP64"),
            ([wrongRank, s], [], "input 'x': expected rank 2 (shape [-1,2]), got rank 1 (shape [2])"),
            ([wrongDim, s], [], "input 'x': dimension 1 is 3, expected 2 (shape [1,3], model expects [-1,2])"),
            ([short, s], [], "input 'x': expected 2 elements for shape [1,2], got 1"),
            ([ragged, s], [], "input 'x': expected 8 bytes for shape [1,2] FP32, got 3"),
            ([x, badBytes], [], "input 's': BYTES data is not a sequence of 4-byte-length-prefixed elements"),
            ([x, twoStrings], [], "input 's': expected 1 elements for shape [1], got 2"),
            ([x, s], [RequestedOutput(name: "q")], "unknown requested output 'q' for model 'm' (outputs: 'y')"),
            ([x, s], [RequestedOutput(name: "y"), RequestedOutput(name: "y")], "duplicate requested output 'y'"),
        ]
        for (inputs, outputs, message) in cases {
            #expect(check(inputs, outputs: outputs) == message)
        }
    }
}
