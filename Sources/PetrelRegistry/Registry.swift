import Foundation
import GRDB

/// The registry of deployed functions: one SQLite file (`$PETREL_HOME/petrel.sqlite`) holding
/// functions, immutable revisions, traffic splits, tags, traffic history and API keys.
///
/// Every public method is one transaction: a read sees one consistent state, and a write either
/// happens whole or not at all (a crash or an error midway leaves the previous state). Several
/// `Registry` instances, in one process or several (two CLI deploys racing, the server), may open
/// the same file: WAL lets readers go on during a write, and IMMEDIATE write transactions with a
/// busy timeout make writers queue for the lock instead of failing with SQLITE_BUSY.
public final class Registry: Sendable {
    public static let fileName = "petrel.sqlite"
    public let path: String
    let queue: DatabaseQueue

    /// How long a writer waits for another process's transaction before giving up.
    static let busyTimeout: TimeInterval = 10
    /// Splits kept per function for rollback; older ones are dropped.
    static let historyLimit = 100

    /// Opens (creating it and its parent folders if needed) and migrates the registry at `path`.
    /// A file that is not an SQLite database is a `.invalid` error naming it; one written by a
    /// newer Petrel (migrations this build does not know) is a `.conflict`.
    public init(path: String) throws {
        self.path = path
        let dir = (path as NSString).deletingLastPathComponent
        if !dir.isEmpty { try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true) }
        var config = Configuration()
        config.label = "petrel.registry"
        config.journalMode = .wal
        config.busyMode = .timeout(Self.busyTimeout)
        config.foreignKeysEnabled = true
        do {
            queue = try DatabaseQueue(path: path, configuration: config)
            // GRDB's WAL set-up picks synchronous=NORMAL, which may lose the last commits on a power
            // cut. A deploy that reported success must survive one; registry writes are rare.
            try queue.writeWithoutTransaction { try $0.execute(sql: "PRAGMA synchronous = FULL") }
            try Self.migrate(queue, path: path)
        } catch let error as DatabaseError where error.resultCode == .SQLITE_NOTADB {
            throw RegistryError(.invalid, "'\(path)' is not a Petrel registry: the file is not an SQLite database")
        }
    }

    /// Runs the migrations this build knows. GRDB's migrator decides what to run before it opens
    /// each migration's transaction, so two processes opening a new file at once can both try
    /// "v1"; the loser's transaction rolls back (the tables exist) and a second pass finds the
    /// work done.
    private static func migrate(_ queue: DatabaseQueue, path: String) throws {
        let migrator = Schema.migrator
        let applied = try queue.read { try migrator.appliedIdentifiers($0) }
        let unknown = applied.subtracting(migrator.migrations)
        if !unknown.isEmpty {
            throw RegistryError(.conflict, "'\(path)' was written by a newer Petrel (schema \(unknown.sorted().joined(separator: ", "))); use that version or a newer one")
        }
        for attempt in 1...3 {
            do {
                try migrator.migrate(queue)
                return
            } catch {
                if try queue.read(migrator.hasCompletedMigrations) { return }
                if attempt == 3 { throw error }
            }
        }
    }

    // MARK: Transactions

    /// One IMMEDIATE transaction: it takes the write lock at BEGIN (waiting up to the busy
    /// timeout), so what it reads cannot change before it writes. Rolled back if `body` throws.
    func write<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.writeWithoutTransaction { db in
            var result: T?
            try db.inTransaction(.immediate) {
                result = try body(db)
                return .commit
            }
            return result!
        }
    }

    /// One read transaction: a consistent snapshot, never blocked by a writer (WAL).
    func read<T>(_ body: (Database) throws -> T) throws -> T {
        try queue.read(body)
    }

    // MARK: Functions and revisions

    /// Live (not deleted) function names, sorted.
    public func functionNames() throws -> [String] {
        try read(SQL.liveFunctionNames)
    }

    /// nil if unknown or deleted.
    public func function(_ name: String) throws -> FunctionState? {
        try read { try SQL.states($0, only: name).first }
    }

    /// Live functions, sorted by name.
    public func allFunctions() throws -> [FunctionState] {
        try read { try SQL.states($0) }
    }

    /// A tombstone exists: the function was deleted and not re-deployed since.
    public func wasDeleted(_ name: String) throws -> Bool {
        try read { try SQL.function($0, name)?.deletedAt != nil }
    }

    /// Adds an immutable revision (creating the function, or bringing a deleted one back). Does not
    /// touch traffic, except: a function with no traffic at all gets nothing either — the caller
    /// routes it. The number is allocated inside the write transaction, so concurrent adds to one
    /// function get distinct numbers. The function name must be a DNS label (it becomes part of
    /// revision ids and URLs) and the digests lower-case hex (they name files in the cache).
    public func addRevision(function: String, config: String, modelSHA256: String, artifactDigest: String,
                            source: String) throws -> RevisionRecord {
        if let why = Names.dnsLabelProblem(function) {
            throw RegistryError(.invalid, "function name '\(function)' is not valid: \(why)")
        }
        for (what, value) in [("model SHA-256", modelSHA256), ("artifact digest", artifactDigest)] where !Names.isHex(value) {
            throw RegistryError(.invalid, "\(what) '\(value)' of function '\(function)' is not valid: it must be lower-case hex")
        }
        return try write { db in
            let now = Millis.now()
            let row = try SQL.function(db, function)
            if row == nil {
                try SQL.insertFunction(db, function, createdAt: now)
            } else if row?.deletedAt != nil {
                try SQL.revive(db, function, createdAt: now)
            }
            let number = row?.nextRevision ?? 1
            try SQL.setNextRevision(db, function, number + 1)
            let record = RevisionRecord(id: RevisionRecord.id(function: function, number: number), function: function,
                                        number: number, config: config, modelSHA256: modelSHA256,
                                        artifactDigest: artifactDigest, source: source, createdAt: now)
            try SQL.insertRevision(db, record)
            return record
        }
    }

    /// Why `tag` cannot name a revision of `function`, or nil: for callers that check before they
    /// register anything.
    public static func tagProblem(_ tag: String, function: String) -> RegistryError? {
        Names.tagProblem(tag, function: function).map { RegistryError(.invalid, "tag '\(tag)' is not valid: \($0)") }
    }

    /// An existing revision with exactly this config text and model (for idempotent seeding),
    /// else nil. The oldest if several.
    public func findRevision(function: String, config: String, modelSHA256: String) throws -> RevisionRecord? {
        try read { try SQL.findRevision($0, function: function, config: config, modelSHA256: modelSHA256) }
    }

    // MARK: Traffic

    /// Replaces the split. Each revision must belong to the function (any form `revision(named:)`
    /// accepts; ids are stored); percents 0...100 summing to 100; a revision named twice is an
    /// error. Shares of 0 are dropped. Pushes the previous split to the history (if there was one
    /// and it differs, so one rollback always changes something). Returns the new state.
    public func setTraffic(_ function: String, _ targets: [TrafficTarget]) throws -> FunctionState {
        try write { db in
            let state = try liveState(db, function)
            var chosen: [(revision: RevisionRecord, asWritten: String, percent: Int)] = []
            for t in targets {
                try checkPercent(t.percent, function: function, revision: t.revision)
                let r = try resolve(state, t.revision)
                if let earlier = chosen.first(where: { $0.revision.id == r.id }) {
                    let forms = earlier.asWritten == t.revision ? "" : " (as '\(earlier.asWritten)' and '\(t.revision)')"
                    throw RegistryError(.invalid, "function '\(function)': traffic names revision '\(r.id)' twice\(forms)")
                }
                chosen.append((r, t.revision, t.percent))
            }
            let sum = chosen.reduce(0) { $0 + $1.percent }
            guard sum == 100 else {
                throw RegistryError(.invalid, "function '\(function)': traffic sums to \(sum) %; it must sum to 100 %")
            }
            let split = chosen.filter { $0.percent > 0 }.sorted { $0.revision.number < $1.revision.number }
                .map { TrafficTarget(revision: $0.revision.id, percent: $0.percent) }
            return try route(db, state, split)
        }
    }

    /// Gives `revision` `percent` (0...100) and scales the others' shares proportionally into the
    /// remaining 100 − percent (`TrafficMath.shift`: largest-remainder rounding so the sum is
    /// exactly 100; if nothing else had traffic, the new one gets 100 regardless). Pushes history.
    public func shiftTraffic(_ function: String, to revision: String, percent: Int) throws -> FunctionState {
        try write { db in
            try checkPercent(percent, function: function, revision: revision)
            let state = try liveState(db, function)
            let r = try resolve(state, revision)
            let split = TrafficMath.shift(state.traffic, to: r.id, percent: percent)
            return try route(db, state, sortedByNumber(split, state))
        }
    }

    /// nil: restores the split before the last change, popping the history (so repeated rollbacks
    /// walk back); `.conflict` when there is none. Given a revision: 100 % to it, pushing history.
    public func rollback(_ function: String, to revision: String?) throws -> FunctionState {
        try write { db in
            let state = try liveState(db, function)
            if let revision {
                let r = try resolve(state, revision)
                return try route(db, state, [TrafficTarget(revision: r.id, percent: 100)])
            }
            guard let previous = try SQL.popHistory(db, function) else {
                throw RegistryError(.conflict, "function '\(function)' has no earlier traffic to roll back to")
            }
            return try route(db, state, sortedByNumber(previous, state), pushHistory: false)
        }
    }

    // MARK: Tags

    /// Points a tag at a revision (moves it if it pointed elsewhere); nil removes it (`.notFound` if
    /// there is no such tag). A tag must be a DNS label and must not look like one of the
    /// function's revision ids ("<function>-<digits>"). A numeric tag is allowed and wins over the
    /// revision of that number: a model repository's version folders become revisions tagged with
    /// their numbers, so `/versions/3` keeps addressing what it did in Triton or TF Serving.
    public func setTag(_ function: String, tag: String, revision: String?) throws -> FunctionState {
        try write { db in
            var state = try liveState(db, function)
            guard let revision else {
                guard state.tags[tag] != nil else {
                    let tags = state.tags.isEmpty ? "it has no tags" : "tags: " + state.tags.keys.sorted().joined(separator: ", ")
                    throw RegistryError(.notFound, "function '\(function)' has no tag '\(tag)' (\(tags))")
                }
                try SQL.deleteTag(db, function, tag)
                state.tags[tag] = nil
                return state
            }
            if let why = Names.tagProblem(tag, function: function) {
                throw RegistryError(.invalid, "tag '\(tag)' is not valid: \(why)")
            }
            let r = try resolve(state, revision)
            try SQL.setTag(db, function, tag, r.id)
            state.tags[tag] = r.id
            return state
        }
    }

    // MARK: Delete and garbage collection

    /// Tombstones the function and removes its revisions, traffic, tags and history in one
    /// transaction; returns the state it had (so the caller can garbage-collect artifacts).
    /// The tombstone keeps the revision counter: a re-deploy continues the numbering.
    public func deleteFunction(_ name: String) throws -> FunctionState {
        try write { db in
            let state = try liveState(db, name)
            try SQL.tombstone(db, name, at: Millis.now())
            return state
        }
    }

    /// Artifact digests some live revision needs: every other cached artifact may be removed.
    public func referencedArtifactDigests() throws -> Set<String> {
        try read { try SQL.distinctRevisionColumn($0, "artifact_digest") }
    }

    /// Model digests some live revision was deployed with.
    public func referencedModelSHA256s() throws -> Set<String> {
        try read { try SQL.distinctRevisionColumn($0, "model_sha256") }
    }

    // MARK: Helpers (inside a transaction)

    /// The live function's state, or `.notFound` saying whether it never existed or was deleted.
    func liveState(_ db: Database, _ name: String) throws -> FunctionState {
        if let state = try SQL.states(db, only: name).first { return state }
        if try SQL.function(db, name)?.deletedAt != nil {
            throw RegistryError(.notFound, "function '\(name)' does not exist (it was deleted)")
        }
        throw RegistryError(.notFound, "function '\(name)' does not exist")
    }

    func resolve(_ state: FunctionState, _ version: String) throws -> RevisionRecord {
        guard let r = state.revision(named: version) else {
            throw RegistryError(.notFound, "function '\(state.name)' has no revision '\(version)' (\(state.versionsDescription))")
        }
        return r
    }

    private func checkPercent(_ percent: Int, function: String, revision: String) throws {
        guard (0...100).contains(percent) else {
            throw RegistryError(.invalid, "function '\(function)': traffic for revision '\(revision)' is \(percent) %; it must be 0...100")
        }
    }

    private func sortedByNumber(_ split: [TrafficTarget], _ state: FunctionState) -> [TrafficTarget] {
        let number = Dictionary(uniqueKeysWithValues: state.revisions.map { ($0.id, $0.number) })
        return split.sorted { (number[$0.revision] ?? .max) < (number[$1.revision] ?? .max) }
    }

    /// Stores `split` as the function's traffic. Unless restoring, the current split goes onto the
    /// history first (if there is one); a split equal to the current one changes nothing.
    private func route(_ db: Database, _ state: FunctionState, _ split: [TrafficTarget],
                       pushHistory: Bool = true) throws -> FunctionState {
        if split == state.traffic { return state }
        if pushHistory && !state.traffic.isEmpty {
            try SQL.pushHistory(db, state.name, state.traffic, at: Millis.now(), limit: Self.historyLimit)
        }
        try SQL.replaceTraffic(db, state.name, split)
        var state = state
        state.traffic = split
        return state
    }
}

/// Name rules shared by functions, tags and key scopes.
enum Names {
    /// RFC 1123 label, as function.yaml requires of a function name: what ends up in URLs.
    static func dnsLabelProblem(_ s: String) -> String? {
        let rule = "it must be a DNS label (lower-case letters, digits and '-', 1–63 characters, not starting or ending with '-')"
        let ok = !s.isEmpty && s.utf8.count <= 63 && !s.hasPrefix("-") && !s.hasSuffix("-")
            && s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        return ok ? nil : rule
    }

    static func tagProblem(_ tag: String, function: String) -> String? {
        if let why = dnsLabelProblem(tag) { return why }
        if isDigits(tag), tag.hasPrefix("0") { return "a numeric tag is a version number, written without leading zeros" }
        if tag.hasPrefix(function + "-"), isDigits(String(tag.dropFirst(function.count + 1))) {
            return "'\(function)-<digits>' addresses revision ids"
        }
        return nil
    }

    static func isDigits(_ s: String) -> Bool { !s.isEmpty && s.utf8.allSatisfy { $0 >= 48 && $0 <= 57 } }

    static func isHex(_ s: String) -> Bool {
        !s.isEmpty && s.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }
}
