import Foundation
import Testing
@testable import PetrelModel

@Suite struct ExecutorTests {
    func mlp() throws -> Executor {
        _ = testHome
        let (m, _) = try Compiler.compile(path: repoRoot + "/functions/digits-mlp/model.onnx")
        return try Executor(graph: m.graph, threads: 1)
    }

    @Test func rejectsWrongDtypeRankAndDims() throws {
        let e = try mlp()
        #expect(expectModelError(.invalidInput, containing: "input 'input' must be float, got int64") {
            _ = try e.run([Tensor(dtype: .int64, shape: [1, 64])])
        } == nil)
        #expect(expectModelError(.invalidInput, containing: "must have rank 2") {
            _ = try e.run([Tensor(dtype: .float32, shape: [64])])
        } == nil)
        #expect(expectModelError(.invalidInput, containing: "dim 1 must be 64") {
            _ = try e.run([Tensor(dtype: .float32, shape: [1, 63])])
        } == nil)
        #expect(expectModelError(.invalidInput, containing: "unknown input 'x'") {
            _ = try e.run(["x": Tensor(dtype: .float32, shape: [1, 64])])
        } == nil)
        // A bad request loses nothing: the executor still serves good ones.
        let out = try e.run([Tensor(dtype: .float32, shape: [3, 64])])
        #expect(out[0].shape == [3, 10])
    }

    @Test func plansPerShapeAndReusesThem() throws {
        let e = try mlp()
        for b in [1, 7, 1, 64, 7] {
            let x = Tensor(shape: [b, 64], (0..<(b * 64)).map { Float($0 % 17) / 16 })
            let y = try e.run([x])[0]
            #expect(y.shape == [b, 10])
            for r in 0..<b {
                let s = (0..<10).map { y.element(at: r * 10 + $0) }.reduce(0, +)
                #expect(abs(s - 1) < 1e-5, "softmax row \(r) of batch \(b) sums to \(s)")
            }
        }
    }

    @Test func gatherIndexOutOfRangeIsAnErrorNotACrash() throws {
        let m = onnxModel(inputs: [("i", 7, [2])], outputs: ["y"], nodes: [("Gather", ["w", "i"], ["y"], [])],
                          initializers: [floatInitializer("w", [3, 2], [1, 2, 3, 4, 5, 6])])
        let e = try Executor(graph: try ONNXImporter.importModel(m), threads: 1)
        #expect(try e.run([Tensor(shape: [2], [Int64(2), -3])])[0].array(Float.self) == [5, 6, 1, 2])
        #expect(expectModelError(.invalidInput, containing: "index 3 is out of range") {
            _ = try e.run([Tensor(shape: [2], [Int64(0), 3])])
        } == nil)
    }
}

@Suite struct ReferenceModelTests {
    func check(_ dir: String, atol: Double) {
        _ = testHome
        let cases = ONNXTestCase.find(dir)
        #expect(cases.count == 1, "no model in \(dir)")
        for c in cases {
            switch c.run(rtol: 0, atol: atol, threads: 2, skipUnsupported: false) {
            case .passed: break
            case .failed(let why, _): Issue.record("\(c.name): \(why)")
            case .skipped(let why): Issue.record("\(c.name) skipped: \(why)")
            }
        }
    }

    @Test func digitsMLP() { check(repoRoot + "/functions/digits-mlp", atol: 1e-4) }
    @Test func digitsCNN() { check(repoRoot + "/functions/digits-cnn", atol: 1e-4) }

    /// Needs functions/minilm/model.onnx (linked from ../shared/models by scripts/link_minilm.sh).
    @Test func miniLM() throws {
        let dir = repoRoot + "/functions/minilm"
        guard FileManager.default.fileExists(atPath: dir + "/model.onnx") else {
            print("MiniLM test skipped: functions/minilm/model.onnx is absent (run scripts/link_minilm.sh)")
            return
        }
        check(dir, atol: 1e-3)
    }
}

@Suite struct ValueKeyedPlanTests {
    /// Reshape whose target shape is a model input: planned per value of that (small) input.
    @Test func shapeOperandFromAnInput() throws {
        let m = onnxModel(inputs: [("x", 1, [2, 6]), ("shape", 7, [2])], outputs: ["y"], nodes: [("Reshape", ["x", "shape"], ["y"], [])])
        let e = try Executor(graph: try ONNXImporter.importModel(m), threads: 1)
        let x = Tensor(shape: [2, 6], (0..<12).map { Float($0) })
        #expect(try e.run([x, Tensor(shape: [2], [Int64(3), 4])])[0].shape == [3, 4])
        #expect(try e.run([x, Tensor(shape: [2], [Int64(-1), 2])])[0].shape == [6, 2])
        #expect(try e.run([x, Tensor(shape: [2], [Int64(3), 4])])[0].array(Float.self) == (0..<12).map { Float($0) })
        #expect(expectModelError(.invalidGraph, containing: "cannot reshape") {
            _ = try e.run([x, Tensor(shape: [2], [Int64(5), 5])])
        } == nil)
    }

    /// A shape operand computed from float data can never be planned: a clear error, not a crash.
    @Test func dataDependentShapeIsRefused() throws {
        let m = onnxModel(inputs: [("x", 1, [4])], outputs: ["y"], nodes: [
            ("Cast", ["x"], ["s"], [.with { $0.name = "to"; $0.type = .int; $0.i = 7 }]),
            ("Reshape", ["x", "s"], ["y"], []),
        ])
        let e = try Executor(graph: try ONNXImporter.importModel(m), threads: 1)
        #expect(expectModelError(.unsupported, containing: "depends on tensor data at run time") {
            _ = try e.run([Tensor(shape: [4], [Float(1), 1, 2, 2])])
        } == nil)
    }
}
