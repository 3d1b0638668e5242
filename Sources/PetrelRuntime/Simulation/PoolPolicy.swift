/// FunctionPool's routing and scaling rules as pure functions of counts.
///
/// FunctionPool (Gateway/FunctionPool.swift) calls these for its decisions and the simulator
/// calls the same ones, so `petrel simulate` always describes the pool that runs; each function
/// names the pool method that uses it.
public enum PoolPolicy {
    /// `submit`: a request is turned away (503, Retry-After) only when the activator queue is
    /// full and no ready worker has room. E.g. limit 1000, 1000 waiting, all workers full => no.
    /// (The room is only looked for when the queue is full.)
    public static func admits(queued: Int, queueLimit: Int, someWorkerHasRoom: @autoclosure () -> Bool) -> Bool {
        queued < queueLimit || someWorkerHasRoom()
    }

    /// `readyWorkerWithCapacity`: whether a ready worker holding `inFlight` requests takes one
    /// more. containerConcurrency 0 means unlimited.
    @inline(__always)
    public static func hasRoom(inFlight: Int, containerConcurrency: Int) -> Bool {
        containerConcurrency == 0 || inFlight < containerConcurrency
    }

    /// `scaleForQueue`, away from zero: one more worker per whole worker's worth of waiting
    /// requests. E.g. containerConcurrency 10, 25 queued => 2; 9 queued => 0 (the autoscaler
    /// handles it at its tick). Unlimited concurrency never queues behind a ready worker: 0.
    public static func wholeWorkersWaiting(queued: Int, containerConcurrency: Int) -> Int {
        containerConcurrency > 0 ? queued / containerConcurrency : 0
    }

    /// `scaleForQueue`, the end: `want` capped by maxScale (0 = unlimited), less what is ready
    /// or starting.
    public static func workersToStart(want: Int, ready: Int, starting: Int, maxScale: Int) -> Int {
        let capped = maxScale > 0 ? min(want, maxScale) : want
        return max(0, capped - ready - starting)
    }

    /// What one `tick` does with a valid decision.
    public enum TickAction: Equatable, Sendable {
        case none
        case start(Int)
        /// Drain this many ready workers, the least busy first.
        case drain(Int)
    }

    /// `tick`: grow to `desired` counting starting workers; shrink only the ready ones, and only
    /// while nothing waits in the queue (a waiting request would be stranded by the drain).
    /// E.g. desired 5, 2 ready, 1 starting => start 2; desired 1, 3 ready, queue empty => drain 2.
    public static func tickAction(desired: Int, ready: Int, starting: Int, queueEmpty: Bool) -> TickAction {
        if desired > ready + starting { return .start(desired - ready - starting) }
        if desired < ready && queueEmpty { return .drain(ready - desired) }
        return .none
    }
}
