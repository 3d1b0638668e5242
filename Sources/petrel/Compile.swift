import ArgumentParser
import Foundation
import PetrelModel

struct Compile: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Compile an ONNX model into the artifact cache and report what the passes did.")

    @Argument(help: "The ONNX model file.") var model: String
    @Option(help: "Value for symbolic dims (batch, sequence) when sizing the reported arena.") var probeDim = 1
    @Flag(help: "Print the report as JSON.") var json = false

    func run() throws {
        try reportingErrors {
            let (_, r) = try Compiler.compile(path: model, probeDim: probeDim, progress: json ? nil : { stderrLine($0) })
            if json {
                let obj: [String: Any] = [
                    "digest": r.digest, "artifact": r.artifactPath, "from_cache": r.fromCache,
                    "ops_before": r.opsBefore, "ops_after": r.opsAfter, "arena_bytes": r.arenaBytes.map { $0 as Any } ?? NSNull(),
                    "probe_shapes": r.probeShapes, "weights_bytes": r.weightsBytes, "seconds": r.seconds,
                ]
                print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
                return
            }
            print("digest    \(r.digest)")
            print("artifact  \(r.artifactPath)\(r.fromCache ? " (cached)" : "")")
            for p in r.passes where p.changes > 0 { print("pass      \(p.name): \(p.changes)") }
            let ops = Set(r.opsBefore.keys).union(r.opsAfter.keys).sorted()
            print("ops       before  after")
            for op in ops { print("  " + op.padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%6d %6d", r.opsBefore[op] ?? 0, r.opsAfter[op] ?? 0)) }
            print("  " + "total".padding(toLength: 22, withPad: " ", startingAt: 0) + String(format: "%6d %6d", r.opsBefore.values.reduce(0, +), r.opsAfter.values.reduce(0, +)))
            print("weights   \(formatBytes(r.weightsBytes))")
            if let arena = r.arenaBytes {
                print("arena     \(formatBytes(arena)) peak for input shapes \(r.probeShapes)")
            } else {
                print("arena     planned per request (the plan depends on input values)")
            }
            print(String(format: "time      %.2f s", r.seconds))
        }
    }
}

struct Ops: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "List the ONNX ops and op versions Petrel runs.")
    @Flag(help: "Print as JSON.") var json = false

    func run() throws {
        let ops = ONNXSupport.ops
        if json {
            let obj = Dictionary(uniqueKeysWithValues: ops.map { ($0.op, $0.versions) })
            print(String(decoding: try JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys]), as: UTF8.self))
            return
        }
        print("domain ai.onnx, opsets \(ONNXSupport.minOpset)–\(ONNXSupport.maxOpset); op (versions whose semantics Petrel runs)")
        for o in ops { print("  " + o.op.padding(toLength: 20, withPad: " ", startingAt: 0) + o.versions.map(String.init).joined(separator: ", ")) }
        print("\(ops.count) ops")
    }
}
