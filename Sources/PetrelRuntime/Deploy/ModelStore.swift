import Foundation
import PetrelModel

/// Content-addressed copies of deployed ONNX files (`$PETREL_HOME/models/<sha256>.onnx`): a
/// revision can be recompiled (a new compiler, a cleared cache) long after its folder is gone.
public enum ModelStore {
    public static var directory: String { Compiler.home + "/models" }
    public static func path(sha256: String) -> String { "\(directory)/\(sha256).onnx" }

    /// Copies the file in (written to a temporary name, then renamed: never half-written) unless
    /// the same bytes are already there; returns their SHA-256.
    public static func store(_ modelPath: String) throws -> String {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: modelPath), options: .mappedIfSafe) } catch {
            throw ModelError(.io, "cannot read \(modelPath): \(error.localizedDescription)")
        }
        return try store(data)
    }

    /// Stores bytes; `sha256` when the caller has already hashed them (an upload checked
    /// against its name).
    public static func store(_ data: Data, sha256 known: String? = nil) throws -> String {
        let sha = known ?? Compiler.sha256(of: data)
        let out = path(sha256: sha)
        if !FileManager.default.fileExists(atPath: out) { try ArtifactWriter.writeAtomically(data, to: out) }
        return sha
    }

    public static func contains(sha256: String) -> Bool { FileManager.default.fileExists(atPath: path(sha256: sha256)) }

    /// 64 lower-case hex digits: the only names that become paths in the store and the cache.
    public static func isDigest(_ s: String) -> Bool {
        s.utf8.count == 64 && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
