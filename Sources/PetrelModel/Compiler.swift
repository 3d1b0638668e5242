import Foundation
import PetrelKernels

/// What `compile` did, for `petrel compile` and the deploy path.
public struct CompileReport: Sendable {
    public var digest: String
    public var artifactPath: String
    public var fromCache: Bool
    public var opsBefore: [String: Int]
    public var opsAfter: [String: Int]
    public var passes: [(name: String, changes: Int)]
    /// Arena bytes of the plan for the probe shapes (every symbolic dim = `probeDim`); nil when
    /// plans also depend on input values (an `axes` input), so they are made per request.
    public var arenaBytes: Int?
    public var probeShapes: [[Int]]
    public var weightsBytes: Int
    public var seconds: Double
}

/// A rename names a tensor the model does not have; the caller knows which file and key asked.
public struct RenameError: Error, CustomStringConvertible, Sendable {
    public var name: String
    public var inputs: [String]
    public var outputs: [String]
    public var description: String {
        "the model has no input or output named '\(name)' (inputs: \(inputs.joined(separator: ", ")); outputs: \(outputs.joined(separator: ", ")))"
    }
}

/// ONNX → optimised graph → artifact in the content-addressed cache.
public enum Compiler {
    /// `$PETREL_HOME` (default `~/.petrel`).
    public static var home: String {
        if let h = ProcessInfo.processInfo.environment["PETREL_HOME"], !h.isEmpty { return h }
        return (ProcessInfo.processInfo.environment["HOME"] ?? "/tmp") + "/.petrel"
    }
    public static var cacheDirectory: String { home + "/cache" }

    /// The options that change the compiler's output, part of the cache key.
    static var optionsKey: String { "isa=\(KernelTable.current.isa.rawValue);nr=\(KernelTable.current.gemm.nr)" }

    /// Renames change the artifact's signature, so they are part of the key (absent when none,
    /// so keys of artifacts compiled before renames existed stay valid).
    public static func cacheKey(modelBytes: Data, renames: [String: String] = [:]) -> (key: String, sourceSHA256: String) {
        var src = SHA256(); src.update(modelBytes)
        let source = SHA256.hex(src.finish())
        var h = SHA256()
        h.update("petrel-artifact\n\(source)\n\(petrelCompilerVersion)\n\(optionsKey)\n")
        if !renames.isEmpty { h.update("renames=" + renames.sorted { $0.key < $1.key }.map { "\($0.key)>\($0.value)" }.joined(separator: ",") + "\n") }
        return (SHA256.hex(h.finish()), source)
    }

    /// Hex SHA-256 of a file's bytes (the registry's model identity).
    public static func sha256(of data: Data) -> String {
        var h = SHA256(); h.update(data); return SHA256.hex(h.finish())
    }

    /// Gives graph inputs and outputs the names a function exposes (function.yaml's `from:`).
    /// Values are referred to by index, so only the signature changes.
    static func applyRenames(_ renames: [String: String], to g: inout Graph) throws {
        guard !renames.isEmpty else { return }
        let ends = g.inputs + g.outputs
        let endNames = Set(ends.map { g.values[$0].name })
        for from in renames.keys.sorted() where !endNames.contains(from) {
            throw RenameError(name: from, inputs: g.inputs.map { g.values[$0].name }, outputs: g.outputs.map { g.values[$0].name })
        }
        for v in Set(ends) { if let to = renames[g.values[v].name] { g.values[v].name = to } }
        let names = (g.inputs + g.outputs).map { g.values[$0].name }
        if let dup = Dictionary(grouping: names, by: { $0 }).first(where: { $0.value.count > 1 })?.key {
            throw ModelError(.invalidGraph, "after renames, two inputs or outputs are both named '\(dup)'")
        }
    }

    public static func artifactPath(digest: String) -> String { "\(cacheDirectory)/\(digest).petrel" }

    /// Compiles `path` (or finds it in the cache) and loads the artifact.
    public static func compile(path: String, probeDim: Int = 1, threads: Int = 1, renames: [String: String] = [:],
                               progress: ((String) -> Void)? = nil) throws -> (CompiledModel, CompileReport) {
        let start = Date()
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path), options: .mappedIfSafe) } catch {
            throw ModelError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        let (key, sourceSHA) = cacheKey(modelBytes: data, renames: renames)
        let out = artifactPath(digest: key)
        if let cached = try? CompiledModel.load(path: out, verifyWeights: true) {
            let report = try summarize(cached, key: key, path: out, fromCache: true, passes: [], probeDim: probeDim, threads: threads, start: start)
            return (cached, report)
        }
        progress?("importing \(path) (\(data.count / 1024) KiB)")
        var g0 = try ONNXImporter.importModel(data)
        try applyRenames(renames, to: &g0)
        progress?("optimising \(g0.nodes.count) nodes")
        let (g, passes) = try optimize(g0, threads: threads)
        progress?("writing artifact")
        let bytes = try ArtifactWriter.encode(g, sourceSHA256: sourceSHA, options: optionsKey, sourceOpCounts: g0.opCounts)
        try ArtifactWriter.writeAtomically(bytes, to: out)
        let model = try CompiledModel.load(path: out)
        let report = try summarize(model, key: key, path: out, fromCache: false, passes: passes, probeDim: probeDim, threads: threads, start: start)
        return (model, report)
    }

    /// Loads a compiled artifact by digest (as printed by `petrel compile`).
    public static func load(digest: String) throws -> CompiledModel {
        let path = artifactPath(digest: digest)
        guard FileManager.default.fileExists(atPath: path) else {
            throw ModelError(.io, "no compiled artifact \(digest) in \(cacheDirectory)")
        }
        return try CompiledModel.load(path: path)
    }

    /// The graph passes, in order. Each returns how many rewrites it made.
    public static func optimize(_ input: Graph, threads: Int = 1) throws -> (Graph, [(name: String, changes: Int)]) {
        var g = input
        let pool = ThreadPool.shared(threads: threads)
        g.nodes = try g.topologicalOrder().map { g.nodes[$0] }
        var passes: [(String, Int)] = []
        passes.append(("constant folding", try ConstantFolding.run(&g, pool: pool)))
        passes.append(("dead nodes", DeadNodeElimination.run(&g)))
        passes.append(("Conv+BatchNorm folding", Fusion.foldBatchNorm(&g)))
        passes.append(("LayerNorm fusion", Fusion.fuseLayerNorm(&g)))
        passes.append(("GELU fusion", Fusion.fuseGelu(&g)))
        passes.append(("attention-mask fusion", Fusion.fuseAttentionMask(&g)))
        passes.append(("MatMul/Gemm+bias+activation → Dense", try Fusion.fuseDense(&g)))
        passes.append(("transposes and scales folded into MatMul", Fusion.foldIntoMatMul(&g)))
        passes.append(("attention fusion", Fusion.fuseAttention(&g)))
        passes.append(("residual Add+LayerNorm fusion", Fusion.fuseAddLayerNorm(&g)))
        passes.append(("Conv+activation fusion", Fusion.fuseConvActivation(&g)))
        passes.append(("Conv+MaxPool fusion", Fusion.fuseConvMaxPool(&g)))
        passes.append(("dead nodes", DeadNodeElimination.run(&g)))
        g.nodes = try g.topologicalOrder().map { g.nodes[$0] }
        return (g, passes)
    }

    static func summarize(_ m: CompiledModel, key: String, path: String, fromCache: Bool, passes: [(String, Int)],
                          probeDim: Int, threads: Int, start: Date) throws -> CompileReport {
        let shapes = m.graph.inputSignature.map { $0.shape.map { $0.value ?? probeDim } }
        let exec = try Executor(graph: m.graph, threads: threads)
        let plan = try exec.planSummary(for: shapes)
        return CompileReport(digest: key, artifactPath: path, fromCache: fromCache, opsBefore: m.sourceOpCounts,
                             opsAfter: m.graph.opCounts, passes: passes, arenaBytes: plan?.arenaBytes, probeShapes: shapes,
                             weightsBytes: m.weightsBytes, seconds: Date().timeIntervalSince(start))
    }
}
