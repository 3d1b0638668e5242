/// One function's pool as `petrel simulate` models it: what function.yaml says (scaling,
/// `limits.containerConcurrency` inside `scaling`, `limits.queue`, `limits.timeout`) plus the
/// two costs a simulation cannot measure and takes as inputs.
public struct SimulationSettings: Equatable, Sendable {
    public var scaling = ScalingConfig()
    /// `limits.queue`: requests the activator holds; more are rejected.
    public var queueLimit = 1000
    /// `limits.timeout`: a request still queued this long after it arrived is answered 504.
    public var requestTimeout: Duration = .seconds(300)
    /// From asking for a worker to its first request (spawn, model load, socket up).
    public var coldStart = SimulationDistribution.fixed(ms: 10)
    /// One request on a ready worker. Requests on one worker do not slow each other down: the
    /// model of a worker with spare cores (or containerConcurrency 1).
    public var service = SimulationDistribution.fixed(ms: 5)
    /// Seeds the draws of cold-start and service times (patterns take their own seed).
    public var seed: UInt64 = 1

    public init() {}

    public init(function: FunctionConfig) {
        scaling = function.scaling
        queueLimit = function.limits.queue
        requestTimeout = .nanoseconds(Int64((function.limits.timeoutSeconds * 1e9).rounded()))
    }
}

extension ScalingConfig {
    /// The settings with `overrides` (`scaling:` keys as in function.yaml, values as YAML would
    /// load them: Int, Double or a duration String) applied on top, then validated.
    /// E.g. ["maxScale": 5, "stableWindow": "30s"].
    public func applying(_ overrides: [String: Any]) throws -> ScalingConfig {
        var config = self
        for (key, value) in overrides.sorted(by: { $0.key < $1.key }) {
            guard let field = Self.fields[key] else {
                // The same error the file would give.
                _ = try ScalingConfig(scaling: [key: value])
                continue
            }
            try field.read(value, into: &config, key: "scaling.\(key)")
        }
        try config.validate()
        return config
    }
}
