/// How one function scales: every setting of Knative's KPA that applies per revision, with
/// Knative's defaults (`config-autoscaler` and the `autoscaling.knative.dev/*` annotations).
///
/// Read from function.yaml:
/// ```yaml
/// limits:
///   containerConcurrency: 10     # hard limit per worker, 0 = unlimited
/// scaling:
///   targetUtilization: 0.7       # aim for 70 % of the per-worker target
///   maxScale: 5
///   scaleDownDelay: 30s
/// ```
/// Build one with `try ScalingConfig(containerConcurrency:scaling:)`; `ScalingConfig()` is the
/// defaults. Values set in code are checked by `validate()`.
public struct ScalingConfig: Equatable, Sendable {
    /// Requests one worker may hold at once; 0 = unlimited. Lives under `limits:`.
    public var containerConcurrency = 0
    /// The fraction of the per-worker target to aim for, leaving headroom for bursts.
    public var targetUtilization = 0.7
    /// Soft per-worker concurrency target (`autoscaling.knative.dev/target`); nil = derived from
    /// containerConcurrency. Like Knative, utilization still applies to it: see `targetConcurrency`.
    public var target: Double?
    /// Spare request slots to keep ready (for `ScaleDecision.excessBurstCapacity`); -1 = unlimited.
    public var targetBurstCapacity: Double = 200
    /// The window the scaling average is taken over.
    public var stableWindow: Duration = .seconds(60)
    /// The panic window as a percentage of the stable window: 10 % of 60 s = 6 s.
    public var panicWindowPercentage: Double = 10
    /// Panic when the panic-window demand reaches this percentage of the ready workers.
    public var panicThresholdPercentage: Double = 200
    /// One decision may grow the pool to at most this many times the ready workers.
    public var maxScaleUpRate: Double = 1000
    /// One decision may shrink the pool to no fewer than ready / this.
    public var maxScaleDownRate: Double = 2
    /// How long the last worker stays after the stable window saw no traffic.
    public var scaleToZeroGracePeriod: Duration = .seconds(30)
    /// Scale down only to the largest desired count of this trailing window (0 = at once).
    public var scaleDownDelay: Duration = .zero
    public var minScale = 0
    /// 0 = unlimited.
    public var maxScale = 0
    /// Workers started when the function is deployed. Knative rejects 0 unless the cluster sets
    /// `allow-zero-initial-scale: true`; Petrel behaves as if it did: a function may deploy with
    /// no workers, since the activator starts one on the first request.
    public var initialScale = 1
    /// Workers to start when scaling up from zero.
    public var activationScale = 1
    /// How often the runner calls `Autoscaler.decide` (Knative's fixed tick is 2 s).
    public var tickInterval: Duration = .seconds(2)

    public init() {}

    /// The per-worker concurrency the target is a fraction of: containerConcurrency, or
    /// Knative's `container-concurrency-target-default` of 100 when unlimited. An explicit target
    /// replaces it but never exceeds the hard limit.
    public var totalTarget: Double {
        let cc = Double(containerConcurrency)
        guard let target else { return cc > 0 ? cc : 100 }
        return cc > 0 ? min(target, cc) : target
    }

    /// Average concurrent requests per worker the autoscaler aims for.
    /// E.g. containerConcurrency 10, utilization 0.7 => 7; unlimited => 100 × 0.7 = 70;
    /// target 20 with containerConcurrency 10 => min(20, 10) × 0.7 = 7.
    public var targetConcurrency: Double { max(0.01, totalTarget * targetUtilization) }

    /// E.g. 60 s × 10 % = 6 s; never shorter than the 1 s sampling bucket.
    public var panicWindow: Duration {
        let ns = Double(stableWindow.nanoseconds) * panicWindowPercentage / 100
        return .nanoseconds(max(1_000_000_000, Int64(ns.rounded())))
    }

    /// As a ratio: 200 % => 2.0.
    public var panicThreshold: Double { panicThresholdPercentage / 100 }

    /// Workers to start at deploy: initialScale raised to minScale, capped by maxScale.
    public var initialWorkers: Int { clampToBounds(max(initialScale, minScale)) }

    /// Knative's `applyBounds`: minScale first, then maxScale (0 = unlimited).
    public func clampToBounds(_ n: Int) -> Int {
        let low = max(n, minScale)
        return maxScale > 0 ? min(low, maxScale) : low
    }
}
