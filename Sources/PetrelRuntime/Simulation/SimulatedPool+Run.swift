extension SimulatedPool {
    /// Replays `arrivals` (nanoseconds since deploy, ascending) and runs on until the pool is
    /// back at its floor (minScale, usually zero) with nothing in flight, so the report counts
    /// the whole cost of the traffic: the last workers live a stable window plus the grace
    /// period after it (90 s by default).
    ///
    /// - Parameter progress: called with (arrivals replayed, total) every 2^20 arrivals.
    public static func run(arrivals: [Int64], settings: SimulationSettings,
                           progress: ((Int, Int) -> Void)? = nil) -> SimulationReport {
        var pool = SimulatedPool(settings: settings)
        pool.deploy()
        let c = settings.scaling
        // Every worker left after the traffic is gone within a stable window, the grace period
        // and the scale-down delay; halving per tick adds log2(workers) ticks. An hour of slack
        // bounds the run even for settings that never converge.
        let lastArrival = arrivals.last ?? 0
        let deadline = lastArrival + settings.requestTimeout.nanoseconds
            + (c.stableWindow + c.scaleToZeroGracePeriod + c.scaleDownDelay).nanoseconds + 3_600_000_000_000
        let floor = c.clampToBounds(0)
        var next = 0
        var settled = false
        while !settled, let e = pool.events.first {
            if next < arrivals.count && (arrivals[next] < e.time
                || arrivals[next] == e.time && SimulationEvent.Kind.arrivalRank < e.order >> 56) {
                pool.arrive(arrivals[next])
                next += 1
                if next & 0xFFFFF == 0 { progress?(next, arrivals.count) }
                continue
            }
            _ = pool.events.pop()
            pool.expire(upTo: e.time)
            pool.advance(to: e.time)
            switch e.kind {
            case .workerReady: pool.becameReady(worker: e.worker)
            case .requestDone: pool.finish(worker: e.worker)
            case .sample:
                pool.sample()
                pool.events.push(.sample, at: e.time + 1_000_000_000)
            case .tick:
                pool.tick()
                settled = next == arrivals.count && pool.concurrency == 0 && pool.startingCount == 0
                    && pool.workers.count <= floor || e.time >= deadline
                pool.events.push(.tick, at: e.time + c.tickInterval.nanoseconds)
            }
        }
        progress?(arrivals.count, arrivals.count)
        return pool.report(requests: arrivals.count)
    }

    /// FunctionPool's `startInitialWorkers` plus the gateway's timers: samples every second and
    /// ticks every tickInterval, the first one interval after deploy.
    mutating func deploy() {
        for _ in 0..<settings.scaling.initialWorkers { startWorker() }
        events.push(.sample, at: 1_000_000_000)
        events.push(.tick, at: settings.scaling.tickInterval.nanoseconds)
    }
}
