@testable import PetrelRuntime

/// A runner stepped by hand, knative-style: one observation a second, a decision on every
/// 2 s tick, and (by default) workers that start and stop the instant a decision says so.
struct Scenario {
    var autoscaler: Autoscaler
    var now = MonotonicTime(seconds: 0)
    var ready: Int
    var follow = true

    /// containerConcurrency 10 => target 7 per worker. targetBurstCapacity defaults to 0 here
    /// (excessBurstCapacity 0) unless a test sets it.
    init(_ scaling: [String: Any] = [:], ready: Int = 0, restartedWith: Int = 0) throws {
        var scaling = scaling
        if scaling["targetBurstCapacity"] == nil { scaling["targetBurstCapacity"] = 0 }
        let config = try ScalingConfig(containerConcurrency: 10, scaling: scaling)
        autoscaler = Autoscaler(config: config, now: now, readyWorkers: restartedWith)
        self.ready = restartedWith > 0 ? restartedWith : ready
    }

    /// `seconds` observations of `concurrency`, one a second; the decision of every tick, keyed
    /// by the second it fell on.
    @discardableResult
    mutating func run(_ concurrency: Double, seconds: Int) -> [Int64: ScaleDecision] {
        var decisions: [Int64: ScaleDecision] = [:]
        let tick = autoscaler.config.tickInterval.nanoseconds
        for _ in 0..<seconds {
            now += .seconds(1)
            autoscaler.record(concurrency: concurrency, at: now)
            if now.nanoseconds % tick == 0 { decisions[now.nanoseconds / 1_000_000_000] = decide() }
        }
        return decisions
    }

    mutating func decide() -> ScaleDecision {
        let d = autoscaler.decide(now: now, readyWorkers: ready)
        if d.valid && follow { ready = d.desired }
        return d
    }

    /// What a decision at `t` would be, leaving the scenario untouched.
    func probe(at t: MonotonicTime, ready: Int? = nil) -> ScaleDecision {
        var copy = autoscaler
        return copy.decide(now: t, readyWorkers: ready ?? self.ready)
    }
}

func decision(_ desired: Int, panicking: Bool = false, stable: Double, panic: Double, ebc: Int = 0) -> ScaleDecision {
    ScaleDecision(desired: desired, panicking: panicking, stableConcurrency: stable, panicConcurrency: panic,
                  excessBurstCapacity: ebc)
}

func seconds(_ s: Int64) -> MonotonicTime { MonotonicTime(seconds: s) }
