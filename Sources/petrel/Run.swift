import ArgumentParser
import Foundation
import PetrelModel

struct Run: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a model on inputs from files and print or save its outputs.")

    @Argument(help: "A model .onnx file, or the digest of a compiled artifact.") var model: String
    @Option(name: .customLong("input"), help: "NAME=FILE, FILE .npy, .json or .pb (repeat per input).")
    var inputs: [String] = []
    @Option(help: "Write each output to DIR/NAME.npy instead of printing it.") var outputDir: String?
    @Flag(help: "Print outputs as JSON.") var json = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        try reportingErrors {
            let m = try loadModel(model, threads: threads.count, progress: true)
            let exec = try Executor(graph: m.graph, threads: threads.count)
            var named: [String: Tensor] = [:]
            for spec in inputs {
                guard let eq = spec.firstIndex(of: "=") else {
                    throw ModelError(.invalidInput, "--input \(spec): expected NAME=FILE")
                }
                let name = String(spec[..<eq]), file = String(spec[spec.index(after: eq)...])
                guard let sig = exec.inputs.first(where: { $0.name == name }) else {
                    throw ModelError(.invalidInput, "unknown input '\(name)'; the model's inputs are \(exec.inputs.map(\.name).joined(separator: ", "))")
                }
                // JSON takes the input's dtype; .npy and .pb carry their own, checked by the executor.
                named[name] = try TensorFiles.read(path: file, expected: sig)
            }
            let outs = try exec.run(named)
            if let dir = outputDir {
                try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
                for sig in exec.outputs {
                    let path = "\(dir)/\(sig.name.replacingOccurrences(of: "/", with: "_")).npy"
                    do { try TensorFiles.npyBytes(outs[sig.name]!).write(to: URL(fileURLWithPath: path)) } catch {
                        throw ModelError(.io, "cannot write \(path): \(error.localizedDescription)")
                    }
                    print("\(sig.name) \(outs[sig.name]!.dtype) \(outs[sig.name]!.shape) → \(path)")
                }
                return
            }
            if json {
                let obj = Dictionary(uniqueKeysWithValues: exec.outputs.map { ($0.name, TensorFiles.jsonValue(outs[$0.name]!)) })
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            for sig in exec.outputs {
                let t = outs[sig.name]!
                let shown = (0..<min(t.count, 16)).map { String(format: "%.6g", t.element(at: $0)) }.joined(separator: ", ")
                print("\(sig.name) \(t.dtype) \(t.shape): [\(shown)\(t.count > 16 ? ", …" : "")]")
            }
        }
    }
}

struct CheckONNX: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-onnx",
        abstract: "Run test cases in ONNX's backend-test layout and compare outputs.")

    @Argument(help: "Case folders (model.onnx + test_data_set_*), or folders of them.") var dirs: [String]
    @Option(help: "Relative tolerance.") var rtol = 1e-3
    @Option(help: "Absolute tolerance.") var atol = 1e-7
    @Flag(help: "Report cases with unsupported ops or variants as skipped, not failed.") var skipUnsupported = false
    @Flag(help: "Print only failures and the summary.") var quiet = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        let cases = dirs.flatMap(ONNXTestCase.find)
        if cases.isEmpty {
            stderrLine("error: no test cases (folders with model.onnx) under \(dirs.joined(separator: " "))")
            throw ExitCode(2)
        }
        var passed = 0, failed = 0, skipped = 0
        for c in cases {
            switch c.run(rtol: rtol, atol: atol, threads: threads.count, skipUnsupported: skipUnsupported) {
            case .passed(let e):
                passed += 1
                if !quiet { print("PASS \(c.name) (max error \(String(format: "%.3g", e)))") }
            case .failed(let why, let e):
                failed += 1
                print("FAIL \(c.name): \(why)" + (e.map { " (max error \(String(format: "%.3g", $0)))" } ?? ""))
            case .skipped(let why):
                skipped += 1
                if !quiet { print("SKIP \(c.name): \(why)") }
            }
        }
        print("\(passed) passed, \(failed) failed" + (skipped > 0 ? ", \(skipped) skipped" : ""))
        if failed > 0 { throw ExitCode(1) }
    }
}
