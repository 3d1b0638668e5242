import Foundation
import Metrics

/// Request metrics through swift-metrics (the executable bootstraps the Prometheus backend):
/// `petrel_requests_total{function,protocol,status}`, `petrel_request_duration_seconds{function,protocol}`
/// and `petrel_requests_in_flight{function}`. Handles are made once per label set and kept per
/// function: making one goes through the factory's lock and allocates, which would cost more than
/// a tiny model's inference if done per request. The in-flight gauge moves atomically.
public final class ServingMetrics: @unchecked Sendable {
    public enum WireProtocol: String, Sendable, CaseIterable {
        case rest, grpc, tfserving, http

        /// Position in `allCases`, without building that array per call.
        var index: Int {
            switch self { case .rest: 0; case .grpc: 1; case .tfserving: 2; case .http: 3 }
        }

        /// The status label of a successful answer (`GRPCStatus.ok.name` for gRPC).
        var successStatus: String { self == .grpc ? "ok" : "200" }
    }

    /// Names outside the served set are counted as `_unknown`, so probing for names cannot
    /// grow the label set without bound.
    public static let unknownFunction = "_unknown"

    private let lock = NSLock()
    private var functions: [String: FunctionMetrics] = [:]

    public init() {}

    /// The handles of one function; callers on hot paths keep the result.
    public func function(_ name: String) -> FunctionMetrics {
        lock.lock(); defer { lock.unlock() }
        if let f = functions[name] { return f }
        let f = FunctionMetrics(name)
        functions[name] = f
        return f
    }

    public func finished(function: String, proto: WireProtocol, status: String, nanos: UInt64, wasInFlight: Bool) {
        self.function(function).finished(proto: proto, status: status, nanos: nanos, wasInFlight: wasInFlight)
    }
}

public final class FunctionMetrics: @unchecked Sendable {
    private struct Key: Hashable { var proto: WireProtocol; var status: String }
    public typealias WireProtocol = ServingMetrics.WireProtocol

    let name: String
    private let inFlight: Meter
    private let timers: [Metrics.Timer]
    private let lock = NSLock()
    private var counters: [Key: Counter] = [:]
    /// Each protocol's success counter, also in `counters`: the common answer skips hashing its key.
    private var okCounters: [Counter?] = Array(repeating: nil, count: WireProtocol.allCases.count)

    init(_ name: String) {
        self.name = name
        inFlight = Meter(label: "petrel_requests_in_flight", dimensions: [("function", name)])
        timers = WireProtocol.allCases.map {
            Metrics.Timer(label: "petrel_request_duration_seconds", dimensions: [("function", name), ("protocol", $0.rawValue)])
        }
    }

    public func started() { inFlight.increment() }

    private var batchCounters: (executions: Counter, rows: Counter)?

    /// A batch of several requests ran as one execution (Triton reports the same pair as
    /// execution and inference counts); made on first use, so unbatched functions add no series.
    public func batched(rows: Int) {
        let c: (executions: Counter, rows: Counter) = lock.withLock {
            if let c = batchCounters { return c }
            let c = (Counter(label: "petrel_batch_executions_total", dimensions: [("function", name)]),
                     Counter(label: "petrel_batched_rows_total", dimensions: [("function", name)]))
            batchCounters = c
            return c
        }
        c.executions.increment()
        c.rows.increment(by: rows)
    }

    public func finished(proto: WireProtocol, status: String, nanos: UInt64, wasInFlight: Bool) {
        if wasInFlight { inFlight.decrement() }
        counter(proto, status).increment()
        timers[proto.index].recordNanoseconds(Int64(nanos))
    }

    private func counter(_ proto: WireProtocol, _ status: String) -> Counter {
        let ok = status == proto.successStatus
        lock.lock(); defer { lock.unlock() }
        if ok, let c = okCounters[proto.index] { return c }
        let key = Key(proto: proto, status: status)
        if let c = counters[key] { return c }
        let c = Counter(label: "petrel_requests_total", dimensions: [("function", name), ("protocol", proto.rawValue), ("status", status)])
        counters[key] = c
        if ok { okCounters[proto.index] = c }
        return c
    }
}
