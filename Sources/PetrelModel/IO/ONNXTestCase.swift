import Foundation

/// A test case in ONNX's backend-test layout: `model.onnx` plus `test_data_set_N/` folders holding
/// `input_K.pb` and `output_K.pb` TensorProto files.
public struct ONNXTestCase {
    public enum Outcome { case passed(maxError: Double), failed(String, maxError: Double?), skipped(String) }

    public let directory: String
    public var name: String { (directory as NSString).lastPathComponent }

    /// Case folders under `path`: the folder itself if it holds a model.onnx, else its subfolders that do.
    public static func find(_ path: String) -> [ONNXTestCase] {
        let fm = FileManager.default
        if fm.fileExists(atPath: path + "/model.onnx") { return [ONNXTestCase(directory: path)] }
        let kids = (try? fm.contentsOfDirectory(atPath: path))?.sorted() ?? []
        return kids.map { path + "/" + $0 }.filter { fm.fileExists(atPath: $0 + "/model.onnx") }.map(ONNXTestCase.init)
    }

    /// Compiles the model (through the artifact cache, as serving does) and checks every data set:
    /// |actual − expected| ≤ atol + rtol·|expected| elementwise, NaN matching NaN.
    public func run(rtol: Double, atol: Double, threads: Int = 1, skipUnsupported: Bool) -> Outcome {
        let fm = FileManager.default
        let executor: Executor
        do {
            let (model, _) = try Compiler.compile(path: directory + "/model.onnx", threads: threads)
            executor = try Executor(graph: model.graph, threads: threads)
        } catch let e as ModelError where e.code == .unsupported && skipUnsupported {
            return .skipped(e.message)
        } catch {
            return .failed("compile: \(error)", maxError: nil)
        }
        let sets = ((try? fm.contentsOfDirectory(atPath: directory)) ?? []).filter { $0.hasPrefix("test_data_set_") }.sorted()
        if sets.isEmpty { return .failed("no test_data_set_* folders", maxError: nil) }
        var worst = 0.0
        for set in sets {
            let dir = directory + "/" + set
            do {
                let inputs = try files(dir, "input")
                let expected = try files(dir, "output")
                if inputs.isEmpty && expected.isEmpty {
                    return .skipped("\(set) holds no tensor files (its generator wrote none)")
                }
                guard inputs.count == executor.inputs.count else {
                    return .failed("\(set): \(inputs.count) input files for \(executor.inputs.count) model inputs", maxError: nil)
                }
                let actual = try executor.run(inputs)
                guard actual.count >= expected.count else { return .failed("\(set): \(actual.count) outputs, expected \(expected.count)", maxError: nil) }
                for (k, (a, e)) in zip(actual, expected).enumerated() {
                    guard a.dtype == e.dtype else { return .failed("\(set): output \(k) is \(a.dtype), expected \(e.dtype)", maxError: nil) }
                    guard a.shape == e.shape else { return .failed("\(set): output \(k) has shape \(a.shape), expected \(e.shape)", maxError: nil) }
                    for i in 0..<e.count {
                        let x = a.element(at: i), y = e.element(at: i)
                        if x.isNaN && y.isNaN { continue }
                        if x == y { continue }
                        let err = abs(x - y)
                        worst = max(worst, err.isNaN ? .infinity : err)
                        if !(err <= atol + rtol * abs(y)) {
                            return .failed("\(set): output \(k) element \(i): got \(x), expected \(y) (error \(err))", maxError: worst)
                        }
                    }
                }
            } catch let e as ModelError where e.code == .unsupported && skipUnsupported {
                return .skipped(e.message)
            } catch {
                return .failed("\(set): \(error)", maxError: nil)
            }
        }
        return .passed(maxError: worst)
    }

    private func files(_ dir: String, _ kind: String) throws -> [Tensor] {
        var out: [Tensor] = []
        var k = 0
        while FileManager.default.fileExists(atPath: "\(dir)/\(kind)_\(k).pb") {
            out.append(try TensorFiles.read(path: "\(dir)/\(kind)_\(k).pb"))
            k += 1
        }
        return out
    }
}
