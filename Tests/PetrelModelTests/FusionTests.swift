import Foundation
import Testing
@testable import PetrelModel

/// Each fusion is checked on a graph written the way exporters write it: the fused graph must have
/// the fused op, none of the pattern's ops, and the same outputs as the unfused graph (run with
/// passes off) within float rounding.
@Suite struct FusionTests {
    func attr(_ name: String, ints: [Int64]) -> Onnx_AttributeProto { .with { $0.name = name; $0.type = .ints; $0.ints = ints } }

    func compare(_ model: Data, input: Tensor, expectOps: [String: Int], absentOps: [String]) throws {
        try compare(model, inputs: [input], expectOps: expectOps, absentOps: absentOps)
    }

    func compare(_ model: Data, inputs: [Tensor], expectOps: [String: Int], absentOps: [String]) throws {
        let raw = try ONNXImporter.importModel(model)
        let (fused, _) = try Compiler.optimize(raw)
        for (op, n) in expectOps { #expect(fused.opCounts[op] == n, "\(op): \(fused.opCounts)") }
        for op in absentOps { #expect(fused.opCounts[op] == nil, "\(op) left in \(fused.opCounts)") }
        let a = try Executor(graph: raw, threads: 1).run(inputs)[0]
        let b = try Executor(graph: fused, threads: 1).run(inputs)[0]
        #expect(a.shape == b.shape)
        let worst = (0..<a.count).map { abs(a.element(at: $0) - b.element(at: $0)) }.max() ?? 0
        #expect(worst < 1e-5, "max difference \(worst)")
    }

    func randomInput(_ shape: [Int], seed: UInt64 = 7) -> Tensor {
        var rng = SplitMix(seed: seed)
        return Tensor(shape: shape, (0..<shape.reduce(1, *)).map { _ in Float(rng.next() % 2000) / 100 - 10 })
    }

    @Test func decomposedLayerNormBecomesOneOp() throws {
        let c = 24
        let m = onnxModel(opset: 13, inputs: [("x", 1, [2, 5, Int64(c)])], outputs: ["y"], nodes: [
            ("ReduceMean", ["x"], ["mean"], [attr("axes", ints: [-1])]),
            ("Sub", ["x", "mean"], ["d"], []),
            ("Pow", ["d", "two"], ["d2"], []),
            ("ReduceMean", ["d2"], ["var"], [attr("axes", ints: [-1])]),
            ("Add", ["var", "eps"], ["ve"], []),
            ("Sqrt", ["ve"], ["s"], []),
            ("Div", ["d", "s"], ["n"], []),
            ("Mul", ["n", "gamma"], ["ng"], []),
            ("Add", ["ng", "beta"], ["y"], []),
        ], initializers: [
            floatInitializer("two", [], [2]), floatInitializer("eps", [], [1e-5]),
            floatInitializer("gamma", [Int64(c)], (0..<c).map { 0.5 + Float($0) / 10 }),
            floatInitializer("beta", [Int64(c)], (0..<c).map { Float($0) / 7 - 1 }),
        ])
        try compare(m, input: randomInput([2, 5, c]), expectOps: ["LayerNormalization": 1],
                    absentOps: ["ReduceMean", "Sub", "Pow", "Sqrt", "Div", "Mul", "Add"])
    }

    /// The residual Add before a LayerNorm joins it; a broadcasting Add too (run unfused inside),
    /// and an Add whose sum is also read elsewhere stays.
    @Test func residualAddJoinsLayerNorm() throws {
        let c = 16
        let ln = [Onnx_AttributeProto.with { $0.name = "axis"; $0.type = .int; $0.i = -1 }]
        let inits = [floatInitializer("gamma", [Int64(c)], (0..<c).map { 0.5 + Float($0) / 10 }),
                     floatInitializer("beta", [Int64(c)], (0..<c).map { Float($0) / 7 - 1 }),
                     floatInitializer("row", [Int64(c)], (0..<c).map { Float($0) / 3 })]
        for (other, shape) in [("r", [2, 3, Int64(c)]), ("row", [2, 3, Int64(c)])] {
            let m = onnxModel(opset: 17, inputs: [("x", 1, [2, 3, Int64(c)])] + (other == "r" ? [("r", 1, shape)] : []),
                              outputs: ["y"], nodes: [
                ("Add", ["x", other], ["s"], []),
                ("LayerNormalization", ["s", "gamma", "beta"], ["y"], ln),
            ], initializers: inits)
            let inputs = [randomInput([2, 3, c])] + (other == "r" ? [randomInput([2, 3, c], seed: 9)] : [])
            try compare(m, inputs: inputs, expectOps: ["AddLayerNormalization": 1], absentOps: ["Add", "LayerNormalization"])
        }
        let shared = onnxModel(opset: 17, inputs: [("x", 1, [2, Int64(c)]), ("r", 1, [2, Int64(c)])], outputs: ["y", "s"], nodes: [
            ("Add", ["x", "r"], ["s"], []),
            ("LayerNormalization", ["s", "gamma", "beta"], ["y"], ln),
        ], initializers: inits)
        try compare(shared, inputs: [randomInput([2, c]), randomInput([2, c], seed: 3)],
                    expectOps: ["Add": 1, "LayerNormalization": 1], absentOps: ["AddLayerNormalization"])
    }

    @Test func layerNormWithoutAffineAndWithSquareAsMul() throws {
        let m = onnxModel(opset: 13, inputs: [("x", 1, [3, 16])], outputs: ["y"], nodes: [
            ("ReduceMean", ["x"], ["mean"], [attr("axes", ints: [1])]),
            ("Sub", ["x", "mean"], ["d"], []),
            ("Mul", ["d", "d"], ["d2"], []),
            ("ReduceMean", ["d2"], ["var"], [attr("axes", ints: [1])]),
            ("Add", ["var", "eps"], ["ve"], []),
            ("Sqrt", ["ve"], ["s"], []),
            ("Div", ["d", "s"], ["y"], []),
        ], initializers: [floatInitializer("eps", [], [1e-6])])
        try compare(m, input: randomInput([3, 16]), expectOps: ["LayerNormalization": 1], absentOps: ["ReduceMean", "Sqrt"])
    }

    @Test func geluAndDenseFuse() throws {
        let m = onnxModel(opset: 17, inputs: [("x", 1, [4, 8])], outputs: ["y"], nodes: [
            ("MatMul", ["x", "w"], ["h"], []),
            ("Add", ["h", "b"], ["hb"], []),
            ("Div", ["hb", "sqrt2"], ["q"], []),
            ("Erf", ["q"], ["e"], []),
            ("Add", ["e", "one"], ["e1"], []),
            ("Mul", ["hb", "e1"], ["p"], []),
            ("Mul", ["p", "half"], ["y"], []),
        ], initializers: [
            floatInitializer("w", [8, 20], (0..<160).map { Float($0 % 13) / 13 - 0.5 }),
            floatInitializer("b", [20], (0..<20).map { Float($0) / 20 }),
            floatInitializer("sqrt2", [], [1.4142135]), floatInitializer("one", [], [1]), floatInitializer("half", [], [0.5]),
        ])
        try compare(m, input: randomInput([4, 8]), expectOps: ["Dense": 1], absentOps: ["Erf", "MatMul", "Add", "Mul", "Div"])
    }

    @Test func bertAttentionMaskBecomesMaskBias() throws {
        let m = onnxModel(opset: 13, inputs: [("mask", 7, [2, 6])], outputs: ["y"], nodes: [
            ("Unsqueeze", ["mask", "ax1"], ["u1"], []),
            ("Unsqueeze", ["u1", "ax2"], ["u2"], []),
            ("Cast", ["u2"], ["f"], [.with { $0.name = "to"; $0.type = .int; $0.i = 1 }]),
            ("Sub", ["one", "f"], ["inv"], []),
            ("Mul", ["inv", "big"], ["y"], []),
        ], initializers: [
            .with { $0.name = "ax1"; $0.dataType = 7; $0.dims = [1]; $0.int64Data = [1] },
            .with { $0.name = "ax2"; $0.dataType = 7; $0.dims = [1]; $0.int64Data = [2] },
            floatInitializer("one", [], [1]), floatInitializer("big", [], [-10000]),
        ])
        let mask = Tensor(shape: [2, 6], [Int64(1), 1, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0])
        try compare(m, input: mask, expectOps: ["MaskBias": 1], absentOps: ["Cast", "Sub", "Mul"])
        let (fused, _) = try Compiler.optimize(try ONNXImporter.importModel(m))
        let y = try Executor(graph: fused, threads: 1).run([mask])[0]
        #expect(y.shape == [2, 1, 1, 6])
        #expect(y.array(Float.self) == [0, 0, 0, -10000, -10000, -10000, 0, 0, 0, 0, 0, -10000])
    }

    @Test func petrelOpsAreNotAcceptedFromModelFiles() {
        for op in ["Dense", "MaskBias", "Attention"] {
            let m = onnxModel(inputs: [("x", 1, [2])], outputs: ["y"], nodes: [(op, ["x"], ["y"], [])])
            #expect(expectModelError(.unsupported, containing: "op \(op) (domain ai.onnx, opset 17) is not supported") {
                _ = try ONNXImporter.importModel(m)
            } == nil)
        }
    }

    /// Attention as torch exports it, on q, k, v of [2, 6, 3, 4] ([batch, seq, heads, dim]): heads
    /// transposed in, a scale, optionally an additive mask and the transpose back out.
    func attentionModel(mask: Bool, transposeOut: Bool) -> Data {
        func perm(_ p: [Int64]) -> Onnx_AttributeProto { attr("perm", ints: p) }
        var nodes: [(String, [String], [String], [Onnx_AttributeProto])] = [
            ("Transpose", ["q"], ["qt"], [perm([0, 2, 1, 3])]),
            ("Transpose", ["k"], ["kt"], [perm([0, 2, 3, 1])]),
            ("Transpose", ["v"], ["vt"], [perm([0, 2, 1, 3])]),
            ("MatMul", ["qt", "kt"], ["s"], []),
            ("Mul", ["s", "scale"], ["ss"], []),
        ]
        if mask { nodes.append(("Add", ["ss", "mask"], ["sm"], [])) }
        nodes.append(("Softmax", [mask ? "sm" : "ss"], ["p"], []))
        nodes.append(("MatMul", ["p", "vt"], [transposeOut ? "pv" : "o"], []))
        if transposeOut { nodes.append(("Transpose", ["pv"], ["o"], [perm([0, 2, 1, 3])])) }
        return onnxModel(opset: 17, inputs: [("q", 1, [2, 6, 3, 4]), ("k", 1, [2, 6, 3, 4]), ("v", 1, [2, 6, 3, 4])]
                            + (mask ? [("mask", 1, [2, 1, 1, 6])] : []),
                         outputs: ["o"], nodes: nodes, initializers: [floatInitializer("scale", [], [0.5])])
    }

    var qkv: [Tensor] { [randomInput([2, 6, 3, 4], seed: 1), randomInput([2, 6, 3, 4], seed: 2), randomInput([2, 6, 3, 4], seed: 3)] }

    /// Without the transpose back, the product stays two MatMuls reading the inputs through strides.
    @Test func attentionTransposesAndScaleFoldIntoMatMul() throws {
        try compare(attentionModel(mask: false, transposeOut: false), inputs: qkv,
                    expectOps: ["MatMul": 2, "Softmax": 1], absentOps: ["Transpose", "Mul"])
    }

    /// The whole block becomes one Attention op with the same outputs, with or without the mask
    /// (one key masked out with −inf).
    @Test func attentionBlockFusesIntoOneOp() throws {
        let mask = randomInput([2, 1, 1, 6], seed: 4)
        mask.pointer(Float.self)[5] = -.infinity
        for withMask in [true, false] {
            try compare(attentionModel(mask: withMask, transposeOut: true), inputs: qkv + (withMask ? [mask] : []),
                        expectOps: ["Attention": 1], absentOps: ["MatMul", "Softmax", "Transpose", "Mul", "Add"])
        }
    }

    /// Conv+Relu+MaxPool(2×2, stride 2) becomes one Conv: pooled inside the Winograd kernel for
    /// even 8×8 outputs, after the conv from the workspace for 7×7 (floor: 3×3) and for a 1×1
    /// kernel that is not Winograd's; a padded or strided-differently pool stays separate.
    @Test func maxPoolFusesIntoConv() throws {
        for (side, k, pads) in [(8, 3, [1, 1, 1, 1]), (9, 3, [0, 0, 0, 0]), (8, 1, [0, 0, 0, 0])] {
            let cin = 8, cout = 6
            let m = onnxModel(opset: 13, inputs: [("x", 1, [2, Int64(cin), Int64(side), Int64(side)])], outputs: ["y"], nodes: [
                ("Conv", ["x", "w", "b"], ["c"], [attr("kernel_shape", ints: [Int64(k), Int64(k)]), attr("pads", ints: pads.map(Int64.init))]),
                ("Relu", ["c"], ["r"], []),
                ("MaxPool", ["r"], ["y"], [attr("kernel_shape", ints: [2, 2]), attr("strides", ints: [2, 2])]),
            ], initializers: [
                floatInitializer("w", [Int64(cout), Int64(cin), Int64(k), Int64(k)], (0..<(cout * cin * k * k)).map { Float($0 % 17) / 17 - 0.5 }),
                floatInitializer("b", [Int64(cout)], (0..<cout).map { Float($0) / 10 - 0.3 }),
            ])
            try compare(m, input: randomInput([2, cin, side, side]), expectOps: ["Conv": 1], absentOps: ["MaxPool", "Relu"])
        }
        let padded = onnxModel(opset: 13, inputs: [("x", 1, [1, 8, 8, 8])], outputs: ["y"], nodes: [
            ("Conv", ["x", "w"], ["c"], [attr("pads", ints: [1, 1, 1, 1])]),
            ("MaxPool", ["c"], ["y"], [attr("kernel_shape", ints: [2, 2]), attr("strides", ints: [2, 2]), attr("pads", ints: [1, 1, 0, 0])]),
        ], initializers: [floatInitializer("w", [4, 8, 3, 3], (0..<288).map { Float($0 % 7) / 7 - 0.5 })])
        try compare(padded, input: randomInput([1, 8, 8, 8]), expectOps: ["Conv": 1, "MaxPool": 1], absentOps: [])
    }

    @Test func convFusionAttributesAreRefusedInModelFiles() {
        let m = onnxModel(inputs: [("x", 1, [1, 1, 4, 4])], outputs: ["y"], nodes: [
            ("Conv", ["x", "w"], ["y"], [.with { $0.name = "pool"; $0.type = .string; $0.s = Data("MaxPool".utf8) }]),
        ], initializers: [floatInitializer("w", [1, 1, 3, 3], Array(repeating: 1, count: 9))])
        #expect(expectModelError(.invalidGraph, containing: "'pool' is not an attribute of Conv") {
            _ = try ONNXImporter.importModel(m)
        } == nil)
    }

    @Test func matMulAttributesAreRefusedInModelFiles() {
        let m = onnxModel(inputs: [("a", 1, [2, 2]), ("b", 1, [2, 2])], outputs: ["y"],
                          nodes: [("MatMul", ["a", "b"], ["y"], [attr("perm_a", ints: [1, 0])])])
        #expect(expectModelError(.invalidGraph, containing: "'perm_a' is not an attribute of MatMul") {
            _ = try ONNXImporter.importModel(m)
        } == nil)
    }
}
