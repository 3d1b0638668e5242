import Foundation
import GRDB
import Testing
@testable import PetrelRegistry

/// Opening: a new file is created and migrated, an existing one is reopened with everything in it
/// (the "restart loses nothing" guarantee), and files that are not registries are refused clearly.
@Suite struct MigrationTests {
    @Test func newFileIsCreatedWithParentsAndMigrated() throws {
        let dir = try TempDir()
        let path = dir.path + "/home/.petrel/" + Registry.fileName
        let registry = try Registry(path: path)
        #expect(registry.path == path)
        #expect(FileManager.default.fileExists(atPath: path))
        let migrations = try registry.rawRows("SELECT identifier FROM grdb_migrations").map { $0["identifier"] as String }
        #expect(migrations == ["v1"])
        let tables = try registry.rawRows("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name NOT LIKE 'grdb_%' ORDER BY name")
            .map { $0["name"] as String }
        #expect(tables == ["api_key", "function", "revision", "tag", "traffic", "traffic_history"])
        let pragmas = try registry.rawRows("SELECT * FROM pragma_journal_mode, pragma_foreign_keys, pragma_synchronous")[0]
        #expect(pragmas["journal_mode"] as String == "wal")
        #expect(pragmas["foreign_keys"] as Int == 1)
        #expect(pragmas["synchronous"] as Int == 2)   // FULL
        #expect(try registry.functionNames().isEmpty)
        #expect(try registry.allFunctions().isEmpty)
        #expect(try registry.keys().isEmpty)
    }

    @Test func everythingSurvivesAReopen() throws {
        let dir = try TempDir()
        var before: [FunctionState] = []
        var keysBefore: [APIKeyRecord] = []
        var key = ""
        do {
            let r = try dir.open()
            try r.deploy("alpha", "1"); try r.deploy("alpha", "2"); try r.deploy("beta", "1")
            _ = try r.setTraffic("alpha", split("alpha-00001:100"))
            _ = try r.shiftTraffic("alpha", to: "2", percent: 25)
            _ = try r.setTag("alpha", tag: "canary", revision: "alpha-00002")
            _ = try r.setTraffic("beta", split("1:100"))
            key = try r.createKey(name: "ci", scope: .functions(["alpha"])).key
            _ = try r.createKey(name: "ops", scope: .admin)
            _ = try r.revokeKey(try r.keys()[1].id)
            _ = try r.deleteFunction("beta")
            before = try r.allFunctions()
            keysBefore = try r.keys()
        }
        let r = try dir.open()
        #expect(try r.allFunctions() == before)
        #expect(try r.state("alpha").traffic == split("alpha-00001:75 alpha-00002:25"))
        #expect(try r.keys() == keysBefore)
        #expect(try r.wasDeleted("beta"))
        #expect(try r.keyRing().check(authorization: "Bearer " + key, function: "alpha") == .allowed(keyID: keysBefore[0].id))
        #expect(try !r.hasActiveAdminKey())
        // The history survived too: the rollback goes back to the split before the shift.
        #expect(try r.rollback("alpha", to: nil).traffic == split("alpha-00001:100"))
        // And so did the numbering of the deleted function.
        #expect(try r.deploy("beta").number == 2)
    }

    @Test func reopeningDoesNotRerunMigrations() throws {
        let dir = try TempDir()
        try dir.open().deploy("f")
        for _ in 0..<3 { _ = try dir.open() }
        let r = try dir.open()
        #expect(try r.rawRows("SELECT * FROM grdb_migrations").count == 1)
        #expect(try r.state("f").revisions.count == 1)
    }

    @Test(arguments: [String(repeating: "this is a function.yaml, not a database\n", count: 200), "hello\n"])
    func aFileThatIsNotSQLiteIsRefusedByName(content: String) throws {
        let dir = try TempDir()
        try Data(content.utf8).write(to: URL(fileURLWithPath: dir.registryPath))
        #expect(throws: RegistryError(.invalid, "'\(dir.registryPath)' is not a Petrel registry: the file is not an SQLite database")) {
            try dir.open()
        }
        #expect(FileManager.default.contents(atPath: dir.registryPath) == Data(content.utf8))   // left untouched
    }

    @Test func aRegistryFromANewerPetrelIsRefused() throws {
        let dir = try TempDir()
        try dir.open().queue.write { try $0.execute(sql: "INSERT INTO grdb_migrations (identifier) VALUES ('v9')") }
        #expect(throws: RegistryError(.conflict, "'\(dir.registryPath)' was written by a newer Petrel (schema v9); use that version or a newer one")) {
            try dir.open()
        }
    }

    /// Two processes (here two connections) opening a brand-new file at once both see "v1" as
    /// unapplied; the loser must still open it.
    @Test func twoOpenersOfANewFileBothSucceed() throws {
        for _ in 0..<8 {
            let dir = try TempDir()
            let results = Locked<[Result<Registry, Error>]>([])
            DispatchQueue.concurrentPerform(iterations: 2) { _ in
                let r = Result { try dir.open() }
                results.withLock { $0.append(r) }
            }
            for r in results.withLock({ $0 }) { _ = try r.get() }
            #expect(try dir.open().rawRows("SELECT * FROM grdb_migrations").count == 1)
        }
    }
}

/// A value shared between threads in a test.
final class Locked<Value>: @unchecked Sendable {
    private var value: Value
    private let lock = NSLock()
    init(_ value: Value) { self.value = value }
    func withLock<T>(_ body: (inout Value) throws -> T) rethrows -> T {
        lock.lock(); defer { lock.unlock() }
        return try body(&value)
    }
}
