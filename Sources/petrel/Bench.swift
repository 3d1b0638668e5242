import ArgumentParser
import Foundation
import PetrelModel

struct Bench: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Benchmarks.", subcommands: [BenchModel.self, BenchSGEMM.self, BenchColdStart.self])
}

struct BenchModel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "model", abstract: "Latency percentiles and throughput of one model on synthetic inputs.")

    @Argument(help: "A model .onnx file or a compiled artifact's digest.") var model: String
    @Option(help: "Batch size (the first symbolic dim).") var batch = 1
    @Option(help: "Sequence length (the second symbolic dim).") var seq = 128
    @Option(help: "Time budget in seconds.") var seconds = 3.0
    @Option(help: "Minimum iterations.") var minIterations = 20
    @Option(help: "Maximum iterations.") var maxIterations = 100_000
    @Flag(help: "Print one JSON object.") var json = false
    @Flag(help: "Also time every op and print where the time goes.") var profile = false
    @OptionGroup var threads: ThreadsOption

    func run() throws {
        try reportingErrors {
            let m = try loadModel(model, threads: threads.count)
            let exec = try Executor(graph: m.graph, threads: threads.count)
            let inputs = exec.inputs.map { syntheticInput($0, batch: batch, seq: seq) }
            // The first run plans for these shapes (what a cold worker's first request pays).
            let p0 = DispatchTime.now().uptimeNanoseconds
            _ = try exec.run(inputs)
            let firstMs = Double(DispatchTime.now().uptimeNanoseconds - p0) / 1e6
            for _ in 0..<2 { _ = try exec.run(inputs) }
            var samples: [Double] = []
            let start = DispatchTime.now().uptimeNanoseconds
            let budget = UInt64(seconds * 1e9)
            while samples.count < maxIterations {
                let t0 = DispatchTime.now().uptimeNanoseconds
                _ = try exec.run(inputs)
                let t1 = DispatchTime.now().uptimeNanoseconds
                samples.append(Double(t1 - t0) / 1e6)
                if samples.count >= minIterations && t1 - start > budget { break }
            }
            samples.sort()
            func pct(_ p: Double) -> Double { samples[min(samples.count - 1, Int(Double(samples.count) * p))] }
            let total = samples.reduce(0, +) / 1000
            let throughput = Double(samples.count * batch) / total
            if profile {
                let p = Profile(), runs = max(5, min(samples.count, 200))
                for _ in 0..<runs { _ = try exec.run(inputs, profile: p) }
                print("op                         ms/run  calls/run   share")
                for r in p.rows {
                    print(r.label.padding(toLength: 24, withPad: " ", startingAt: 0)
                          + String(format: "%9.4f %9.1f %7.1f%%", r.ms / Double(runs), Double(r.calls) / Double(runs), r.share * 100))
                }
            }
            if json {
                let obj: [String: Any] = ["p50_ms": pct(0.5), "p90_ms": pct(0.9), "p99_ms": pct(0.99),
                                          "throughput_per_s": throughput, "iterations": samples.count,
                                          "batch": batch, "seq": seq, "threads": threads.count, "first_run_ms": firstMs]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            } else {
                print("inputs     " + zip(exec.inputs, inputs).map { "\($0.name) \($1.shape)" }.joined(separator: ", "))
                print(String(format: "latency    p50 %.3f ms  p90 %.3f ms  p99 %.3f ms  (%d runs, %d threads)", pct(0.5), pct(0.9), pct(0.99), samples.count, threads.count))
                print(String(format: "throughput %.1f samples/s", throughput))
                print(String(format: "first run  %.3f ms (plans for these shapes first)", firstMs))
            }
        }
    }

    /// Random data of the input's dtype; symbolic dims: the first is the batch, the rest the sequence.
    /// Integer inputs named like masks get 1s, token types 0s, others ids in [1000, 30000).
    func syntheticInput(_ sig: TensorSignature, batch: Int, seq: Int) -> Tensor {
        var symbolic = 0
        let shape = sig.shape.map { d -> Int in
            if let v = d.value { return v }
            symbolic += 1
            return symbolic == 1 ? batch : seq
        }
        var rng = SystemRandomNumberGenerator()
        let n = shape.reduce(1, *)
        switch sig.dtype {
        case .int64, .int32:
            let name = sig.name.lowercased()
            let values: [Int64] = (0..<n).map { _ in name.contains("mask") ? 1 : name.contains("type") ? 0 : Int64.random(in: 1000..<30000, using: &rng) }
            let t = Tensor(shape: shape, values)
            if sig.dtype == .int64 { return t }
            return Tensor(shape: shape, values.map { Int32($0) })
        case .bool: return Tensor(shape: shape, (0..<n).map { _ in true })
        default:
            let f = Tensor(shape: shape, (0..<n).map { _ in Float.random(in: 0..<1, using: &rng) })
            if sig.dtype == .float32 { return f }
            return Tensor(dtype: sig.dtype, shape: shape)
        }
    }
}
