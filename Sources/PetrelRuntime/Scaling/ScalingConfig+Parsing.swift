extension ScalingConfig {
    /// Reads the `scaling:` mapping of function.yaml as Yams loaded it (absent keys keep Knative's
    /// defaults) and validates the result. `containerConcurrency` comes from `limits:`.
    /// Unknown keys are errors: a typo must not silently become a default.
    public init(containerConcurrency: Int = 0, scaling: [String: Any] = [:]) throws {
        self.init()
        self.containerConcurrency = containerConcurrency
        for (key, value) in scaling.sorted(by: { $0.key < $1.key }) {
            guard let field = Self.fields[key] else {
                let hint = key == "containerConcurrency"
                    ? "belongs under limits:, not scaling:"
                    : "unknown key (known keys: \(Self.fields.keys.sorted().joined(separator: ", ")))"
                throw ScalingConfigError(key: "scaling.\(key)", value: nil, message: hint)
            }
            try field.read(value, into: &self, key: "scaling.\(key)")
        }
        try validate()
    }

    /// One table of keys, so a new setting is a one-line edit here plus its rule in `validate()`.
    static var fields: [String: Field] {
        ["targetUtilization": .number(\.targetUtilization), "target": .optionalNumber(\.target),
         "targetBurstCapacity": .number(\.targetBurstCapacity), "stableWindow": .duration(\.stableWindow),
         "panicWindowPercentage": .number(\.panicWindowPercentage),
         "panicThresholdPercentage": .number(\.panicThresholdPercentage),
         "maxScaleUpRate": .number(\.maxScaleUpRate), "maxScaleDownRate": .number(\.maxScaleDownRate),
         "scaleToZeroGracePeriod": .duration(\.scaleToZeroGracePeriod),
         "scaleDownDelay": .duration(\.scaleDownDelay), "minScale": .whole(\.minScale),
         "maxScale": .whole(\.maxScale), "initialScale": .whole(\.initialScale),
         "activationScale": .whole(\.activationScale), "tickInterval": .duration(\.tickInterval)]
    }

    enum Field {
        case number(WritableKeyPath<ScalingConfig, Double>)
        case optionalNumber(WritableKeyPath<ScalingConfig, Double?>)
        case whole(WritableKeyPath<ScalingConfig, Int>)
        case duration(WritableKeyPath<ScalingConfig, Duration>)

        func read(_ value: Any, into config: inout ScalingConfig, key: String) throws {
            func fail(_ rule: String) -> ScalingConfigError {
                ScalingConfigError(key: key, value: ScalingValueText.raw(value), message: rule)
            }
            func number() throws -> Double {
                if let i = value as? Int { return Double(i) }
                if let d = value as? Double, d.isFinite { return d }
                throw fail("must be a number")
            }
            switch self {
            case .number(let path): config[keyPath: path] = try number()
            case .optionalNumber(let path): config[keyPath: path] = try number()
            case .whole(let path):
                guard let i = value as? Int else { throw fail("must be a whole number") }
                config[keyPath: path] = i
            case .duration(let path):
                if let i = value as? Int, i == 0 { config[keyPath: path] = .zero; return }
                guard let s = value as? String, let d = parseScalingDuration(s) else {
                    throw fail("must be a duration with a unit, like 60s, 1m or 500ms")
                }
                config[keyPath: path] = d
            }
        }
    }

    /// Knative's rules (config.go and annotation_validation.go); the first broken one is thrown.
    public func validate() throws {
        typealias V = ScalingValueText
        func rule(_ ok: Bool, _ key: String, _ value: String, _ message: String) throws {
            if !ok { throw ScalingConfigError(key: key, value: value, message: message) }
        }
        let hour = Duration.seconds(3600)
        func wholeSeconds(_ d: Duration) -> Bool { d.nanoseconds % 1_000_000_000 == 0 }

        try rule((0...1000).contains(containerConcurrency), "limits.containerConcurrency",
                 V.of(containerConcurrency), "must be in [0, 1000] (0 = unlimited)")
        try rule(targetUtilization >= 0.01 && targetUtilization <= 1, "scaling.targetUtilization",
                 V.of(targetUtilization), "must be in [0.01, 1] (a fraction: 0.7 = 70 %)")
        if let target {
            try rule(target >= 0.01, "scaling.target", V.of(target), "must be at least 0.01")
        }
        try rule(targetBurstCapacity >= 0 || targetBurstCapacity == -1, "scaling.targetBurstCapacity",
                 V.of(targetBurstCapacity), "must be at least 0, or -1 for unlimited")
        let sw = stableWindow
        try rule(sw >= .seconds(6) && sw <= hour, "scaling.stableWindow", V.of(sw), "must be in [6s, 1h]")
        try rule(wholeSeconds(sw), "scaling.stableWindow", V.of(sw), "must be whole seconds")
        try rule(panicWindowPercentage >= 1 && panicWindowPercentage <= 100, "scaling.panicWindowPercentage",
                 V.of(panicWindowPercentage), "must be in [1, 100]")
        try rule(panicThresholdPercentage >= 110 && panicThresholdPercentage <= 1000,
                 "scaling.panicThresholdPercentage", V.of(panicThresholdPercentage), "must be in [110, 1000]")
        try rule(maxScaleUpRate > 1, "scaling.maxScaleUpRate", V.of(maxScaleUpRate), "must be greater than 1.0")
        try rule(maxScaleDownRate > 1, "scaling.maxScaleDownRate", V.of(maxScaleDownRate), "must be greater than 1.0")
        try rule(scaleToZeroGracePeriod > .zero, "scaling.scaleToZeroGracePeriod",
                 V.of(scaleToZeroGracePeriod), "must be positive")
        let delay = scaleDownDelay
        try rule(delay >= .zero && delay <= hour, "scaling.scaleDownDelay", V.of(delay), "must be in [0s, 1h]")
        try rule(wholeSeconds(delay), "scaling.scaleDownDelay", V.of(delay), "must be whole seconds")
        try rule(minScale >= 0, "scaling.minScale", V.of(minScale), "must be at least 0")
        try rule(maxScale >= 0, "scaling.maxScale", V.of(maxScale), "must be at least 0 (0 = unlimited)")
        try rule(maxScale == 0 || maxScale >= minScale, "scaling.maxScale", V.of(maxScale),
                 "must be at least minScale (\(minScale)), or 0 for unlimited")
        try rule(initialScale >= 0, "scaling.initialScale", V.of(initialScale), "must be at least 0")
        try rule(activationScale >= 1, "scaling.activationScale", V.of(activationScale), "must be at least 1")
        try rule(maxScale == 0 || activationScale <= maxScale, "scaling.activationScale",
                 V.of(activationScale), "must be at most maxScale (\(maxScale))")
        try rule(tickInterval >= .seconds(1) && tickInterval <= .seconds(60), "scaling.tickInterval",
                 V.of(tickInterval), "must be in [1s, 1m]")
    }
}
