import Foundation
import Histogram
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

/// `petrel_cold_start_seconds{function,phase}` and `petrel_cold_starts_total{function}` for
/// Prometheus, and an HdrHistogram per phase (microseconds, 3 significant digits, fixed memory)
/// for exact percentiles in `petrel bench cold-start` and the admin API.
final class ColdStartMetrics: @unchecked Sendable {
    private let timers: [String: Metrics.Timer]
    private let total: Metrics.Timer
    private let count: Counter
    private let lock = NSLock()
    private var histograms: [String: Histogram<UInt64>] = [:]

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
        lock.withLock {
            for (name, nanos) in c.phases + (c.total.map { [("total", $0)] } ?? []) {
                var h = histograms[name] ?? Histogram<UInt64>(highestTrackableValue: 3_600_000_000, numberOfSignificantValueDigits: .three)
                _ = h.record(max(1, nanos / 1000))
                histograms[name] = h
            }
        }
    }

    /// Per phase: count and p50/p90/p99/max in milliseconds.
    func summary() -> [String: [String: Double]] {
        lock.withLock {
            var out: [String: [String: Double]] = [:]
            for (name, h) in histograms {
                out[name] = ["count": Double(h.totalCount), "p50_ms": Double(h.valueAtPercentile(50)) / 1000,
                             "p90_ms": Double(h.valueAtPercentile(90)) / 1000, "p99_ms": Double(h.valueAtPercentile(99)) / 1000,
                             "max_ms": Double(h.max) / 1000]
            }
            return out
        }
    }
}
