import Testing
@testable import PetrelModel
import PetrelProtocol
@testable import PetrelRuntime

@Suite struct BatchAssemblyTests {
    func request(_ id: String, rows: Int, cols: Int = 3, name: String = "x", start: Float = 0) -> InferRequest {
        let values = (0..<(rows * cols)).map { start + Float($0) }
        return InferRequest(id: id, modelName: "m", inputs: [
            InferTensor(name: name, datatype: .fp32, shape: [rows, cols], data: values.withUnsafeBytes { Array($0) })])
    }

    @Test func groupsStackOnlyWhatFits() {
        let rs = [request("a", rows: 1), request("b", rows: 2), request("c", rows: 1, cols: 4),
                  request("d", rows: 3), request("e", rows: 2), request("f", rows: 1, name: "y")]
        // c has other trailing dims, f another input name; d + e would be 5 rows > 4.
        #expect(BatchAssembly.groups(rs, maxRows: 4) == [0..<2, 2..<3, 3..<4, 4..<5, 5..<6])
        #expect(BatchAssembly.groups(rs, maxRows: 6) == [0..<2, 2..<3, 3..<5, 5..<6])
        #expect(BatchAssembly.groups([], maxRows: 4).isEmpty)
        // A scalar input or inputs disagreeing on dim 0 never batch.
        var odd = request("g", rows: 2)
        odd.inputs.append(InferTensor(name: "z", datatype: .fp32, shape: [1, 3], data: Array(repeating: 0, count: 12)))
        #expect(BatchAssembly.groups([odd, odd], maxRows: 8) == [0..<1, 1..<2])
    }

    @Test func stackThenSplitGivesEachRequestItsRows() throws {
        let rs = [request("a", rows: 1, start: 0), request("b", rows: 2, start: 100), request("c", rows: 1, start: 200)]
        let stacked = BatchAssembly.stack(rs[...])
        #expect(stacked.id == "a" && stacked.inputs[0].shape == [4, 3])
        #expect(stacked.inputs[0].data == rs.flatMap { $0.inputs[0].data })
        // An "identity model": the batch's output is its input, under another name.
        var out = stacked.inputs[0]
        out.name = "y"
        let parts = try #require(BatchAssembly.split(InferResponse(modelName: "m", modelVersion: "1", id: "a", outputs: [out]), rs[...]))
        #expect(parts.map(\.id) == ["a", "b", "c"])
        for (p, r) in zip(parts, rs) {
            #expect(p.modelVersion == "1" && p.outputs[0].name == "y")
            #expect(p.outputs[0].shape == r.inputs[0].shape && p.outputs[0].data == r.inputs[0].data)
        }
    }

    @Test func outputsThatDoNotKeepTheBatchAreNotSplit() {
        let rs = [request("a", rows: 1), request("b", rows: 1)]
        let summed = InferTensor(name: "s", datatype: .fp32, shape: [1, 3], data: Array(repeating: 0, count: 12))
        #expect(BatchAssembly.split(InferResponse(modelName: "m", outputs: [summed]), rs[...]) == nil)
        let text = InferTensor(name: "t", datatype: .bytes, shape: [2], data: [1, 0, 0, 0, 65, 1, 0, 0, 0, 66])
        #expect(BatchAssembly.split(InferResponse(modelName: "m", outputs: [text]), rs[...]) == nil)
    }

    @Test func batchingNeedsOneSymbolicBatchDim() {
        let x = TensorSignature(name: "x", dtype: .float32, shape: [.symbol("batch"), .fixed(3)])
        #expect(LoadedFunction.batchingProblem([x, TensorSignature(name: "y", dtype: .float32, shape: [.symbol("batch")])]) == nil)
        #expect(LoadedFunction.batchingProblem([x, TensorSignature(name: "y", dtype: .float32, shape: [.fixed(1), .fixed(3)])])
            == "needs every input and output to start with a symbolic batch dim; 'y' has shape [1, 3]")
        #expect(LoadedFunction.batchingProblem([x, TensorSignature(name: "y", dtype: .float32, shape: [.symbol("n")])])
            == "needs one batch dim across inputs and outputs; 'y' starts with 'n', others with 'batch'")
    }
}
