import Foundation
import Logging
import NIOCore
import PetrelModel
import PetrelRegistry

/// What the gateway serves and every change to it: the registry, the routing table built from
/// it, the revisions loaded for serving and one pool per revision. Requests read the table and
/// the key ring under a lock; changes (deploy, traffic, rollback, tags, delete, keys) run one at
/// a time on `changes`, so two deploys of one function serialise.
final class Deployments: @unchecked Sendable {
    let registry: Registry
    let group: EventLoopGroup
    let executable: String
    let socketDirectory: String
    /// Set once, before the first pool is made (it needs the loaded artifacts to map ahead).
    var prewarm: PrewarmPool?
    /// Set once, before the first pool is made; nil: workers' loops are never pinned.
    var colocation: Colocation?
    let workerThreads: Int
    let logger: Logger
    /// How long a deploy waits for the new revision's first worker before it gives up.
    var readyTimeout: TimeInterval = 120
    let changes = DispatchQueue(label: "petrel.deployments")
    let keyChanges = DispatchQueue(label: "petrel.keys")

    private let lock = NSLock()
    private var current = RoutingTable()
    private var keys = KeyRing.empty
    private var pools: [String: FunctionPool] = [:]
    private var loaded: [String: GatewayRevision] = [:]
    /// Functions being deleted: gone from routing while their workers drain.
    private var deleting: Set<String> = []

    init(registry: Registry, group: EventLoopGroup, executable: String, socketDirectory: String,
         prewarm: PrewarmPool?, workerThreads: Int, logger: Logger) {
        self.registry = registry
        self.group = group
        self.executable = executable
        self.socketDirectory = socketDirectory
        self.prewarm = prewarm
        self.workerThreads = workerThreads
        self.logger = logger
    }

    var table: RoutingTable { lock.withLock { current } }
    var keyRing: KeyRing { lock.withLock { keys } }

    /// At start: every revision the registry holds, loaded (compiled again if the cache lost
    /// it). A revision that cannot be loaded is logged and left unroutable; the rest serve.
    func loadAll() throws {
        for state in try registry.allFunctions() {
            for rev in state.revisions where lock.withLock({ loaded[rev.id] }) == nil {
                do { try load(rev) } catch {
                    logger.error("revision \(rev.id) cannot be served: \(error)")
                }
            }
        }
        try rebuild()
        try refreshKeys()
    }

    @discardableResult
    private func load(_ rev: RevisionRecord) throws -> GatewayRevision {
        let p = try Deployer.load(rev) { [logger] in logger.info("\(rev.id): \($0)") }
        let g = GatewayRevision(id: rev.id, number: rev.number, function: rev.function, artifactPath: p.artifactPath,
                                signature: p.signature, settings: PoolSettings(config: p.config, threads: workerThreads),
                                auth: p.config.auth)
        lock.withLock { loaded[rev.id] = g }
        return g
    }

    /// Reads the registry and swaps in a new table.
    private func rebuild() throws {
        let states = try registry.allFunctions()
        lock.withLock {
            current = RoutingTable(states: states.filter { !deleting.contains($0.name) }, revisions: loaded)
        }
    }

    func refreshKeys() throws {
        let ring = try registry.keyRing()
        lock.withLock { keys = ring }
    }

    /// The pool of a revision, made (and its timers started) on first use.
    func pool(for rev: GatewayRevision) -> FunctionPool {
        let (pool, made): (FunctionPool, Bool) = lock.withLock {
            if let p = pools[rev.id] { return (p, false) }
            let p = FunctionPool(name: rev.function, revision: rev.id, version: String(rev.number), artifactPath: rev.artifactPath, settings: rev.settings,
                                 eventLoop: group.next(), group: group, executable: executable,
                                 socketDirectory: socketDirectory, logger: logger, prewarm: prewarm, colocation: colocation)
            pools[rev.id] = p
            return (p, true)
        }
        if made { pool.start() }
        return pool
    }

    /// Pools of one function, or of every function.
    func pools(of function: String? = nil) -> [FunctionPool] {
        lock.withLock { pools.values.filter { function == nil || $0.name == function } }.sorted { $0.revision < $1.revision }
    }

    func existingPool(_ revision: String) -> FunctionPool? { lock.withLock { pools[revision] } }

    /// Artifacts worth mapping ahead in prewarmed workers: every loaded revision's.
    var artifactPaths: [String] { lock.withLock { Array(Set(loaded.values.map(\.artifactPath))).sorted() } }

    // MARK: changes (blocking)
    // Traffic, rollback and tags run on `changes`. Deploy and delete run elsewhere and take
    // `changes` only around their registry writes: waiting for a worker to start or for workers
    // to drain must not hold up a rollback. Keys change on `keyChanges`.

    struct DeployOutcome {
        var revision: RevisionRecord
        var state: FunctionState
        var reused: Bool
    }

    /// Registers a revision for a function.yaml and a stored model, loads it, and, unless
    /// `traffic` is nil, starts a worker and routes `traffic` percent to it once that worker is
    /// ready — a revision that cannot start never gets a request.
    func deploy(function: String, configText: String, modelSHA256: String, origin: String, tag: String?, traffic: Int?) throws -> DeployOutcome {
        guard ModelStore.isDigest(modelSHA256) else {
            throw RegistryError(.invalid, "model_sha256 = \"\(modelSHA256)\": must be 64 lower-case hex digits")
        }
        let config = try Deployer.config(text: configText, name: function)
        guard ModelStore.contains(sha256: modelSHA256) else {
            throw RegistryError(.invalid, "model \(modelSHA256) is not in the server's model store: upload it first (PUT /admin/v1/models/\(modelSHA256); `petrel deploy` does)")
        }
        let prepared = try Deployer.compile(config: config, configText: configText, modelSHA256: modelSHA256, origin: origin, tag: tag)
        let (rev, reused, g): (RevisionRecord, Bool, GatewayRevision) = try changes.sync {
            let (rev, reused) = try Registration.addOrReuse(prepared, function: function, registry: registry)
            let g = GatewayRevision(id: rev.id, number: rev.number, function: function, artifactPath: prepared.artifactPath,
                                    signature: prepared.signature, settings: PoolSettings(config: config, threads: workerThreads),
                                    auth: config.auth)
            lock.withLock { loaded[rev.id] = g; deleting.remove(function) }
            try rebuild()
            return (rev, reused, g)
        }
        prewarm?.addPremap(g.artifactPath)
        var state = try registry.function(function)!
        if let traffic {
            try waitUntilReady(g)
            state = try changes.sync {
                let s = try registry.shiftTraffic(function, to: rev.id, percent: traffic)
                try rebuild()
                return s
            }
        }
        logger.notice("deployed", metadata: ["function": "\(function)", "revision": "\(rev.id)", "reused": "\(reused)",
                                             "traffic": "\(state.traffic.map { "\($0.revision)=\($0.percent)" }.joined(separator: ","))"])
        return DeployOutcome(revision: rev, state: state, reused: reused)
    }

    private func waitUntilReady(_ rev: GatewayRevision) throws {
        final class Outcome: @unchecked Sendable {
            let lock = NSLock()
            var result: Result<Void, FunctionPool.PoolError>?
        }
        let done = DispatchSemaphore(value: 0)
        let outcome = Outcome()
        pool(for: rev).warmUp { r in outcome.lock.withLock { outcome.result = r }; done.signal() }
        if done.wait(timeout: .now() + readyTimeout) == .timedOut {
            throw RegistryError(.conflict, "revision \(rev.id) registered, but no worker was ready within \(Int(readyTimeout)) s; traffic unchanged")
        }
        if case .failure(let e) = outcome.lock.withLock({ outcome.result }) {
            throw RegistryError(.conflict, "revision \(rev.id) registered, but \(e.description); traffic unchanged")
        }
    }

    func setTraffic(_ function: String, _ targets: [TrafficTarget]) throws -> FunctionState {
        let state = try registry.setTraffic(function, targets)
        try rebuild()
        return state
    }

    func rollback(_ function: String, to revision: String?) throws -> FunctionState {
        let state = try registry.rollback(function, to: revision)
        try rebuild()
        return state
    }

    func setTag(_ function: String, tag: String, revision: String?) throws -> FunctionState {
        let state = try registry.setTag(function, tag: tag, revision: revision)
        try rebuild()
        return state
    }

    /// Stops routing to the function (new requests get 404), lets its workers finish what they
    /// hold and exit, then removes it from the registry and deletes artifacts nothing refers to.
    func delete(_ function: String, drainTimeout: TimeInterval = 60) throws -> (state: FunctionState, removed: [String]) {
        try changes.sync {
            guard try registry.function(function) != nil else {
                throw RegistryError(.notFound, "unknown function '\(function)'")
            }
            lock.withLock { _ = deleting.insert(function) }
            try rebuild()
        }
        let group = DispatchGroup()
        for pool in pools(of: function) {
            group.enter()
            pool.retire { group.leave() }
        }
        if group.wait(timeout: .now() + drainTimeout) == .timedOut {
            logger.warning("\(function): workers still busy after \(Int(drainTimeout)) s of draining; killed")
            pools(of: function).forEach { $0.forceKill() }
        }
        let (state, removed): (FunctionState, [String]) = try changes.sync {
            let state = try registry.deleteFunction(function)
            let inUse: Set<String> = lock.withLock {
                for rev in state.revisions { pools[rev.id] = nil; loaded[rev.id] = nil }
                return Set(loaded.values.map(\.artifactPath))
            }
            try rebuild()
            return (state, try Deployer.collectGarbage(deleted: state.revisions, registry: registry, keeping: inUse))
        }
        logger.notice("deleted", metadata: ["function": "\(function)", "revisions": "\(state.revisions.count)", "files_removed": "\(removed.count)"])
        return (state, removed)
    }
}

extension PoolSettings {
    /// A pool's settings from function.yaml's `limits:` and `scaling:`.
    init(config: FunctionConfig, threads: Int) {
        self.init()
        scaling = config.scaling
        containerConcurrency = config.limits.containerConcurrency
        timeout = .nanoseconds(Int64(config.limits.timeoutSeconds * 1e9))
        memoryLimitBytes = config.limits.memoryBytes
        queueLimit = config.limits.queue
        maxBatchSize = config.maxBatchSize
        self.threads = threads
    }
}
