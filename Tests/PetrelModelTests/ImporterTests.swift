import Foundation
import Testing
@testable import PetrelModel

@Suite struct ImporterTests {
    let mlp = try! Data(contentsOf: URL(fileURLWithPath: repoRoot + "/functions/digits-mlp/model.onnx"))

    @Test func importsReferenceModelSignature() throws {
        let g = try ONNXImporter.importModel(mlp)
        #expect(g.inputSignature == [TensorSignature(name: "input", dtype: .float32, shape: [.symbol("batch"), .fixed(64)])])
        #expect(g.outputSignature.map(\.name) == ["probabilities"])
    }

    @Test func refusesGarbage() {
        #expect(expectModelError(.malformed, containing: "not a valid ONNX model") {
            _ = try ONNXImporter.importModel(Data("this is not a model at all".utf8))
        } == nil)
        #expect(expectModelError(.malformed, containing: "empty") { _ = try ONNXImporter.importModel(Data()) } == nil)
    }

    @Test func refusesTruncatedFile() {
        for cut in [mlp.count / 2, mlp.count - 7, 100] {
            let r = expectModelError(.malformed, containing: "not a valid ONNX model") { _ = try ONNXImporter.importModel(mlp.prefix(cut)) }
            #expect(r == nil, "cut at \(cut): \(r ?? "")")
        }
    }

    @Test func refusesUnsupportedOpAtCompileTime() {
        let m = onnxModel(inputs: [("x", 1, [2])], outputs: ["y"], nodes: [("NonMaxSuppression", ["x"], ["y"], [])])
        #expect(expectModelError(.unsupported, containing: "op NonMaxSuppression (domain ai.onnx, opset 17) is not supported") {
            _ = try ONNXImporter.importModel(m)
        } == nil)
        let custom = onnxModel(inputs: [("x", 1, [2])], outputs: ["y"], nodes: [("Relu", ["x"], ["y"], [])])
        var p = try! Onnx_ModelProto(serializedBytes: custom)
        p.graph.node[0].domain = "com.example"
        p.opsetImport.append(.with { $0.domain = "com.example"; $0.version = 3 })
        #expect(expectModelError(.unsupported, containing: "op Relu (domain com.example, opset 3) is not supported") {
            _ = try ONNXImporter.importModel(try p.serializedData())
        } == nil)
    }

    @Test func refusesTooNewOpset() {
        let m = onnxModel(opset: 99, inputs: [("x", 1, [2])], outputs: ["y"], nodes: [("Relu", ["x"], ["y"], [])])
        #expect(expectModelError(.unsupported, containing: "opset 99) is not supported") { _ = try ONNXImporter.importModel(m) } == nil)
    }

    @Test func refusesCycle() {
        let m = onnxModel(inputs: [("x", 1, [2])], outputs: ["c"], nodes: [
            ("Add", ["x", "c"], ["a"], []), ("Relu", ["a"], ["b"], []), ("Relu", ["b"], ["c"], []),
        ])
        #expect(expectModelError(.invalidGraph, containing: "cycle") { _ = try ONNXImporter.importModel(m) } == nil)
    }

    @Test func refusesUndefinedValue() {
        let m = onnxModel(inputs: [("x", 1, [2])], outputs: ["y"], nodes: [("Add", ["x", "ghost"], ["y"], [])])
        #expect(expectModelError(.invalidGraph, containing: "'ghost'") { _ = try ONNXImporter.importModel(m) } == nil)
    }

    @Test func refusesTerabyteDim() {
        var t = floatInitializer("w", [1 << 20, 1 << 20, 1 << 10], [])
        t.rawData = Data(count: 16)
        let m = onnxModel(inputs: [("x", 1, [2])], outputs: ["y"], nodes: [("Add", ["x", "w"], ["y"], [])], initializers: [t])
        #expect(expectModelError(.malformed, containing: "GiB") { _ = try ONNXImporter.importModel(m) } == nil)
    }

    @Test func refusesInitializerWithWrongByteCount() {
        var t = floatInitializer("w", [4], [])
        t.rawData = Data(count: 12)
        let m = onnxModel(inputs: [("x", 1, [4])], outputs: ["y"], nodes: [("Add", ["x", "w"], ["y"], [])], initializers: [t])
        #expect(expectModelError(.malformed, containing: "needs 16 bytes but raw_data holds 12") { _ = try ONNXImporter.importModel(m) } == nil)
    }

    @Test func refusesMismatchedShapesWhenPlanning() throws {
        let m = onnxModel(inputs: [("a", 1, [2, 3]), ("b", 1, [4, 3])], outputs: ["y"], nodes: [("Add", ["a", "b"], ["y"], [])])
        let g = try ONNXImporter.importModel(m)
        let e = try Executor(graph: g, threads: 1)
        #expect(expectModelError(.invalidGraph, containing: "do not broadcast") {
            _ = try e.run([Tensor(dtype: .float32, shape: [2, 3]), Tensor(dtype: .float32, shape: [4, 3])])
        } == nil)
    }
}
