import Foundation
import GRDB

// Every SQL statement of the registry, and the schema. Callers run these inside the one
// transaction of a public method (`Registry.read` / `Registry.write`); nothing here opens one.
//
// Dates are INTEGER milliseconds since 1970 (UTC): exact, sortable, and a record read back equals
// the one that was written (`Millis.now()` rounds to what is stored).

/// The schema's migrations, by name. Append new ones ("v2", …); never edit a shipped one.
enum Schema {
    static var migrator: DatabaseMigrator {
        var m = DatabaseMigrator()
        m.registerMigration("v1") { db in
            try db.execute(sql: """
                -- A row per function ever deployed. A deleted function keeps its row as a tombstone
                -- (deleted_at set) so that its revision numbers are never handed out again.
                CREATE TABLE function (
                    name          TEXT PRIMARY KEY NOT NULL,
                    created_at    INTEGER NOT NULL,
                    deleted_at    INTEGER,
                    next_revision INTEGER NOT NULL CHECK (next_revision >= 1)
                ) WITHOUT ROWID;

                CREATE TABLE revision (
                    id              TEXT PRIMARY KEY NOT NULL,
                    function        TEXT NOT NULL REFERENCES function(name),
                    number          INTEGER NOT NULL CHECK (number >= 1),
                    config          TEXT NOT NULL,
                    model_sha256    TEXT NOT NULL,
                    artifact_digest TEXT NOT NULL,
                    source          TEXT NOT NULL,
                    created_at      INTEGER NOT NULL,
                    UNIQUE (function, number)
                );

                -- The current split: only shares > 0; a function never routed has no rows.
                CREATE TABLE traffic (
                    function TEXT NOT NULL REFERENCES function(name),
                    revision TEXT NOT NULL REFERENCES revision(id) ON DELETE CASCADE,
                    percent  INTEGER NOT NULL CHECK (percent BETWEEN 1 AND 100),
                    PRIMARY KEY (function, revision)
                ) WITHOUT ROWID;

                CREATE TABLE tag (
                    function TEXT NOT NULL REFERENCES function(name),
                    tag      TEXT NOT NULL,
                    revision TEXT NOT NULL REFERENCES revision(id) ON DELETE CASCADE,
                    PRIMARY KEY (function, tag)
                ) WITHOUT ROWID;

                -- Earlier splits, newest last; rollback pops the newest.
                CREATE TABLE traffic_history (
                    id           INTEGER PRIMARY KEY AUTOINCREMENT,
                    function     TEXT NOT NULL REFERENCES function(name),
                    targets_json TEXT NOT NULL,
                    created_at   INTEGER NOT NULL
                );
                CREATE INDEX traffic_history_by_function ON traffic_history(function, id);

                -- Salted SHA-256 of the key only; the key itself is shown once and never stored.
                CREATE TABLE api_key (
                    id         TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 12),
                    name       TEXT NOT NULL,
                    scope_json TEXT NOT NULL,
                    salt       BLOB NOT NULL CHECK (length(salt) = 16),
                    hash       BLOB NOT NULL CHECK (length(hash) = 32),
                    created_at INTEGER NOT NULL,
                    revoked_at INTEGER
                );
                """)
        }
        return m
    }
}

/// Dates as stored: whole milliseconds.
enum Millis {
    static func now() -> Date { date(Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))) }
    static func date(_ ms: Int64) -> Date { Date(timeIntervalSince1970: Double(ms) / 1000) }
    static func ms(_ d: Date) -> Int64 { Int64((d.timeIntervalSince1970 * 1000).rounded()) }
}

enum SQL {
    struct FunctionRow {
        var name: String
        var createdAt: Date
        var deletedAt: Date?
        var nextRevision: Int
    }

    // MARK: Functions

    static func function(_ db: Database, _ name: String) throws -> FunctionRow? {
        try Row.fetchOne(db, sql: "SELECT * FROM function WHERE name = ?", arguments: [name]).map {
            FunctionRow(name: $0["name"], createdAt: Millis.date($0["created_at"]),
                        deletedAt: ($0["deleted_at"] as Int64?).map(Millis.date), nextRevision: $0["next_revision"])
        }
    }

    static func liveFunctionNames(_ db: Database) throws -> [String] {
        try String.fetchAll(db, sql: "SELECT name FROM function WHERE deleted_at IS NULL ORDER BY name")
    }

    static func insertFunction(_ db: Database, _ name: String, createdAt: Date) throws {
        try db.execute(sql: "INSERT INTO function (name, created_at, deleted_at, next_revision) VALUES (?, ?, NULL, 1)",
                       arguments: [name, Millis.ms(createdAt)])
    }

    /// Brings a tombstoned function back as a new life: created now, numbering carried on.
    static func revive(_ db: Database, _ name: String, createdAt: Date) throws {
        try db.execute(sql: "UPDATE function SET deleted_at = NULL, created_at = ? WHERE name = ?",
                       arguments: [Millis.ms(createdAt), name])
    }

    static func setNextRevision(_ db: Database, _ name: String, _ next: Int) throws {
        try db.execute(sql: "UPDATE function SET next_revision = ? WHERE name = ?", arguments: [next, name])
    }

    /// Removes everything the function had and leaves the tombstone (with its next_revision).
    static func tombstone(_ db: Database, _ name: String, at: Date) throws {
        for table in ["traffic", "tag", "traffic_history", "revision"] {
            try db.execute(sql: "DELETE FROM \(table) WHERE function = ?", arguments: [name])
        }
        try db.execute(sql: "UPDATE function SET deleted_at = ? WHERE name = ?", arguments: [Millis.ms(at), name])
    }

    /// The live functions' full states (all of them, or just `only`), in four queries.
    static func states(_ db: Database, only: String? = nil) throws -> [FunctionState] {
        let filter = only == nil ? "" : "AND f.name = ?"
        let args: StatementArguments = only.map { [$0] } ?? []
        let functions = try Row.fetchAll(db, sql: """
            SELECT name, created_at FROM function f WHERE deleted_at IS NULL \(filter) ORDER BY name
            """, arguments: args)
        if functions.isEmpty { return [] }
        var revisions: [String: [RevisionRecord]] = [:]
        for r in try Row.fetchAll(db, sql: """
            SELECT r.* FROM revision r JOIN function f ON f.name = r.function
            WHERE f.deleted_at IS NULL \(filter) ORDER BY r.function, r.number
            """, arguments: args) {
            let rec = revision(r)
            revisions[rec.function, default: []].append(rec)
        }
        var traffic: [String: [TrafficTarget]] = [:]
        for r in try Row.fetchAll(db, sql: """
            SELECT t.function, t.revision, t.percent FROM traffic t JOIN revision r ON r.id = t.revision
            JOIN function f ON f.name = t.function
            WHERE f.deleted_at IS NULL \(filter) ORDER BY t.function, r.number
            """, arguments: args) {
            traffic[r["function"], default: []].append(TrafficTarget(revision: r["revision"], percent: r["percent"]))
        }
        var tags: [String: [String: String]] = [:]
        for r in try Row.fetchAll(db, sql: """
            SELECT t.function, t.tag, t.revision FROM tag t JOIN function f ON f.name = t.function
            WHERE f.deleted_at IS NULL \(filter)
            """, arguments: args) {
            tags[r["function"], default: [:]][r["tag"]] = r["revision"]
        }
        return functions.map { f in
            let name: String = f["name"]
            return FunctionState(name: name, createdAt: Millis.date(f["created_at"]), revisions: revisions[name] ?? [],
                                 traffic: traffic[name] ?? [], tags: tags[name] ?? [:])
        }
    }

    // MARK: Revisions

    static func insertRevision(_ db: Database, _ r: RevisionRecord) throws {
        try db.execute(sql: """
            INSERT INTO revision (id, function, number, config, model_sha256, artifact_digest, source, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """, arguments: [r.id, r.function, r.number, r.config, r.modelSHA256, r.artifactDigest, r.source,
                             Millis.ms(r.createdAt)])
    }

    static func findRevision(_ db: Database, function: String, config: String, modelSHA256: String) throws -> RevisionRecord? {
        try Row.fetchOne(db, sql: """
            SELECT * FROM revision WHERE function = ? AND config = ? AND model_sha256 = ? ORDER BY number LIMIT 1
            """, arguments: [function, config, modelSHA256]).map(revision)
    }

    static func distinctRevisionColumn(_ db: Database, _ column: String) throws -> Set<String> {
        precondition(column == "artifact_digest" || column == "model_sha256")
        return Set(try String.fetchAll(db, sql: "SELECT DISTINCT \(column) FROM revision"))
    }

    private static func revision(_ r: Row) -> RevisionRecord {
        RevisionRecord(id: r["id"], function: r["function"], number: r["number"], config: r["config"],
                       modelSHA256: r["model_sha256"], artifactDigest: r["artifact_digest"], source: r["source"],
                       createdAt: Millis.date(r["created_at"]))
    }

    // MARK: Traffic

    /// Replaces the split; `targets` are ids of the function's revisions, shares > 0.
    static func replaceTraffic(_ db: Database, _ function: String, _ targets: [TrafficTarget]) throws {
        try db.execute(sql: "DELETE FROM traffic WHERE function = ?", arguments: [function])
        for t in targets {
            try db.execute(sql: "INSERT INTO traffic (function, revision, percent) VALUES (?, ?, ?)",
                           arguments: [function, t.revision, t.percent])
        }
    }

    /// Pushes a split onto the function's history, dropping the oldest beyond `limit`.
    static func pushHistory(_ db: Database, _ function: String, _ targets: [TrafficTarget], at: Date, limit: Int) throws {
        let json = String(decoding: try JSONEncoder().encode(targets), as: UTF8.self)
        try db.execute(sql: "INSERT INTO traffic_history (function, targets_json, created_at) VALUES (?, ?, ?)",
                       arguments: [function, json, Millis.ms(at)])
        try db.execute(sql: """
            DELETE FROM traffic_history WHERE function = ?1 AND id NOT IN
                (SELECT id FROM traffic_history WHERE function = ?1 ORDER BY id DESC LIMIT ?2)
            """, arguments: [function, limit])
    }

    /// Removes and returns the newest split of the function's history; nil when there is none.
    static func popHistory(_ db: Database, _ function: String) throws -> [TrafficTarget]? {
        guard let row = try Row.fetchOne(db, sql: """
            SELECT id, targets_json FROM traffic_history WHERE function = ? ORDER BY id DESC LIMIT 1
            """, arguments: [function]) else { return nil }
        try db.execute(sql: "DELETE FROM traffic_history WHERE id = ?", arguments: [row["id"] as Int64])
        return try JSONDecoder().decode([TrafficTarget].self, from: Data((row["targets_json"] as String).utf8))
    }

    // MARK: Tags

    static func setTag(_ db: Database, _ function: String, _ tag: String, _ revision: String) throws {
        try db.execute(sql: """
            INSERT INTO tag (function, tag, revision) VALUES (?, ?, ?)
            ON CONFLICT (function, tag) DO UPDATE SET revision = excluded.revision
            """, arguments: [function, tag, revision])
    }

    static func deleteTag(_ db: Database, _ function: String, _ tag: String) throws {
        try db.execute(sql: "DELETE FROM tag WHERE function = ? AND tag = ?", arguments: [function, tag])
    }

    // MARK: API keys

    static func insertKey(_ db: Database, _ k: APIKeyRecord, salt: [UInt8], hash: [UInt8]) throws {
        let scope = try scopeJSON(k.scope)
        try db.execute(sql: """
            INSERT INTO api_key (id, name, scope_json, salt, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)
            """, arguments: [k.id, k.name, scope, Data(salt), Data(hash), Millis.ms(k.createdAt)])
    }

    static func keyExists(_ db: Database, _ id: String) throws -> Bool {
        try Bool.fetchOne(db, sql: "SELECT EXISTS (SELECT 1 FROM api_key WHERE id = ?)", arguments: [id]) ?? false
    }

    /// Every key, revoked too, oldest first (ties in creation order).
    static func keys(_ db: Database, id: String? = nil) throws -> [APIKeyRecord] {
        try keyRows(db, where: id == nil ? "" : "WHERE id = ?", id.map { [$0] } ?? []).map(\.record)
    }

    /// The active keys with what `KeyRing` checks against.
    static func activeKeys(_ db: Database) throws -> [(record: APIKeyRecord, salt: [UInt8], hash: [UInt8])] {
        try keyRows(db, where: "WHERE revoked_at IS NULL", [])
    }

    static func revokeKey(_ db: Database, _ id: String, at: Date) throws {
        try db.execute(sql: "UPDATE api_key SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                       arguments: [Millis.ms(at), id])
    }

    private static func keyRows(_ db: Database, where clause: String, _ args: StatementArguments) throws
        -> [(record: APIKeyRecord, salt: [UInt8], hash: [UInt8])] {
        try Row.fetchAll(db, sql: "SELECT * FROM api_key \(clause) ORDER BY created_at, rowid", arguments: args).map { r in
            let scope = try JSONDecoder().decode(KeyScope.self, from: Data((r["scope_json"] as String).utf8))
            let record = APIKeyRecord(id: r["id"], name: r["name"], scope: scope, createdAt: Millis.date(r["created_at"]),
                                      revokedAt: (r["revoked_at"] as Int64?).map(Millis.date))
            return (record, [UInt8](r["salt"] as Data), [UInt8](r["hash"] as Data))
        }
    }

    private static func scopeJSON(_ scope: KeyScope) throws -> String {
        let e = JSONEncoder()
        e.outputFormatting = .sortedKeys
        return String(decoding: try e.encode(scope), as: UTF8.self)
    }
}
