import Metrics

/// One cold start's timestamps, all CLOCK_MONOTONIC nanoseconds (comparable across processes):
/// the gateway's own (arrived, spawn requested, response sent) and the worker's (entered main,
/// socket ready, artifact mapped, first inference finished).
public struct ColdStart: Sendable {
    public var arrived: UInt64
    public var spawnRequested: UInt64
    public var prewarmed = false
    public var enteredMain: UInt64?
    public var ready: UInt64?
    public var mapped: UInt64?
    public var firstInference: UInt64?
    public var responseSent: UInt64?

    /// Each phase's duration in order, from the request's arrival to the response leaving.
    public var phases: [(name: String, nanos: UInt64)] {
        var out: [(String, UInt64)] = []
        var last = arrived
        for (name, t) in [("spawn", spawnRequested), ("main", enteredMain), ("ready", ready), ("mapped", mapped),
                          ("inference", firstInference), ("response", responseSent)] {
            guard let t else { continue }
            out.append((name, t >= last ? t - last : 0))
            last = max(last, t)
        }
        return out
    }

    public var total: UInt64? { responseSent.map { $0 >= arrived ? $0 - arrived : 0 } }

    /// `Server-Timing` (REST) / `petrel-cold-start` (gRPC trailer): phases in milliseconds.
    public var serverTiming: String {
        var parts = ["cold;desc=\"\(prewarmed ? "prewarmed worker" : "spawned worker")\""]
        for (name, nanos) in phases where name != "response" {
            parts.append("\(name);dur=\(String(format: "%.3f", Double(nanos) / 1e6))")
        }
        return parts.joined(separator: ", ")
    }
}

/// `petrel_cold_start_seconds{function,phase}` and `petrel_cold_starts_total{function}`.
final class ColdStartMetrics: @unchecked Sendable {
    private let timers: [String: Metrics.Timer]
    private let total: Metrics.Timer
    private let count: Counter

    init(function: String) {
        var t: [String: Metrics.Timer] = [:]
        for phase in ["spawn", "main", "ready", "mapped", "inference", "response"] {
            t[phase] = Metrics.Timer(label: "petrel_cold_start_seconds", dimensions: [("function", function), ("phase", phase)])
        }
        timers = t
        total = Metrics.Timer(label: "petrel_cold_start_seconds", dimensions: [("function", function), ("phase", "total")])
        count = Counter(label: "petrel_cold_starts_total", dimensions: [("function", function)])
    }

    func record(_ c: ColdStart) {
        count.increment()
        for (name, nanos) in c.phases { timers[name]?.recordNanoseconds(Int64(nanos)) }
        if let t = c.total { total.recordNanoseconds(Int64(t)) }
    }
}
