import Histogram

/// One function's FunctionPool on a virtual clock: the same activator queue, routing and
/// scaling rules (`PoolPolicy`), driving the real `Autoscaler`, with worker starts and requests
/// that take sampled times instead of spawning processes.
///
/// What is modelled as FunctionPool does it (method names are FunctionPool's):
/// - `submit`: reject when the queue is at `queueLimit` and no ready worker has room; else queue.
/// - `pump`: forward queued requests, oldest first, each to the ready worker with the fewest in
///   flight that has room (the first such in start order on ties); if any still wait,
///   `scaleForQueue` (at zero `onRequestAtZero`, else enough for the queue), up to maxScale.
/// - `expire`: a request still queued `requestTimeout` after it arrived is dropped (504).
/// - `sample` every second from deploy: the time-weighted in-flight + queued of that second.
/// - `tick` every tickInterval from deploy: act on a valid decision (`PoolPolicy.tickAction`).
/// - `startInitialWorkers` at deploy (t = 0).
/// What is not: worker crashes, retries, prewarmed workers, request deadlines shorter than the
/// pool's timeout, CPU contention between requests on one worker, and the few microseconds the
/// gateway itself adds. A draining worker exits the moment its last request finishes.
///
/// Both integrate concurrency before every change of the count (FunctionPool once had it the
/// other way round and scaled a sparse warm function to zero; see `sparseTrafficKeepsAWarmWorker`).
public struct SimulatedPool {
    struct Worker {
        enum State: UInt8 { case starting, ready, draining }
        /// Increasing in start order, so `workers` stays sorted by id and is binary-searched.
        var id: Int32
        var state: State
        var inFlight: Int
        /// When it became ready; Int64.max while starting.
        var readyAt: Int64
    }

    let settings: SimulationSettings
    var autoscaler: Autoscaler
    var rng: SimulationRandom

    /// In start order, like FunctionPool's `workers`.
    var workers: [Worker] = []
    var readyCount = 0, startingCount = 0
    var nextWorkerID: Int32 = 0
    /// Arrival times of queued requests; the queue is `queue[queueHead...]`.
    var queue: [Int64] = []
    var queueHead = 0
    var queued: Int { queue.count - queueHead }
    var events = SimulationEventQueue()

    // The clock and what is integrated over it.
    /// Virtual nanoseconds since deploy; only moves forward, through `advance(to:)`.
    var now: Int64 = 0
    /// In flight on all workers plus queued: what FunctionPool's `currentConcurrency` counts.
    var concurrency = 0
    var concurrencyIntegral: Double = 0
    var sampleStart: Int64 = 0
    var workerNanoseconds: Int64 = 0
    var zeroNanoseconds: Int64 = 0

    // Outcomes.
    var served = 0, rejected = 0, timedOut = 0, coldStarts = 0
    var workerStarts = 0, peakWorkers = 0, panicTicks = 0
    /// Queueing delay of served requests, microseconds (3 significant digits, fixed memory).
    var delays = Histogram<UInt64>(numberOfSignificantValueDigits: .three)
    var maxDelay: Int64 = 0

    public init(settings: SimulationSettings) {
        self.settings = settings
        autoscaler = Autoscaler(config: settings.scaling, now: MonotonicTime(nanoseconds: 0))
        rng = SimulationRandom(seed: settings.seed)
    }

    var containerConcurrency: Int { settings.scaling.containerConcurrency }

    /// Moves the clock to `t`, integrating concurrency and running workers over the step.
    @inline(__always)
    mutating func advance(to t: Int64) {
        let dt = t - now
        guard dt > 0 else { return }
        concurrencyIntegral += Double(concurrency) * Double(dt)
        workerNanoseconds += Int64(workers.count) * dt
        if workers.isEmpty { zeroNanoseconds += dt }
        now = t
    }

    // MARK: requests

    /// `submit`.
    mutating func arrive(_ t: Int64) {
        expire(upTo: t)
        advance(to: t)
        guard PoolPolicy.admits(queued: queued, queueLimit: settings.queueLimit,
                                someWorkerHasRoom: workerWithRoom() != nil) else {
            rejected += 1
            return
        }
        concurrency += 1
        queue.append(t)
        pump()
    }

    /// `pump`.
    mutating func pump() {
        while queued > 0, let w = workerWithRoom() {
            let arrived = queue[queueHead]
            queueHead += 1
            forward(arrived, to: w)
        }
        if queueHead > 4096 && queueHead * 2 > queue.count {
            queue.removeFirst(queueHead)
            queueHead = 0
        }
        if queued > 0 { scaleForQueue() }
    }

    /// `readyWorkerWithCapacity`: the ready worker with the fewest in flight that has room.
    func workerWithRoom() -> Int? {
        var best: Int?
        var bestInFlight = Int.max
        for i in workers.indices where workers[i].state == .ready && workers[i].inFlight < bestInFlight
            && PoolPolicy.hasRoom(inFlight: workers[i].inFlight, containerConcurrency: containerConcurrency) {
            best = i
            bestInFlight = workers[i].inFlight
            if bestInFlight == 0 { break }
        }
        return best
    }

    /// `forward`. A request that arrived before its worker was ready waited on a cold start
    /// (FunctionPool's `p.arrived <= w.cold.ready`, but counted for every such request, not
    /// only a worker's first: the rate is what users see).
    mutating func forward(_ arrived: Int64, to w: Int) {
        workers[w].inFlight += 1
        if arrived < workers[w].readyAt { coldStarts += 1 }
        let delay = now - arrived
        delays.record(UInt64((delay + 500) / 1000))
        maxDelay = max(maxDelay, delay)
        events.push(.requestDone, at: now + settings.service.sample(&rng), worker: workers[w].id)
    }

    /// A request's response: `forward`'s completion handler.
    mutating func finish(worker id: Int32) {
        let w = index(of: id)
        workers[w].inFlight -= 1
        concurrency -= 1
        served += 1
        if workers[w].state == .draining && workers[w].inFlight == 0 { exit(w) }
        pump()
    }

    /// `expire`, for every queued request whose deadline passed by `t`. All share one timeout,
    /// so they expire in queue order: the oldest is always at the head.
    mutating func expire(upTo t: Int64) {
        let timeout = settings.requestTimeout.nanoseconds
        while queued > 0, queue[queueHead] + timeout <= t {
            advance(to: queue[queueHead] + timeout)
            queueHead += 1
            concurrency -= 1
            timedOut += 1
        }
    }

    func index(of id: Int32) -> Int {
        var lo = 0, hi = workers.count - 1
        while lo < hi {
            let mid = (lo + hi) / 2
            if workers[mid].id < id { lo = mid + 1 } else { hi = mid }
        }
        precondition(workers[lo].id == id, "simulated worker \(id) is gone")
        return lo
    }
}
