import Foundation
import PetrelModel
import PetrelProtocol
import PetrelRegistry

/// A revision ready to register: its model stored, compiled and checked against function.yaml.
public struct PreparedRevision: Sendable {
    public var config: FunctionConfig
    public var configText: String
    public var modelSHA256: String
    public var artifactDigest: String
    public var artifactPath: String
    public var signature: ModelSignature
    public var origin: String
    public var tag: String?
}

/// The steps of a deploy that do not touch the registry, shared by `petrel deploy` offline, the
/// admin API and `petrel serve` loading what the registry holds.
public enum Deployer {
    /// Stores the model, compiles it (a cache hit when the same bytes and renames were compiled
    /// before) and checks the declared signature.
    public static func prepare(_ source: DeploySource, threads: Int = 1, progress: ((String) -> Void)? = nil) throws -> PreparedRevision {
        let sha = try ModelStore.store(source.modelPath)
        return try compile(config: source.config, configText: source.configText, modelSHA256: sha,
                           origin: source.origin, tag: source.tag, threads: threads, progress: progress)
    }

    /// A registered revision, ready to serve. Its recorded artifact is mapped as it is (no
    /// recompile, no weight hashing, no planning: start-up pays per revision only for reading the
    /// signature); only an artifact the cache lost, or one this compiler or CPU cannot run, is
    /// compiled again from the stored model.
    public static func load(_ revision: RevisionRecord, progress: ((String) -> Void)? = nil) throws -> PreparedRevision {
        let config = try config(of: revision)
        let recorded = Compiler.artifactPath(digest: revision.artifactDigest)
        if let model = try? CompiledModel.load(path: recorded) {
            return PreparedRevision(config: config, configText: revision.config, modelSHA256: revision.modelSHA256,
                                    artifactDigest: revision.artifactDigest, artifactPath: recorded,
                                    signature: signature(config, model), origin: revision.source, tag: nil)
        }
        if !ModelStore.contains(sha256: revision.modelSHA256) {
            throw ModelError(.io, "revision \(revision.id): its model \(revision.modelSHA256) is missing from \(ModelStore.directory)")
        }
        return try compile(config: config, configText: revision.config, modelSHA256: revision.modelSHA256,
                           origin: revision.source, tag: nil, threads: 1, progress: progress)
    }

    /// The stored function.yaml of a revision, named as the revision's function (`--name` may
    /// have overridden the file's name).
    public static func config(of revision: RevisionRecord) throws -> FunctionConfig {
        var c = try FunctionConfig.parse(revision.config, file: "revision \(revision.id)", directory: ModelStore.directory)
        c.name = revision.function
        return c
    }

    public static func config(text: String, name: String) throws -> FunctionConfig {
        var c = try FunctionConfig.parse(text, file: "function.yaml of '\(name)'", directory: ModelStore.directory)
        c.name = name
        return c
    }

    /// Compiles a stored model for a config (the admin API's half of a deploy the CLI prepared).
    public static func compile(config: FunctionConfig, configText: String, modelSHA256: String, origin: String,
                               tag: String?, threads: Int = 1, progress: ((String) -> Void)? = nil) throws -> PreparedRevision {
        let (_, report, sig) = try compileChecked(config, modelPath: ModelStore.path(sha256: modelSHA256), threads: threads, progress: progress)
        return PreparedRevision(config: config, configText: configText, modelSHA256: modelSHA256, artifactDigest: report.digest,
                                artifactPath: report.artifactPath, signature: sig, origin: origin, tag: tag)
    }

    /// Compiles a model with the config's renames and checks the config's declared tensors
    /// against the result: every path from a function.yaml to an artifact goes through here.
    public static func compileChecked(_ config: FunctionConfig, modelPath: String? = nil, threads: Int = 1,
                                      progress: ((String) -> Void)? = nil) throws -> (CompiledModel, CompileReport, ModelSignature) {
        let (model, report): (CompiledModel, CompileReport)
        do {
            (model, report) = try Compiler.compile(path: modelPath ?? config.modelPath, threads: threads, renames: config.renames, progress: progress)
        } catch let e as RenameError { throw config.configError(e) }
        let sig = signature(config, model)
        try LoadedFunction.check(config, against: sig)
        try LoadedFunction.checkBatching(config, model.graph.inputSignature + model.graph.outputSignature)
        return (model, report, sig)
    }

    static func signature(_ config: FunctionConfig, _ model: CompiledModel) -> ModelSignature {
        ModelSignature(name: config.name, versions: [], platform: "petrel_onnx",
                       inputs: model.graph.inputSignature.map(TensorBridge.spec),
                       outputs: model.graph.outputSignature.map(TensorBridge.spec))
    }

    /// Removes cached artifacts and stored models that no revision refers to any more (after a
    /// delete). Only files a deleted revision named are candidates: the cache also holds what
    /// `petrel compile` made by hand.
    /// `keeping`: artifact paths a running server still serves (a revision recompiled after a
    /// compiler upgrade is served from a path the registry does not record).
    public static func collectGarbage(deleted: [RevisionRecord], registry: Registry, keeping: Set<String> = []) throws -> [String] {
        let artifacts = try registry.referencedArtifactDigests()
        let models = try registry.referencedModelSHA256s()
        var removed: [String] = []
        for d in Set(deleted.map(\.artifactDigest)) where !artifacts.contains(d) {
            let p = Compiler.artifactPath(digest: d)
            if !keeping.contains(p), unlink(p) == 0 { removed.append(p) }
        }
        for m in Set(deleted.map(\.modelSHA256)) where !models.contains(m) {
            let p = ModelStore.path(sha256: m)
            if unlink(p) == 0 { removed.append(p) }
        }
        return removed
    }
}
