import Foundation
@testable import PetrelModel

/// The repository root (tests run from it under `swift test`, but do not rely on the cwd).
let repoRoot: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

/// A private PETREL_HOME per test process, so tests never touch the user's cache.
let testHome: String = {
    let dir = NSTemporaryDirectory() + "petrel-tests-\(getpid())"
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    setenv("PETREL_HOME", dir, 1)
    return dir
}()

/// Builds small ONNX models in memory for error-path tests.
func onnxModel(opset: Int = 17, inputs: [(String, Int, [Int64])], outputs: [String],
               nodes: [(op: String, inputs: [String], outputs: [String], attrs: [Onnx_AttributeProto])],
               initializers: [Onnx_TensorProto] = []) -> Data {
    var m = Onnx_ModelProto()
    m.irVersion = 8
    m.opsetImport = [.with { $0.domain = ""; $0.version = Int64(opset) }]
    var g = Onnx_GraphProto()
    g.name = "test"
    g.input = inputs.map { name, type, dims in
        .with { v in
            v.name = name
            v.type.tensorType.elemType = Int32(type)
            v.type.tensorType.shape.dim = dims.map { d in .with { $0.dimValue = d } }
        }
    }
    g.output = outputs.map { name in .with { $0.name = name; $0.type.tensorType.elemType = 1 } }
    g.node = nodes.map { n in .with { $0.opType = n.op; $0.input = n.inputs; $0.output = n.outputs; $0.attribute = n.attrs; $0.name = n.outputs.first ?? "" } }
    g.initializer = initializers
    m.graph = g
    return try! m.serializedData()
}

func floatInitializer(_ name: String, _ dims: [Int64], _ values: [Float]) -> Onnx_TensorProto {
    .with { $0.name = name; $0.dataType = 1; $0.dims = dims; $0.floatData = values }
}

func expectModelError(_ code: ModelError.Code, containing text: String, _ body: () throws -> Void) -> String? {
    do { try body() } catch let e as ModelError {
        if e.code != code { return "expected \(code), got \(e.code): \(e.message)" }
        if !e.message.contains(text) { return "message '\(e.message)' lacks '\(text)'" }
        return nil
    } catch { return "unexpected error \(error)" }
    return "no error thrown (expected \(code) containing '\(text)')"
}
