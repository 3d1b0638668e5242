import Foundation
import Metrics

/// Request metrics through swift-metrics (the executable bootstraps the Prometheus backend):
/// `petrel_requests_total{function,protocol,status}`, `petrel_request_duration_seconds{function,protocol}`
/// and `petrel_requests_in_flight{function}`. Handles are made once per label set and cached: making
/// one goes through the factory's lock and allocates, which would cost more than a tiny model's
/// inference if done per request.
public final class ServingMetrics: @unchecked Sendable {
    public enum WireProtocol: String, Sendable { case rest, grpc, tfserving, http }

    private struct CounterKey: Hashable { var function: String; var proto: WireProtocol; var status: String }
    private struct TimerKey: Hashable { var function: String; var proto: WireProtocol }

    private let lock = NSLock()
    private var counters: [CounterKey: Counter] = [:]
    private var timers: [TimerKey: Metrics.Timer] = [:]
    private var inFlight: [String: (meter: Meter, count: Int)] = [:]

    public init() {}

    /// Names outside the served set are counted as `_unknown`, so probing for names cannot
    /// grow the label set without bound.
    public static let unknownFunction = "_unknown"

    public func started(function: String) {
        lock.lock(); defer { lock.unlock() }
        var entry = inFlight[function] ?? (Meter(label: "petrel_requests_in_flight", dimensions: [("function", function)]), 0)
        entry.count += 1
        entry.meter.set(entry.count)
        inFlight[function] = entry
    }

    public func finished(function: String, proto: WireProtocol, status: String, nanos: UInt64, wasInFlight: Bool) {
        lock.lock(); defer { lock.unlock() }
        if wasInFlight, var entry = inFlight[function] {
            entry.count -= 1
            entry.meter.set(entry.count)
            inFlight[function] = entry
        }
        let ck = CounterKey(function: function, proto: proto, status: status)
        let counter = counters[ck] ?? {
            let c = Counter(label: "petrel_requests_total", dimensions: [("function", function), ("protocol", proto.rawValue), ("status", status)])
            counters[ck] = c
            return c
        }()
        counter.increment()
        let tk = TimerKey(function: function, proto: proto)
        let timer = timers[tk] ?? {
            let t = Metrics.Timer(label: "petrel_request_duration_seconds", dimensions: [("function", function), ("protocol", proto.rawValue)])
            timers[tk] = t
            return t
        }()
        timer.recordNanoseconds(Int64(nanos))
    }
}
