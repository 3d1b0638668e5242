/// Knative's KPA decider for one function, with the ticker, the metric scraping and the pool
/// left to a runner: it holds only windowed metrics and panic state, and never reads a clock.
///
/// The runner, per function:
/// - every second, `record(concurrency:at:)` the average number of requests in flight over that
///   second, summed over the workers plus the requests the activator holds. Record zeros too:
///   a second without a record counts as 0, and a stable window without one makes decisions
///   invalid.
/// - every `config.tickInterval` (2 s), `decide(now:readyWorkers:)` and, when `valid`, start or
///   drain workers towards `desired`.
/// - when a request arrives and the function has no worker, `onRequestAtZero(now:)` and start
///   that many at once instead of waiting for the next tick.
///
/// Traffic is derived from the observations: any request shows up as a non-zero average for
/// the second it was in flight. A request announced through `onRequestAtZero` counts as
/// traffic at once, before any observation has seen it.
public struct Autoscaler: Sendable {
    public let config: ScalingConfig
    var window: ConcurrencyWindow
    /// The last time the panic condition held; nil when not panicking.
    var panicTime: MonotonicTime?
    /// While panicking, the most workers asked for: panic never scales down.
    var maxPanicWorkers = 0
    var delayWindow: MaxWindow?
    /// Start of the 1 s bucket of the last traffic seen: a non-zero observation or a request at
    /// zero. Scale to zero counts from here.
    var lastTraffic: MonotonicTime?
    /// Start of the bucket of the first observation: the idle clock's start when the function
    /// has had no traffic at all since this autoscaler was made.
    var watchingSince: MonotonicTime?

    /// - Parameter readyWorkers: workers already serving. An autoscaler made while more than one
    ///   is ready (the gateway restarted, metric history lost) starts in panic mode at that
    ///   count, as knative does, so an empty history never reads as "scale down".
    public init(config: ScalingConfig, now: MonotonicTime, readyWorkers: Int = 0) {
        self.config = config
        window = ConcurrencyWindow(window: config.stableWindow)
        if config.scaleDownDelay > .zero { delayWindow = MaxWindow(span: config.scaleDownDelay) }
        if readyWorkers > 1 {
            panicTime = now
            maxPanicWorkers = readyWorkers
        }
    }

    /// One observation: the average concurrent requests over the second ending at `at`.
    public mutating func record(concurrency: Double, at now: MonotonicTime) {
        window.record(max(0, concurrency), at: now)
        let bucket = MonotonicTime(seconds: ConcurrencyWindow.index(now))
        if watchingSince == nil { watchingSince = bucket }
        if concurrency > 0 { lastTraffic = max(lastTraffic ?? bucket, bucket) }
    }

    /// A request arrived while no worker is ready: how many workers to start right now, so the
    /// request waits for one cold start and not also for the next tick.
    /// E.g. activationScale 3, minScale 0, maxScale 2 => 2.
    public mutating func onRequestAtZero(now: MonotonicTime) -> Int {
        let bucket = MonotonicTime(seconds: ConcurrencyWindow.index(now))
        lastTraffic = max(lastTraffic ?? bucket, bucket)
        return config.clampToBounds(max(config.activationScale, 1))
    }

    /// Whether the stable window still covers the last traffic at `now`.
    func stableWindowSawTraffic(now: MonotonicTime) -> Bool {
        guard let lastTraffic else { return false }
        return now < lastTraffic + config.stableWindow
    }
}
