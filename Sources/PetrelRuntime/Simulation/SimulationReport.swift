/// What one function's traffic cost and how it felt, from a simulated run.
public struct SimulationReport: Equatable, Sendable {
    /// Requests in the trace.
    public var requests: Int
    /// Answered by a worker.
    public var served: Int
    /// Turned away because the activator queue was full (503).
    public var rejected: Int
    /// Still queued when `limits.timeout` passed (504).
    public var timedOut: Int
    /// Requests that arrived before the worker that served them was ready: each waited on a
    /// cold start (all of them in a burst at zero, not only the first).
    public var coldStarts: Int
    /// Workers started: at deploy, for the queue and by the autoscaler.
    public var workerStarts: Int
    /// Queueing delay of served requests (arrival to forwarding), seconds. Percentiles carry
    /// HdrHistogram's 3 significant digits; `maxDelay` is exact.
    public var delayP50: Double, delayP90: Double, delayP99: Double, maxDelay: Double
    /// The integral of workers alive (starting, ready or draining) over the run: what the
    /// traffic costs in worker time.
    public var workerSeconds: Double
    public var peakWorkers: Int
    /// Seconds with no worker alive.
    public var secondsAtZero: Double
    /// Seconds in panic mode: ticks that found the autoscaler panicking × tickInterval.
    public var panicSeconds: Double
    /// From deploy until the pool was back at its floor with nothing in flight.
    public var duration: Double

    /// coldStarts / requests; 0 for no requests.
    public var coldStartRate: Double { requests == 0 ? 0 : Double(coldStarts) / Double(requests) }

    /// Keys and values for `--json`: numbers and strings only, seconds as seconds.
    public var fields: [(String, Any)] {
        [("requests", requests), ("served", served), ("rejected", rejected), ("timed_out", timedOut),
         ("cold_starts", coldStarts), ("cold_start_rate", coldStartRate), ("worker_starts", workerStarts),
         ("queue_delay_p50_s", delayP50), ("queue_delay_p90_s", delayP90), ("queue_delay_p99_s", delayP99),
         ("queue_delay_max_s", maxDelay), ("worker_seconds", workerSeconds), ("peak_workers", peakWorkers),
         ("seconds_at_zero", secondsAtZero), ("panic_seconds", panicSeconds), ("duration_s", duration)]
    }
}

extension SimulatedPool {
    func report(requests: Int) -> SimulationReport {
        func percentile(_ p: Double) -> Double {
            delays.totalCount == 0 ? 0 : Double(delays.valueAtPercentile(p)) / 1e6
        }
        return SimulationReport(
            requests: requests, served: served, rejected: rejected, timedOut: timedOut, coldStarts: coldStarts,
            workerStarts: workerStarts, delayP50: percentile(50), delayP90: percentile(90),
            delayP99: percentile(99), maxDelay: Double(maxDelay) / 1e9,
            workerSeconds: Double(workerNanoseconds) / 1e9, peakWorkers: peakWorkers,
            secondsAtZero: Double(zeroNanoseconds) / 1e9,
            panicSeconds: Double(panicTicks) * Double(settings.scaling.tickInterval.nanoseconds) / 1e9,
            duration: Double(now) / 1e9)
    }
}
