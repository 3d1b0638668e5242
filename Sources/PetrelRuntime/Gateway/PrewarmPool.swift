import Foundation
import Logging
import NIOCore
import PetrelHTTP2

/// Generic workers started ahead of need (OpenWhisk's stem cells): each has entered `main` and
/// listens, but maps no model. A function's cold start claims one and tells it which artifact to
/// map, skipping process start-up; the pool refills in the background.
///
/// The refill waits for the claim's cold start to end (its first response, or a second at most):
/// a new generic worker's start and warm-up take a whole core for tens of milliseconds, and on a
/// small machine started at claim time they ran beside the claimed worker's first inference and
/// doubled it (MiniLM's first inference: 13.8 ms with the refill beside it, ~5 ms without).
final class PrewarmPool: @unchecked Sendable {
    /// Routes a spawned worker's report lines and exit to whoever owns it now.
    final class Callbacks: @unchecked Sendable {
        private let lock = NSLock()
        private var onReport: (@Sendable (String) -> Void)?
        private var onExit: (@Sendable (Int32) -> Void)?
        func report(_ line: String) { lock.withLock { onReport }?(line) }
        func exit(_ status: Int32) { lock.withLock { onExit }?(status) }
        func set(report: @escaping @Sendable (String) -> Void, exit: @escaping @Sendable (Int32) -> Void) {
            lock.withLock { onReport = report; onExit = exit }
        }
    }

    struct Claimed {
        var process: SpawnedWorker
        var client: HTTP2Client
        var socketPath: String
        var enteredMain: UInt64?
        let callbacks: Callbacks
        /// Set by `claim()`; hand it back through `claimEnded`.
        var claimID = 0
        func rebind(_ report: @escaping @Sendable (String) -> Void, onExit: @escaping @Sendable (Int32) -> Void) {
            callbacks.set(report: report, exit: onExit)
        }
    }

    private final class Starting {
        var process: SpawnedWorker?
        var enteredMain: UInt64?
        /// Which count this worker is in: it leaves `starting` exactly once (ready, failed or exited).
        var stillStarting = true
        var connected: HTTP2Client?
        /// Without a warm artifact a worker is warm as soon as it listens.
        var warmed: Bool
        let socketPath: String
        let callbacks = Callbacks()
        init(socketPath: String, warmed: Bool) { self.socketPath = socketPath; self.warmed = warmed }
    }

    private(set) var size: Int
    let eventLoop: EventLoop
    let executable: String
    let socketDirectory: String
    let threads: Int
    let logger: Logger
    /// The smallest served artifact: generic workers run one request on it while they wait.
    let warmArtifact: String?
    /// Every served artifact: generic workers map them ahead, so a claim skips mapping. A deploy
    /// adds its artifact for workers started after it.
    private var premap: [String]
    private let lock = NSLock()
    private var idle: [Claimed] = []
    private var starting = 0
    /// Claims whose cold start is still running: their replacements wait (see the type's doc).
    private var outstanding: Set<Int> = []
    private var nextClaim = 0
    private var next = 0
    private var stopped = false

    init(size: Int, eventLoop: EventLoop, executable: String, socketDirectory: String, threads: Int, logger: Logger,
         warmArtifact: String?, premap: [String]) {
        self.warmArtifact = warmArtifact
        self.premap = premap
        self.size = size
        self.eventLoop = eventLoop
        self.executable = executable
        self.socketDirectory = socketDirectory
        self.threads = threads
        self.logger = logger
    }

    func addPremap(_ path: String) {
        guard !path.contains(",") else { return }
        lock.withLock { if !premap.contains(path) { premap.append(path) } }
    }

    /// A ready generic worker, if one is waiting. Its replacement starts at `claimEnded(id)`
    /// (the claim's cold start answered or failed), or `refillDelay` after the claim at the latest.
    func claim() -> Claimed? {
        let c: Claimed? = lock.withLock {
            guard !idle.isEmpty else { return nil }   // refilled below: no cold start of ours to protect
            var c = idle.removeFirst()
            nextClaim += 1
            c.claimID = nextClaim
            outstanding.insert(nextClaim)
            return c
        }
        if let id = c?.claimID {
            eventLoop.scheduleTask(in: Self.refillDelay) { [self] in claimEnded(id) }
        } else {
            refill()   // an empty pool (a failed spawn, a burst) must not stay short
        }
        return c
    }

    /// The cold start that claimed worker `id` served is over; idempotent.
    func claimEnded(_ id: Int) {
        let ended = lock.withLock { outstanding.remove(id) != nil }
        if ended { refill() }
    }

    /// The longest a claim holds back its replacement: a claimed worker that never gets its cold
    /// request (initial scale, a deploy's readiness check) is still replaced.
    static let refillDelay = TimeAmount.seconds(1)

    var idleCount: Int { lock.withLock { idle.count } }

    func refill() {
        let toStart: Int = lock.withLock {
            guard !stopped else { return 0 }
            let n = max(0, size - idle.count - starting - outstanding.count)
            starting += n
            return n
        }
        for _ in 0..<toStart { spawn() }
    }

    private func spawn() {
        let n: Int = lock.withLock { next += 1; return next }
        let s = Starting(socketPath: "\(socketDirectory)/prewarm-\(n).sock", warmed: warmArtifact == nil)
        // Idle (claimable) once it both listens and has finished its warm-up request.
        @Sendable func becomeIdleIfReady() {
            guard s.stillStarting, s.warmed, let client = s.connected, let process = s.process else { return }
            s.stillStarting = false
            starting -= 1
            idle.append(Claimed(process: process, client: client, socketPath: s.socketPath,
                                enteredMain: s.enteredMain, callbacks: s.callbacks))
        }
        s.callbacks.set(report: { [self] line in
            switch WorkerReport(line: line) {
            case .main(let t)?: s.enteredMain = t; return
            case .warmed?: lock.withLock { s.warmed = true; becomeIdleIfReady() }; return
            case .ready?: break
            default: return
            }
            HTTP2Client.connect(to: .unix(path: s.socketPath), group: eventLoop).whenComplete { [self] result in
                switch result {
                case .success(let client):
                    lock.withLock {
                        s.connected = client
                        becomeIdleIfReady()
                    }
                case .failure(let e):
                    logger.error("cannot reach prewarmed worker: \(e)")
                    s.process?.forceKill()
                }
            }
        }, exit: { [self] status in
            // Died before it was claimed: forget it and start another.
            let (wasIdle, stopping): (Bool, Bool) = lock.withLock {
                let stopping = stopped
                if s.stillStarting { s.stillStarting = false; starting -= 1; return (false, stopping) }
                if let i = idle.firstIndex(where: { $0.socketPath == s.socketPath }) { idle.remove(at: i); return (true, stopping) }
                return (false, stopping)   // claimed by a function, or retired by resize: not ours to count
            }
            try? FileManager.default.removeItem(atPath: s.socketPath)
            guard !stopping else { return }
            logger.warning("prewarmed worker exited (wait status \(status), idle: \(wasIdle))")
            eventLoop.scheduleTask(in: .seconds(1)) { [self] in refill() }
        })
        let premap = lock.withLock { self.premap }
        do {
            s.process = try SpawnedWorker.spawn(executable: executable,
                arguments: ["worker", "--socket", s.socketPath, "--report-fd", "3", "--lifeline-fd", "4", "--threads", String(threads)]
                    + (warmArtifact.map { ["--warm-artifact", $0] } ?? [])
                    + (premap.isEmpty ? [] : ["--premap", premap.joined(separator: ",")]),
                onReport: { s.callbacks.report($0) }, onExit: { s.callbacks.exit($0) })
            lock.withLock { becomeIdleIfReady() }
        } catch {
            lock.withLock { s.stillStarting = false; starting -= 1 }
            logger.error("cannot start a prewarmed worker: \(error)")
        }
    }

    /// Changes the pool's size (the admin API; `petrel bench cold-start --prewarm N`).
    func resize(_ n: Int) {
        let extra: [Claimed] = lock.withLock {
            size = max(0, n)
            let surplus = max(0, idle.count - size)
            defer { idle.removeFirst(surplus) }
            return Array(idle.prefix(surplus))
        }
        for c in extra { c.process.terminate() }
        refill()
    }

    func stop() {
        let all: [Claimed] = lock.withLock { stopped = true; defer { idle = [] }; return idle }
        for c in all { c.process.terminate() }
    }
}
