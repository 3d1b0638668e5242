/// What one `Autoscaler.decide` call concluded: knative's `ScaleResult` plus what it observed.
public struct ScaleDecision: Equatable, Sendable {
    /// Workers the function should have. The runner applies it only when `valid`.
    public var desired: Int
    /// False when no observation fell within the stable window (just started, or the runner
    /// stopped recording): there is nothing to decide on, keep the current workers.
    public var valid: Bool
    /// In panic mode the pool only grows; see `Autoscaler.decide`.
    public var panicking: Bool
    /// Average concurrency over the stable window (60 s by default).
    public var stableConcurrency: Double
    /// Average concurrency over the panic window (6 s by default).
    public var panicConcurrency: Double
    /// Spare request slots beyond `targetBurstCapacity`: ready × totalTarget − burst capacity −
    /// panic concurrency, floored. Negative: a burst of that size would queue, so the activator
    /// should stay in the request path. 0 when targetBurstCapacity is 0; -1 when it is -1.
    /// E.g. 3 ready × 10 − 200 − 12 => -182.
    public var excessBurstCapacity: Int

    public init(desired: Int, valid: Bool = true, panicking: Bool = false, stableConcurrency: Double,
                panicConcurrency: Double, excessBurstCapacity: Int) {
        self.desired = desired
        self.valid = valid
        self.panicking = panicking
        self.stableConcurrency = stableConcurrency
        self.panicConcurrency = panicConcurrency
        self.excessBurstCapacity = excessBurstCapacity
    }

    /// Not enough data: `desired` echoes the ready workers so a careless runner changes nothing.
    static func invalid(readyWorkers: Int) -> ScaleDecision {
        ScaleDecision(desired: readyWorkers, valid: false, stableConcurrency: 0, panicConcurrency: 0,
                      excessBurstCapacity: 0)
    }
}
