import Foundation
import GRDB
import Testing
@testable import PetrelRegistry

/// A fresh folder per test (real SQLite files, no mocks), removed when the test ends.
final class TempDir {
    let path: String

    init() throws {
        path = NSTemporaryDirectory() + "petrel-registry-tests-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    deinit { try? FileManager.default.removeItem(atPath: path) }

    var registryPath: String { path + "/" + Registry.fileName }

    func open() throws -> Registry { try Registry(path: registryPath) }
}

/// A 64-char lower-hex digest that differs per `seed`.
func digest(_ seed: String) -> String {
    KeyFormat.hex(KeyFormat.hash(salt: [], key: seed))
}

extension Registry {
    /// A revision whose config and model are derived from `version`, as a deploy would add it.
    @discardableResult
    func deploy(_ function: String, _ version: String = UUID().uuidString) throws -> RevisionRecord {
        try addRevision(function: function, config: "name: \(function)\n# \(version)\n", modelSHA256: digest("model " + version),
                        artifactDigest: digest("artifact " + version), source: "/src/\(function)")
    }

    /// The function's state, which the test expects to exist.
    func state(_ name: String) throws -> FunctionState {
        try #require(try function(name))
    }

    /// The rows of a raw table, for checking what is stored.
    func rawRows(_ sql: String) throws -> [Row] {
        try queue.read { try Row.fetchAll($0, sql: sql) }
    }
}

/// "a:50 b:50" → targets, to keep traffic expectations short.
func split(_ s: String) -> [TrafficTarget] {
    s.split(separator: " ").map {
        let parts = $0.split(separator: ":")
        return TrafficTarget(revision: String(parts[0]), percent: Int(parts[1])!)
    }
}
