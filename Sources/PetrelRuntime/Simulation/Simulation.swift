/// `petrel simulate`'s engine: each function of a trace through its own simulated pool. Pools
/// share nothing in the gateway (one event loop, queue and autoscaler each), so they are
/// simulated one after the other.
public enum Simulation {
    public struct Result: Sendable {
        public var function: String
        public var report: SimulationReport
    }

    /// - Parameter progress: (requests replayed, total over all functions), now and then.
    public static func run(_ trace: SimulationTrace, settings: SimulationSettings,
                           progress: ((Int, Int) -> Void)? = nil) -> [Result] {
        let total = trace.requestCount
        var done = 0
        return trace.functions.map { f in
            var s = settings
            // Each function its own draws, and the same ones whatever else the trace holds.
            s.seed = settings.seed &+ stableHash(f.name)
            let offset = done
            let report = SimulatedPool.run(arrivals: f.arrivals, settings: s,
                                           progress: progress.map { p in { n, _ in p(offset + n, total) } })
            done += f.arrivals.count
            return Result(function: f.name, report: report)
        }
    }

    /// FNV-1a: `hashValue` is seeded per process, which would make runs irreproducible.
    static func stableHash(_ s: String) -> UInt64 {
        s.utf8.reduce(0xCBF2_9CE4_8422_2325) { ($0 ^ UInt64($1)) &* 0x100_0000_01B3 }
    }
}
