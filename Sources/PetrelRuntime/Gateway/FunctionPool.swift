import Foundation
import Logging
import Metrics
import NIOCore
import PetrelHTTP2
import PetrelProtocol

/// Settings of one function's pool (from function.yaml's `limits` and `scaling`).
public struct PoolSettings: Sendable {
    public var scaling = ScalingConfig()
    /// Requests a worker takes at once; 0 = unlimited. A hard limit: more wait in the queue.
    public var containerConcurrency = 0
    /// Requests waiting for a worker (activator queue); more get 503 / UNAVAILABLE.
    public var queueLimit = 1000
    /// A request not answered within this is answered 504 and its worker killed.
    public var timeout: TimeAmount = .seconds(300)
    /// A worker not ready this long after it was started (or claimed) is killed; requests that
    /// wait for it get another.
    public var startTimeout: TimeAmount = .seconds(60)
    public var memoryLimitBytes: Int?
    public var threads = 1
    /// `batching.maxBatchSize`, passed to each worker (0 = no batching).
    public var maxBatchSize = 0
    public init() {}
}

/// One function's workers and its activator queue: requests wait here while a worker starts, are
/// forwarded as they came (bodies never decoded), and the autoscaler's decisions start and drain
/// workers.
///
/// Threads: the state is guarded by `lock`, and a request is handled on the event loop its client
/// connection arrived on, sent over that loop's own connection to the worker (`WorkerSlot.loops`),
/// so neither direction of a proxied request hops between threads. When the pool was confined to
/// one loop, a request from a connection on another loop crossed threads twice, each crossing a
/// wake-up of a sleeping thread: with `--event-loops 2` such a connection cost 4 context switches
/// per request instead of 2 and ~40 µs of p50 at -c 1. Timers and worker-process events still run
/// on `eventLoop` (`onLoop`). Whatever may call back into the pool (answers, sends, waiters,
/// closing a connection) is queued in `effects` and run after the lock is released.
final class FunctionPool: @unchecked Sendable {
    struct Pending {
        var request: HTTPRequest
        var responder: HTTPResponder
        var arrived: UInt64
        var isGRPC: Bool
        var retried = false
        /// When it stops waiting in the queue (its grpc-timeout, else the function's timeout).
        var expiry: NIODeadline
        var deadline: Scheduled<Void>?
        var id: Int
    }

    /// A worker as the pool sees it. Its life (and its in-flight count) is the I/O-free
    /// `WorkerLifecycle` state machine; the pool feeds it events and carries out its actions.
    final class WorkerSlot {
        let id: Int
        let socketPath: String
        var process: SpawnedWorker?
        var client: HTTP2Client?
        /// Connections from the gateway's other event loops (`client`, the first, was made on the
        /// pool's loop or, for a claimed worker, the prewarm pool's), made on a loop's first
        /// request here; nil while connecting.
        var loops: [(loop: EventLoop, client: HTTP2Client?)] = []
        var life = WorkerLifecycle()
        var cold: ColdStart
        /// The prewarm pool's claim this worker came from: its replacement waits for our cold start.
        var prewarmClaim: Int?
        /// Requests that waited for this worker's start: the first answered is its cold start.
        var coldPending = true
        /// When each request in flight here was forwarded, oldest first: one timer per worker
        /// watches the oldest for the function's timeout (a timer per request, scheduled and
        /// cancelled on every forward, cost ~4,000 instructions of a proxied request).
        var forwarded: [(request: Int, at: NIODeadline)] = []
        var hangTimer: Scheduled<Void>?
        /// Requests that had waited past the timeout when the worker was killed: answered 504.
        var hung: Set<Int> = []
        init(id: Int, socketPath: String, cold: ColdStart) { self.id = id; self.socketPath = socketPath; self.cold = cold }

        var isReady: Bool { life.isReady }
        /// The worker reported listening. A socket-activated worker is routable (`isReady`) from
        /// the gateway's early connect, before it has even reached `main`; its start timeout and a
        /// deploy's readiness go by this instead.
        var hasListened: Bool { cold.ready != nil }
        var isStarting: Bool {
            switch life.state { case .spawning, .starting: true; default: false }
        }
        var inFlight: Int {
            switch life.state { case .ready(_, let n), .draining(_, let n): n; default: 0 }
        }
        /// The `state` label of `petrel_workers`.
        var stateName: String {
            switch life.state {
            case .spawning, .starting: "starting"
            case .ready: "ready"
            case .draining: "draining"
            case .exited, .failed: "exited"
            }
        }
    }

    /// The function (metric labels, messages) and the revision this pool runs.
    let name: String
    let revision: String
    /// The revision's number: workers answer as this model_version.
    let version: String
    let artifactPath: String
    let settings: PoolSettings
    let eventLoop: EventLoop
    let group: EventLoopGroup
    let executable: String
    let socketDirectory: String
    let logger: Logger
    let coldMetrics: ColdStartMetrics
    let prewarm: PrewarmPool?
    /// Tells the worker where to run its event loop (see `ColocationPolicy`); nil: never pinned.
    let colocation: Colocation?

    private var workers: [WorkerSlot] = []
    private var queue: [Pending] = []
    private var autoscaler: Autoscaler
    private var nextWorker = 0, nextRequest = 0
    private var lastDecision: ScaleDecision?
    // Time-weighted concurrency over the current second, for the autoscaler.
    private var concurrencyIntegral: Double = 0, lastChange: UInt64, sampleStart: UInt64

    /// Deploys waiting for this revision's first ready worker.
    private var readyWaiters: [(Result<Void, PoolError>) -> Void] = []
    private var lastWorkerError: String?
    private var timers: [RepeatedTask] = []
    /// Being deleted: takes no request and starts no worker.
    private var retiring = false
    /// Timers stopped (shutdown or delete): a tick already queued on the loop when they were
    /// cancelled from another thread must not act (it could start a worker nobody drains).
    private var stopped = false
    /// Scale-to-zero calls waiting for the last worker to exit.
    private var drainedWaiters: [() -> Void] = []

    struct PoolError: Error, CustomStringConvertible { var description: String }

    private let lock = NSLock()
    /// Work left for after the lock is released (see the type's comment).
    private var effects: [() -> Void] = []

    /// Runs `body` with the pool's state to itself, then the effects it queued.
    private func locked(_ body: () -> Void) {
        lock.lock()
        body()
        let queued = effects
        effects = []
        lock.unlock()
        for effect in queued { effect() }
    }

    /// `locked(body)` on the pool's loop (worker-process events arrive on other threads).
    private func onLoop(_ body: @escaping () -> Void) {
        eventLoop.execute { self.locked(body) }
    }

    init(name: String, revision: String, version: String, artifactPath: String, settings: PoolSettings, eventLoop: EventLoop, group: EventLoopGroup,
         executable: String, socketDirectory: String, logger: Logger, prewarm: PrewarmPool?, colocation: Colocation? = nil) {
        self.name = name
        self.revision = revision
        self.version = version
        self.artifactPath = artifactPath
        self.settings = settings
        self.eventLoop = eventLoop
        self.group = group
        self.executable = executable
        self.socketDirectory = socketDirectory
        self.logger = logger
        self.prewarm = prewarm
        self.colocation = colocation
        coldMetrics = ColdStartMetrics(function: name)
        let now = MonotonicClock.now()
        autoscaler = Autoscaler(config: settings.scaling, now: MonotonicTime(nanoseconds: Int64(now)))
        lastChange = now
        sampleStart = now
    }

    // MARK: requests

    func submit(_ request: HTTPRequest, _ responder: HTTPResponder, isGRPC: Bool, deadline: NIODeadline?) {
        let arrived = MonotonicClock.now()
        locked {
            nextRequest += 1
            var p = Pending(request: request, responder: responder, arrived: arrived, isGRPC: isGRPC,
                            expiry: deadline ?? .now() + settings.timeout, id: nextRequest)
            if retiring { return reject(p, status: 404, grpc: .notFound, "function '\(name)' was deleted") }
            if !PoolPolicy.admits(queued: queue.count, queueLimit: settings.queueLimit, someWorkerHasRoom: readyWorkerWithCapacity() != nil) {
                return reject(p, status: 503, grpc: .unavailable,
                              "function '\(name)' has \(queue.count) requests waiting (queue limit \(settings.queueLimit)); retry later",
                              retryAfter: true)
            }
            concurrencyChanged()
            // Nothing waits and a worker has room: forwarded now, so no queue deadline to arm.
            if queue.isEmpty, let w = readyWorkerWithCapacity() { return forward(p, to: w) }
            armQueueDeadline(&p)
            queue.append(p)
            pump()
        }
    }

    /// The timer that answers `p` 504 / DEADLINE_EXCEEDED if it is still queued at its expiry.
    private func armQueueDeadline(_ p: inout Pending) {
        let id = p.id
        p.deadline = eventLoop.scheduleTask(deadline: p.expiry) { [self] in locked { expire(id) } }
    }

    /// Sends queued requests to ready workers with room, and starts workers when none has room.
    private func pump() {
        while !queue.isEmpty, let w = readyWorkerWithCapacity() {
            forward(queue.removeFirst(), to: w)
        }
        if !queue.isEmpty { scaleForQueue() }
    }

    /// The least busy ready worker with room (a scan, no allocation: this runs per request).
    private func readyWorkerWithCapacity() -> WorkerSlot? {
        var best: WorkerSlot?
        for w in workers where w.isReady && PoolPolicy.hasRoom(inFlight: w.inFlight, containerConcurrency: settings.containerConcurrency) {
            if best == nil || w.inFlight < best!.inFlight { best = w }
        }
        return best
    }

    /// Requests wait and no worker has room. At zero the activator decides at once (it does not
    /// wait for a tick). Away from zero it starts a worker only for each whole worker's worth of
    /// waiting requests (floor(queued / containerConcurrency)); the rest is the autoscaler's job,
    /// which counts queued requests and panics within a tick. Starting one for every queued request
    /// made steady load at a concurrency limit start and drain a worker every few seconds
    /// (`petrel simulate`: 226 starts in 600 s where 3 workers do).
    private func scaleForQueue() {
        guard !retiring else { return }
        let starting = workers.filter(\.isStarting).count
        let ready = workers.filter(\.isReady).count
        var want: Int
        if ready == 0 && starting == 0 {
            want = autoscaler.onRequestAtZero(now: now())
        } else {
            want = ready + PoolPolicy.wholeWorkersWaiting(queued: queue.count, containerConcurrency: settings.containerConcurrency)
        }
        let start = PoolPolicy.workersToStart(want: want, ready: ready, starting: starting, maxScale: settings.scaling.maxScale)
        for _ in 0..<start { startWorker() }
    }

    private func forward(_ p: Pending, to w: WorkerSlot) {
        apply(.requestStarted, to: w)
        let isCold = w.coldPending && p.arrived <= (w.cold.ready ?? .max)
        if isCold { w.coldPending = false }
        var request = p.request
        request.headers.fields.removeAll { ["content-length", "connection", "te", "host", Colocation.header].contains($0.name) }
        if p.isGRPC { request.headers.add("te", "trailers") }
        if let colocation { request.headers.add(Colocation.header, colocation.started()) }
        w.forwarded.append((p.id, .now()))
        armHangTimer(w)
        let client = client(of: w, on: p.responder.eventLoop)
        effects.append { [self] in client.send(request) { [self] result in locked {
            colocation?.finished()
            if let i = w.forwarded.firstIndex(where: { $0.request == p.id }) { w.forwarded.remove(at: i) }
            concurrencyChanged()   // integrate up to now before the count drops
            apply(.requestFinished, to: w)
            p.deadline?.cancel()
            switch result {
            case .success(var response):
                response.headers.fields.removeAll { $0.name == "content-length" }
                var cold = w.cold
                if let i = response.headers.fields.firstIndex(where: { $0.name == "petrel-first-inference-ns" }) {
                    cold.firstInference = UInt64(response.headers.fields[i].value)
                    response.headers.fields.remove(at: i)
                }
                if isCold {
                    cold.arrived = min(cold.arrived, p.arrived)
                    cold.responseSent = MonotonicClock.now()
                    if p.isGRPC {
                        if response.trailers == nil { response.headers.add("petrel-cold-start", cold.serverTiming) }
                        else { response.trailers!.add("petrel-cold-start", cold.serverTiming) }
                    } else {
                        response.headers.add("server-timing", cold.serverTiming)
                    }
                    coldMetrics.record(cold)
                    logger.info("cold start", metadata: ["function": "\(name)", "worker": "\(w.id)",
                        "phases": "\(cold.phases.map { "\($0.name)=\(String(format: "%.2f", Double($0.nanos) / 1e6))ms" }.joined(separator: " "))"])
                }
                effects.append { p.responder.respond(response) }
                // After the answer: ending the claim spawns the replacement prewarmed worker
                // (~1.5 ms of posix_spawn that the cold response must not wait for).
                if isCold, let id = w.prewarmClaim { effects.append { [prewarm] in prewarm?.claimEnded(id) } }
            case .failure(let error):
                if w.hung.remove(p.id) != nil {
                    reject(p, status: 504, grpc: .deadlineExceeded,
                           "function '\(name)' did not answer within \(Self.text(settings.timeout)) (limits.timeout); its worker was killed and is being replaced")
                } else if error.retryable && !p.retried {
                    var again = p
                    again.retried = true
                    armQueueDeadline(&again)   // it waits in the queue again, under its first deadline
                    queue.insert(again, at: 0)
                } else {
                    reject(p, status: 502, grpc: .unavailable,
                           "worker for '\(name)' failed while handling the request (\(error)); it is being replaced")
                }
            }
            pump()
        } } }
    }

    /// The connection to `w` on `loop`: the worker's first (made on the pool's loop, or on the
    /// prewarm pool's for a claimed worker), or one made for `loop` on its first request there
    /// (which, like any sent while it connects, goes over the first). A closed one is replaced.
    private func client(of w: WorkerSlot, on loop: EventLoop) -> HTTP2Client {
        let first = w.client!
        if loop === first.eventLoop { return first }
        if let i = w.loops.firstIndex(where: { $0.loop === loop }) {
            guard let c = w.loops[i].client else { return first }   // connecting
            if c.isActive { return c }
            w.loops.remove(at: i)
            effects.append { c.closeSoon() }
        }
        w.loops.append((loop, nil))
        let path = w.socketPath
        effects.append { [self] in
            HTTP2Client.connect(to: .unix(path: path), group: loop).whenComplete { [self] result in locked {
                let i = w.loops.firstIndex(where: { $0.loop === loop })
                guard case .success(let client) = result else {
                    // The first connection serves on; the next request from `loop` tries again.
                    if let i { w.loops.remove(at: i) }
                    return
                }
                guard let i, workers.contains(where: { $0 === w }) else { return effects.append { client.closeSoon() } }
                w.loops[i].client = client
            } }
        }
        return first
    }

    /// "300 s", "1.5 s", "250 ms": a timeout as function.yaml would write it.
    static func text(_ t: TimeAmount) -> String {
        let ms = Double(t.nanoseconds) / 1e6
        if ms < 1000 { return "\(Int(ms.rounded())) ms" }
        let s = ms / 1000
        return s == s.rounded() ? "\(Int(s)) s" : String(format: "%.1f s", s)
    }

    /// Watches `w`'s oldest forwarded request: past the function's timeout the worker is killed,
    /// the requests that waited that long are answered 504 and the others fail with the
    /// connection. Re-armed for the next oldest when it fires early, since requests answered
    /// meanwhile leave the timer in place rather than cancel it.
    private func armHangTimer(_ w: WorkerSlot) {
        guard w.hangTimer == nil, let oldest = w.forwarded.first else { return }
        w.hangTimer = eventLoop.scheduleTask(deadline: oldest.at + settings.timeout) { [self] in locked {
            w.hangTimer = nil
            guard let oldest = w.forwarded.first else { return }
            let now = NIODeadline.now()
            if oldest.at + settings.timeout <= now {
                logger.warning("worker \(w.id) of \(name) did not answer within \(Self.text(settings.timeout)): killed")
                w.hung = Set(w.forwarded.filter { $0.at + settings.timeout <= now }.map(\.request))
                w.forwarded.removeAll()
                apply(.timedOut, to: w)
            } else {
                armHangTimer(w)
            }
        } }
    }

    private func expire(_ id: Int) {
        guard let i = queue.firstIndex(where: { $0.id == id }) else { return }
        concurrencyChanged()
        let p = queue.remove(at: i)
        reject(p, status: 504, grpc: .deadlineExceeded, "function '\(name)' had no worker free before the request's deadline")
    }

    private func reject(_ p: Pending, status: Int, grpc: GRPCStatus, _ message: String, retryAfter: Bool = false) {
        p.deadline?.cancel()
        let responder = p.responder
        if p.isGRPC {
            effects.append { responder.respond(GRPCWire.response(.failure(grpc, message))) }
        } else {
            var r = HTTPResponse(status: status, contentType: "application/json", body: OIPRest.encodeError(message: message))
            if retryAfter { r.headers.add("retry-after", "1") }
            effects.append { responder.respond(r) }
        }
    }

    // MARK: workers

    /// Knative's initial scale: workers started at deploy, before any request (none waits on them,
    /// so they record no cold start).
    private func startInitialWorkers() {
        for _ in 0..<settings.scaling.initialWorkers {
            startWorker()
            workers.last?.coldPending = false
        }
    }

    private func startWorker() {
        nextWorker += 1
        let id = nextWorker
        eventLoop.scheduleTask(in: settings.startTimeout) { [self] in locked {
            // Not listening yet (routable or not: a spawned worker is connected to, and sent
            // requests, before it listens; see `connectEarly`).
            guard let w = workers.first(where: { $0.id == id }), !w.hasListened, w.isStarting || w.isReady else { return }
            logger.warning("worker \(id) of \(revision) was not ready within \(settings.startTimeout.nanoseconds / 1_000_000_000) s: killed")
            apply(.timedOut, to: w)
            pump()
        } }
        let t = MonotonicClock.now()
        let oldest = queue.first?.arrived ?? t
        if let prewarm, let claimed = prewarm.claim() {
            let w = WorkerSlot(id: id, socketPath: claimed.socketPath, cold: ColdStart(arrived: oldest, spawnRequested: t, prewarmed: true))
            w.cold.enteredMain = claimed.enteredMain
            w.prewarmClaim = claimed.claimID
            w.process = claimed.process
            workers.append(w)
            apply(.spawned(pid: claimed.process.pid), to: w)
            apply(.enteredMain, to: w)
            claimed.rebind({ [self] line in onLoop { self.report(w, line) } }, onExit: { [self] status in onLoop { self.exited(w, status) } })
            specialise(w, client: claimed.client)
            return
        }
        let w = WorkerSlot(id: id, socketPath: "\(socketDirectory)/\(revision)-\(id).sock", cold: ColdStart(arrived: oldest, spawnRequested: t))
        workers.append(w)
        var args = ["worker", "--socket", w.socketPath, "--listen-fd", String(SpawnedWorker.listenerFd),
                    "--artifact", artifactPath, "--name", name, "--version", version,
                    "--report-fd", "3", "--lifeline-fd", "4", "--threads", String(settings.threads)]
        if let m = settings.memoryLimitBytes { args += ["--memory-limit", String(m)] }
        if settings.maxBatchSize > 1 { args += ["--max-batch-size", String(settings.maxBatchSize)] }
        do {
            let listener = try SpawnedWorker.listeningSocket(path: w.socketPath)
            w.process = try SpawnedWorker.spawn(executable: executable, arguments: args, listening: listener,
                onReport: { [self] line in onLoop { self.report(w, line) } },
                onExit: { [self] status in onLoop { self.exited(w, status) } })
            apply(.spawned(pid: w.process!.pid), to: w)
            logger.debug("spawned worker", metadata: ["function": "\(name)", "worker": "\(id)"])
            connectEarly(w)
        } catch {
            unlink(w.socketPath)
            logger.error("cannot start a worker for \(name): \(error)")
            workers.removeAll { $0 === w }
            for p in queue { reject(p, status: 503, grpc: .unavailable, "cannot start a worker for '\(name)': \(error)") }
            queue.removeAll()
            lastWorkerError = "\(error)"
            answerReadyWaiters()
        }
    }

    /// Socket activation: the worker's socket was bound and listening before the spawn, so the
    /// connection (and the request waiting for this worker) is made now, queued by the kernel, and
    /// read as soon as the worker's event loop starts — instead of after its "ready" report, a pipe
    /// read, a connect and two more thread wake-ups (≈0.5 ms of every cold start here). The worker
    /// holds requests until its artifact is mapped; if it dies first, the connection closes and
    /// the request is answered like any other crash.
    private func connectEarly(_ w: WorkerSlot) {
        effects.append { [self] in
            HTTP2Client.connect(to: .unix(path: w.socketPath), group: eventLoop).whenComplete { [self] result in locked {
                switch result {
                case .success(let client):
                    guard w.isStarting else { return effects.append { client.closeSoon() } }   // drained or gone meanwhile
                    w.client = client
                    apply(.becameReady, to: w)
                    pump()
                case .failure(let error):
                    logger.error("cannot reach worker \(w.id) of \(name): \(error)")
                    w.process?.forceKill()
                }
            } }
        }
    }

    /// A prewarmed worker already listens; tell it which artifact to map, then it is ours.
    private func specialise(_ w: WorkerSlot, client: HTTP2Client) {
        w.client = client
        let body = Array("\(name)\n\(artifactPath)\n\(version)\n\(settings.maxBatchSize)".utf8)
        effects.append { [self] in
            client.send(HTTPRequest(method: "POST", path: "/petrel/specialise", headers: ["content-type": "text/plain"],
                                    body: body)).hop(to: eventLoop).whenComplete { [self] result in locked {
                guard case .success(let r) = result, r.status == 202 else {
                    logger.error("prewarmed worker refused to specialise: \(result)")
                    w.process?.forceKill()
                    return
                }
                w.cold.ready = MonotonicClock.now()
                apply(.becameReady, to: w)
                pump()
            } }
        }
    }

    private func report(_ w: WorkerSlot, _ line: String) {
        switch WorkerReport(line: line) {
        case .main(let t)?:
            w.cold.enteredMain = t
            if w.isStarting { apply(.enteredMain, to: w) }   // else already routable (`connectEarly`)
        case .mapped(let t)?: w.cold.mapped = t
        case .error(let message)?:
            lastWorkerError = message
            logger.error("worker \(w.id) of \(revision): \(message)")
        case .ready(let t)?:
            if w.cold.ready == nil { w.cold.ready = t }
            answerReadyWaiters()
        case .warmed?, nil: break
        }
    }

    private func exited(_ w: WorkerSlot, _ status: Int32) {
        if let id = w.prewarmClaim { effects.append { [prewarm] in prewarm?.claimEnded(id) } }
        apply(.exited(status: status), to: w)
        pump()
    }

    /// Feeds one lifecycle event to a worker's state machine and carries out the action.
    private func apply(_ event: WorkerLifecycle.Event, to w: WorkerSlot) {
        let action: WorkerLifecycle.Action
        do { action = try w.life.handle(event) } catch {
            logger.warning("worker \(w.id) of \(name): \(error)")
            return
        }
        defer { answerReadyWaiters() }
        switch action {
        case .none, .markReady, .stopRouting, .retryRequestElsewhere:
            break   // routing reads `isReady`; forward only ever picks a ready worker
        case .reapIdle:
            w.process?.terminate()
        case .killProcess:
            // Failed: forgotten now (its reap is absorbed by the machine); its in-flight
            // requests fail on the closed connection and are answered 502.
            w.process?.forceKill()
            forget(w)
        case .removeWorker:
            forget(w)
        }
    }

    private func forget(_ w: WorkerSlot) {
        if case .failed(let why) = w.life.state {
            logger.warning("worker \(w.id) of \(name) ended: \(why)")
        }
        let clients = [w.client].compactMap { $0 } + w.loops.compactMap(\.client)
        w.loops.removeAll()
        effects.append { clients.forEach { $0.closeSoon() } }
        workers.removeAll { $0 === w }
        unlink(w.socketPath)
        answerDrainedWaiters()
    }

    /// Starts the once-a-second sample and the autoscaler's tick (on the pool's loop).
    func start() {
        locked {
            startInitialWorkers()
            timers.append(eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { [self] _ in locked { sample() } })
            let tickNanos = settings.scaling.tickInterval.components.seconds * 1_000_000_000
                + settings.scaling.tickInterval.components.attoseconds / 1_000_000_000
            timers.append(eventLoop.scheduleRepeatedTask(initialDelay: .nanoseconds(tickNanos), delay: .nanoseconds(tickNanos)) { [self] _ in locked { tick() } })
        }
    }

    /// Stops scaling (the pool is being removed or the server stops).
    func stopTimers() { locked { stopScaling() } }

    private func stopScaling() {
        stopped = true
        timers.forEach { $0.cancel() }
    }

    /// For a deploy that routes traffic only to a revision that runs: `done` gets success once a
    /// worker is ready (starting one if none is), or the reason the worker could not start.
    func warmUp(_ done: @escaping (Result<Void, PoolError>) -> Void) {
        locked {
            if workers.contains(where: \.isReady) { return effects.append { done(.success(())) } }
            readyWaiters.append(done)
            if !workers.contains(where: \.isStarting) {
                lastWorkerError = nil
                startWorker()
                workers.last?.coldPending = false
            }
        }
    }

    private func answerReadyWaiters() {
        guard !readyWaiters.isEmpty else { return }
        let result: Result<Void, PoolError>
        // Ready for a deploy means listening (its report), not merely routable: a socket-activated
        // worker is routable from the connect, before the process has even reached `main`.
        if workers.contains(where: { $0.isReady && $0.hasListened }) { result = .success(()) }
        else if !workers.contains(where: { $0.isStarting || ($0.isReady && !$0.hasListened) }) {
            result = .failure(PoolError(description: "its worker exited before it was ready" + (lastWorkerError.map { ": \($0)" } ?? "")))
        } else { return }
        let waiting = readyWaiters
        readyWaiters.removeAll()
        effects.append { waiting.forEach { $0(result) } }
    }

    // MARK: autoscaling

    private func now() -> MonotonicTime { MonotonicTime(nanoseconds: Int64(MonotonicClock.now())) }

    /// Called whenever in-flight or queued counts change: integrates concurrency over time.
    private func concurrencyChanged() {
        let t = MonotonicClock.now()
        concurrencyIntegral += Double(currentConcurrency) * Double(t - lastChange)
        lastChange = t
    }

    private var currentConcurrency: Int { workers.reduce(0) { $0 + $1.inFlight } + queue.count }

    /// Once a second: the average concurrency of the past second goes to the autoscaler.
    private func sample() {
        guard !stopped else { return }
        concurrencyChanged()
        let t = MonotonicClock.now()
        let span = Double(max(1, t - sampleStart))
        autoscaler.record(concurrency: concurrencyIntegral / span, at: MonotonicTime(nanoseconds: Int64(t)))
        concurrencyIntegral = 0
        sampleStart = t
        publish()
    }

    /// Every tick: act on the autoscaler's decision.
    private func tick() {
        guard !stopped else { return }
        let ready = workers.filter(\.isReady)
        let starting = workers.filter(\.isStarting).count
        let d = autoscaler.decide(now: now(), readyWorkers: ready.count)
        lastDecision = d
        guard d.valid else { return }
        switch PoolPolicy.tickAction(desired: d.desired, ready: ready.count, starting: starting, queueEmpty: queue.isEmpty) {
        case .none: break
        case .start(let n): for _ in 0..<n { startWorker() }
        case .drain(let n):
            // The least busy first; a draining worker takes no new request and exits when its
            // in-flight requests are done.
            for w in ready.sorted(by: { $0.inFlight < $1.inFlight }).prefix(n) { apply(.drain, to: w) }
        }
    }

    /// For a delete: answers what waits with 404, starts nothing more, drains every worker; `done`
    /// runs once none is left. `forceKill` ends whatever still runs when the drain took too long.
    func retire(_ done: @escaping () -> Void) {
        locked {
            retiring = true
            stopScaling()
            let waiting = queue
            queue.removeAll()
            for p in waiting { reject(p, status: 404, grpc: .notFound, "function '\(name)' was deleted") }
            drainToZero(done)
        }
    }

    func forceKill() {
        locked { for w in workers { w.process?.forceKill() } }
    }

    /// Drains every worker and forgets the autoscaler's history (so the next tick does not start
    /// one again); `done` runs once no worker is left. For the admin API.
    func scaleToZero(_ done: @escaping () -> Void) {
        locked { drainToZero(done) }
    }

    private func drainToZero(_ done: @escaping () -> Void) {
        drainWorkers()
        autoscaler = Autoscaler(config: settings.scaling, now: now())
        lastDecision = nil
        drainedWaiters.append { [self] in locked { publish() }; done() }
        answerDrainedWaiters()
    }

    /// Answered from `forget` once the last worker is gone.
    private func answerDrainedWaiters() {
        guard workers.isEmpty, !drainedWaiters.isEmpty else { return }
        let waiting = drainedWaiters
        drainedWaiters.removeAll()
        effects.append { waiting.forEach { $0() } }
    }

    var coldStartSummary: [String: [String: Double]] { coldMetrics.summary() }

    /// Drains every worker (server shutdown).
    func drainAll() {
        locked { drainWorkers() }
    }

    private func drainWorkers() {
        for w in workers { apply(.drain, to: w) }
    }

    /// Workers in any state, for shutdown's wait.
    var workerCount: Int { lock.withLock { workers.count } }

    struct Snapshot: Sendable {
        var states: [String: Int]
        var queued: Int
        var desired: Int?
        var panicking: Bool
    }

    private let publishedLock = NSLock()
    private var published = Snapshot(states: [:], queued: 0, desired: nil, panicking: false)

    /// The last published snapshot (refreshed every second), readable from any thread.
    var latestSnapshot: Snapshot { publishedLock.withLock { published } }

    private func publish() {
        let s = snapshot
        publishedLock.withLock { published = s }
    }

    private var snapshot: Snapshot {
        var states: [String: Int] = ["starting": 0, "ready": 0, "draining": 0]
        for w in workers { states[w.stateName, default: 0] += 1 }
        return Snapshot(states: states, queued: queue.count, desired: lastDecision?.desired, panicking: lastDecision?.panicking ?? false)
    }
}
