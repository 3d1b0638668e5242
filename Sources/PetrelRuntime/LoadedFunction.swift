import Foundation
import Logging
import PetrelModel
import PetrelProtocol

/// A function compiled (or found in the cache), mapped and ready to run in this process.
public final class LoadedFunction: @unchecked Sendable {
    public let config: FunctionConfig
    public let digest: String
    /// Runs offloaded requests with every intra-op thread.
    public let executor: Executor
    /// Runs inline requests on the event loop thread alone: waking pool threads for a 5 µs model
    /// costs more than it saves (an idle thread's wake-up is 30–60 µs on this VM), and the other
    /// cores belong to the other event loops. Same graph and weights, its own plan cache.
    public let inlineExecutor: Executor
    public let signature: ModelSignature
    /// Inline requests waiting for the end of their event loop's tick (`batching.maxBatchSize`).
    let batcher = InlineBatcher()
    /// In-process serving has one version per function; revisions arrive with the registry.
    public var version = "1"
    /// One batch-1 inference measured at load: requests whose estimated cost is below
    /// `inlineBudgetNanos` run on the event loop (a hop costs more than they do), the rest on
    /// the inference queue so an event loop is never stalled by a slow model.
    public var warmNanos: UInt64 { lock.withLock { measured } }
    public static let inlineBudgetNanos: UInt64 = 50_000
    private var measured: UInt64 = 0
    /// Offloaded runs measured so far; `calibrationRuns` when the load measured (warm-up runs).
    private var calibrating = 0
    private let lock = NSLock()

    public var name: String { config.name }

    public convenience init(config: FunctionConfig, threads: Int, progress: ((String) -> Void)? = nil) throws {
        let (model, report, _) = try Deployer.compileChecked(config, threads: threads, progress: progress)
        try self.init(config: config, model: model, digest: report.digest, threads: threads)
    }

    /// From an artifact already compiled (a worker maps it; ONNX is never read again).
    /// `warm: false` (workers) skips the warm-up runs, which would lengthen a cold start; the first
    /// request then runs off the event loop and its time decides where later ones run.
    public convenience init(name: String, artifactPath: String, threads: Int, warm: Bool, maxBatchSize: Int = 0) throws {
        let digest = ((artifactPath as NSString).lastPathComponent as NSString).deletingPathExtension
        var config = FunctionConfig(name: name, description: nil, model: artifactPath, inputs: nil, outputs: nil,
                                    directory: (artifactPath as NSString).deletingLastPathComponent)
        config.maxBatchSize = maxBatchSize
        if let p = PremappedArtifacts.shared.take(artifactPath, threads: threads) {
            try self.init(config: config, model: p.model, digest: digest, threads: threads, warm: warm, prepared: p)
        } else {
            try self.init(config: config, model: try CompiledModel.load(path: artifactPath), digest: digest, threads: threads, warm: warm)
        }
    }

    init(config: FunctionConfig, model: CompiledModel, digest: String, threads: Int, warm: Bool = true,
         prepared: PremappedArtifacts.Prepared? = nil) throws {
        self.config = config
        self.digest = digest
        executor = try prepared?.executor ?? Executor(graph: model.graph, threads: threads)
        inlineExecutor = try prepared?.inlineExecutor ?? Executor(graph: model.graph, threads: 1)
        signature = ModelSignature(name: config.name, versions: [version], platform: "petrel_onnx",
                                   inputs: executor.inputs.map(TensorBridge.spec), outputs: executor.outputs.map(TensorBridge.spec))
        try Self.checkBatching(config, executor.inputs + executor.outputs)
        if let prepared, prepared.executor != nil {
            measured = prepared.measured
        } else if warm {
            measured = Self.warmUp(inlineExecutor)
            _ = Self.warmUp(executor)
        }
        if measured > 0 { calibrating = Self.calibrationRuns }
    }

    /// Records an offloaded run's time when nothing was measured at load: the fastest of the
    /// first `calibrationRuns`. The first run alone plans and faults pages in (a
    /// 5 µs model's first run took ~0.5 ms), so going by it sent every later request of a tiny model
    /// through the inference queue, two thread hand-overs (≈100–300 µs here) per request.
    /// Only batch-1 runs count, scaled by the offload executor's threads: an inline run is batch 1
    /// on one thread, and a batch's per-row time or a parallel run would understate it.
    func noteRun(nanos: UInt64, batch: Int) {
        guard batch == 1 else { return }
        let oneThread = max(1, nanos &* UInt64(executor.pool.threads))
        lock.withLock {
            guard calibrating < Self.calibrationRuns else { return }
            calibrating += 1
            measured = measured == 0 ? oneThread : min(measured, oneThread)
        }
    }
    static let calibrationRuns = 4

    /// Deploys (and in-process loads) refuse `batching:` on a model it cannot apply to, so a
    /// worker never meets the error at a cold start.
    static func checkBatching(_ config: FunctionConfig, _ tensors: [TensorSignature]) throws {
        if config.maxBatchSize > 1, let problem = batchingProblem(tensors) {
            throw ConfigError(file: config.file, key: "batching.maxBatchSize", message: "= \(config.maxBatchSize): \(problem)")
        }
    }

    /// Why requests to this model cannot be stacked along dim 0, or nil: every input and output
    /// must start with the same symbolic dim (the batch) so rows can be joined and split again.
    static func batchingProblem(_ tensors: [TensorSignature]) -> String? {
        var batch: String?
        for t in tensors {
            guard case .symbol(let name)? = t.shape.first else {
                return "needs every input and output to start with a symbolic batch dim; '\(t.name)' has shape [\(t.shape.map(\.description).joined(separator: ", "))]"
            }
            if let b = batch, b != name {
                return "needs one batch dim across inputs and outputs; '\(t.name)' starts with '\(name)', others with '\(b)'"
            }
            batch = name
        }
        return nil
    }

    /// Rows an inline batch may hold: the configured maximum, and no more than the inline budget
    /// pays for at the batch-1 time (a conservative bound, since a row costs less in a batch).
    public var inlineBatchRows: Int {
        let warm = warmNanos
        guard config.maxBatchSize > 1, warm > 0 else { return 1 }
        return max(1, min(config.maxBatchSize, Int(Self.inlineBudgetNanos / warm)))
    }

    /// Whether a request with this batch size should run on the event loop.
    public func runsInline(batch: Int) -> Bool {
        warmNanos > 0 && warmNanos &* UInt64(max(batch, 1)) < Self.inlineBudgetNanos
    }

    /// Times one batch-1 run on zeros (symbolic dims as 1), twice: the first plans and
    /// faults pages in. 0 when the model cannot run on zeros (then it is never inlined).
    static func warmUp(_ executor: Executor) -> UInt64 {
        let inputs = executor.inputs.map { sig in
            Tensor(dtype: sig.dtype, shape: sig.shape.map { if case .fixed(let n) = $0 { n } else { 1 } })
        }
        guard (try? executor.run(inputs)) != nil else { return 0 }
        var best = UInt64.max
        for _ in 0..<3 {
            let t0 = DispatchTime.now().uptimeNanoseconds
            guard (try? executor.run(inputs)) != nil else { return 0 }
            best = min(best, DispatchTime.now().uptimeNanoseconds - t0)
        }
        return best
    }

    /// function.yaml's declared inputs and outputs are documentation; they must agree with the
    /// model, or the file would mislead its reader.
    static func check(_ config: FunctionConfig, against sig: ModelSignature) throws {
        let file = config.file
        for (key, declared, actual) in [("inputs", config.inputs, sig.inputs), ("outputs", config.outputs, sig.outputs)] {
            guard let declared else { continue }
            let names = actual.map(\.name)
            if declared.map(\.name) != names {
                throw ConfigError(file: file, key: key, message: "= \(declared.map(\.name)): the model's \(key) are \(names)")
            }
            for (i, (d, a)) in zip(declared, actual).enumerated() {
                if let dt = d.datatype, dt != a.datatype.rawValue {
                    throw ConfigError(file: file, key: "\(key)[\(i)].datatype", message: "= \(dt): the model's '\(a.name)' is \(a.datatype.rawValue)")
                }
                if let shape = d.shape, shape != a.shape {
                    throw ConfigError(file: file, key: "\(key)[\(i)].shape", message: "= \(shape): the model's '\(a.name)' has shape \(a.shape)")
                }
            }
        }
    }
}

/// Artifacts a prewarmed worker mapped (page tables populated) before it knew its function: when
/// it is told to serve one of them, the mapping is handed over instead of made (and faulted in)
/// during the cold start. Pages are the page cache's, shared with every other worker.
///
/// With `warmThreads`, each also gets its executors, run once on zeros (symbolic dims 1): the
/// first run of a model's ops in a fresh process pays for thread start-up, Swift metadata and
/// code pages. Measured on MiniLM claimed from the prewarm pool: the first inference went from
/// ~15 ms to ~6 ms (what remains is planning the request's own shapes and running them).
public final class PremappedArtifacts: @unchecked Sendable {
    public static let shared = PremappedArtifacts()
    private let lock = NSLock()
    private var models: [String: Prepared] = [:]

    struct Prepared {
        var model: CompiledModel
        var threads = 0
        var executor: Executor?
        var inlineExecutor: Executor?
        var measured: UInt64 = 0
    }

    public func premap(_ paths: [String], warmThreads: Int? = nil) {
        for p in paths where lock.withLock({ models[p] == nil }) {
            guard let m = try? CompiledModel.load(path: p, populate: true) else { continue }
            var prepared = Prepared(model: m)
            if let threads = warmThreads,
               let exec = try? Executor(graph: m.graph, threads: threads), let inline = try? Executor(graph: m.graph, threads: 1) {
                prepared.threads = threads
                prepared.measured = LoadedFunction.warmUp(inline)
                _ = LoadedFunction.warmUp(exec)
                (prepared.executor, prepared.inlineExecutor) = (exec, inline)
            }
            lock.withLock { models[p] = prepared }
        }
    }

    /// The premapped model for `path` (with its executors when they were made for `threads`);
    /// the others are unmapped (this worker serves one function) a second later, on a background
    /// thread: unmapping MiniLM's populated 86 MiB and freeing its plans took 2–3 ms, which landed
    /// in every other function's cold start when done here.
    func take(_ path: String, threads: Int) -> Prepared? {
        let (found, others): (Prepared?, [Prepared]) = lock.withLock {
            defer { models.removeAll() }
            return (models[path], models.filter { $0.key != path }.map(\.value))
        }
        if !others.isEmpty {
            DispatchQueue.global(qos: .background).asyncAfter(deadline: .now() + 1) { withExtendedLifetime(others) {} }
        }
        guard var p = found else { return nil }
        if p.threads != threads { p.executor = nil; p.inlineExecutor = nil }
        return p
    }
}

/// Every function under a folder (one sub-folder with a function.yaml each), loaded in order.
public final class FunctionCatalog: @unchecked Sendable {
    public let functions: [LoadedFunction]
    private let byName: [String: LoadedFunction]

    public init(_ functions: [LoadedFunction]) {
        self.functions = functions
        byName = Dictionary(functions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    }

    public func function(named name: String) -> LoadedFunction? { byName[name] }

    /// Loads every `*/function.yaml` under `directory`. A function that fails to load is an
    /// error naming it: serving a partial set silently would hide a broken deploy.
    public static func load(directory: String, threads: Int, logger: Logger) throws -> FunctionCatalog {
        var loaded: [LoadedFunction] = []
        for config in try FunctionConfig.loadAll(directory: directory) {
            let t0 = Date()
            let f = try LoadedFunction(config: config, threads: threads) { logger.info("\(config.name): \($0)") }
            logger.info("loaded function", metadata: [
                "function": "\(f.name)", "digest": "\(f.digest.prefix(12))",
                "inputs": "\(f.signature.inputs.map { "\($0.name):\($0.datatype.rawValue)\($0.shape)" }.joined(separator: ","))",
                "warm_us": "\(f.warmNanos / 1000)", "seconds": "\(String(format: "%.2f", Date().timeIntervalSince(t0)))",
            ])
            loaded.append(f)
        }
        return FunctionCatalog(loaded)
    }
}
