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
        return try store(data, from: modelPath)
    }

    /// Stores uploaded bytes (the admin API's `PUT /admin/v1/models/{sha256}`).
    public static func store(_ data: Data, from origin: String) throws -> String {
        let modelPath = origin
        let sha = Compiler.sha256(of: data)
        let out = path(sha256: sha)
        if FileManager.default.fileExists(atPath: out) { return sha }
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            let tmp = "\(out).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
            try data.write(to: URL(fileURLWithPath: tmp))
            guard rename(tmp, out) == 0 else {
                let e = errno
                unlink(tmp)
                throw ModelError(.io, "cannot rename into \(out): \(String(cString: strerror(e)))")
            }
        } catch let e as ModelError { throw e } catch {
            throw ModelError(.io, "cannot store \(modelPath) in \(directory): \(error.localizedDescription)")
        }
        return sha
    }

    public static func contains(sha256: String) -> Bool { FileManager.default.fileExists(atPath: path(sha256: sha256)) }
}
