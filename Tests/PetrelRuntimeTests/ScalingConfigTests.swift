import Testing
@testable import PetrelRuntime

@Suite struct ScalingConfigTests {
    func message(_ scaling: [String: Any], containerConcurrency: Int = 0) -> String {
        do { _ = try ScalingConfig(containerConcurrency: containerConcurrency, scaling: scaling); return "(accepted)" }
        catch { return "\(error)" }
    }

    @Test func defaultsAreKnatives() throws {
        let c = try ScalingConfig(scaling: [:])
        #expect(c == ScalingConfig())
        #expect(c.containerConcurrency == 0 && c.targetUtilization == 0.7 && c.target == nil)
        #expect(c.targetBurstCapacity == 200 && c.stableWindow == .seconds(60))
        #expect(c.panicWindowPercentage == 10 && c.panicThresholdPercentage == 200)
        #expect(c.maxScaleUpRate == 1000 && c.maxScaleDownRate == 2)
        #expect(c.scaleToZeroGracePeriod == .seconds(30) && c.scaleDownDelay == .zero)
        #expect(c.minScale == 0 && c.maxScale == 0 && c.initialScale == 1 && c.activationScale == 1)
        #expect(c.tickInterval == .seconds(2))
        // Unlimited concurrency: 100 × 70 % = 70 per worker.
        #expect(c.totalTarget == 100 && c.targetConcurrency == 70)
        #expect(c.panicWindow == .seconds(6) && c.panicThreshold == 2 && c.initialWorkers == 1)
    }

    @Test func targetFollowsKnativesResolveMetricTarget() throws {
        // containerConcurrency 10 => 10 × 0.7 = 7.
        #expect(try ScalingConfig(containerConcurrency: 10).targetConcurrency == 7)
        // An explicit target replaces the base but stays under the hard limit: min(20, 10) × 0.7.
        #expect(try ScalingConfig(containerConcurrency: 10, scaling: ["target": 20]).targetConcurrency == 7)
        #expect(try ScalingConfig(scaling: ["target": 5, "targetUtilization": 1]).targetConcurrency == 5)
        #expect(try ScalingConfig(scaling: ["target": 0.01, "targetUtilization": 0.5]).targetConcurrency == 0.01)
    }

    @Test func everyKeyParses() throws {
        let c = try ScalingConfig(containerConcurrency: 4, scaling: [
            "targetUtilization": 0.5, "target": 3, "targetBurstCapacity": -1, "stableWindow": "1m30s",
            "panicWindowPercentage": 20, "panicThresholdPercentage": 150.5, "maxScaleUpRate": 1.5,
            "maxScaleDownRate": 4, "scaleToZeroGracePeriod": "1500ms", "scaleDownDelay": 0,
            "minScale": 1, "maxScale": 6, "initialScale": 0, "activationScale": 2, "tickInterval": "1s",
        ])
        var want = ScalingConfig()
        want.containerConcurrency = 4
        want.targetUtilization = 0.5
        want.target = 3
        want.targetBurstCapacity = -1
        want.stableWindow = .seconds(90)
        want.panicWindowPercentage = 20
        want.panicThresholdPercentage = 150.5
        want.maxScaleUpRate = 1.5
        want.maxScaleDownRate = 4
        want.scaleToZeroGracePeriod = .milliseconds(1500)
        want.minScale = 1
        want.maxScale = 6
        want.initialScale = 0  // allowed: Petrel scales from zero on demand
        want.activationScale = 2
        want.tickInterval = .seconds(1)
        #expect(c == want)
        #expect(c.panicWindow == .seconds(18) && c.targetConcurrency == 1.5 && c.initialWorkers == 1)
    }

    @Test func durationsAreGoDurations() {
        #expect(parseScalingDuration("60s") == .seconds(60))
        #expect(parseScalingDuration("1m") == .seconds(60))
        #expect(parseScalingDuration("500ms") == .milliseconds(500))
        #expect(parseScalingDuration("1h1m1s") == .seconds(3661))
        #expect(parseScalingDuration("1.5h") == .seconds(5400))
        #expect(parseScalingDuration("-5s") == .seconds(-5))
        #expect(parseScalingDuration("0") == .zero)
        for bad in ["", "5", "s", "1d", "1 s", "5s3", ".s", "--1s"] { #expect(parseScalingDuration(bad) == nil, "\(bad)") }
        #expect(Duration.seconds(3661).scalingDescription == "1h1m1s")
        #expect(Duration.milliseconds(6500).scalingDescription == "6s500ms")
    }

    @Test func errorsNameKeyValueAndRule() {
        let error = ScalingConfigError(key: "scaling.maxScaleDownRate", value: "0.9", message: "must be greater than 1.0")
        #expect(message(["maxScaleDownRate": 0.9]) == error.description)
        #expect(error.description == "scaling.maxScaleDownRate = 0.9: must be greater than 1.0")
    }

    @Test func everyRuleIsEnforcedWithAnExactMessage() {
        let cases: [([String: Any], String)] = [
            (["targetUtilization": 0], "scaling.targetUtilization = 0: must be in [0.01, 1] (a fraction: 0.7 = 70 %)"),
            (["targetUtilization": 70], "scaling.targetUtilization = 70: must be in [0.01, 1] (a fraction: 0.7 = 70 %)"),
            (["target": 0.001], "scaling.target = 0.001: must be at least 0.01"),
            (["targetBurstCapacity": -2], "scaling.targetBurstCapacity = -2: must be at least 0, or -1 for unlimited"),
            (["stableWindow": "5s"], "scaling.stableWindow = 5s: must be in [6s, 1h]"),
            (["stableWindow": "61m"], "scaling.stableWindow = 1h1m: must be in [6s, 1h]"),
            (["stableWindow": "6500ms"], "scaling.stableWindow = 6s500ms: must be whole seconds"),
            (["panicWindowPercentage": 0.5], "scaling.panicWindowPercentage = 0.5: must be in [1, 100]"),
            (["panicWindowPercentage": 101], "scaling.panicWindowPercentage = 101: must be in [1, 100]"),
            (["panicThresholdPercentage": 100], "scaling.panicThresholdPercentage = 100: must be in [110, 1000]"),
            (["panicThresholdPercentage": 1001], "scaling.panicThresholdPercentage = 1001: must be in [110, 1000]"),
            (["maxScaleUpRate": 1], "scaling.maxScaleUpRate = 1: must be greater than 1.0"),
            (["maxScaleDownRate": 0.9], "scaling.maxScaleDownRate = 0.9: must be greater than 1.0"),
            (["scaleToZeroGracePeriod": "0s"], "scaling.scaleToZeroGracePeriod = 0s: must be positive"),
            (["scaleToZeroGracePeriod": "-5s"], "scaling.scaleToZeroGracePeriod = -5s: must be positive"),
            (["scaleDownDelay": "-1s"], "scaling.scaleDownDelay = -1s: must be in [0s, 1h]"),
            (["scaleDownDelay": "2h"], "scaling.scaleDownDelay = 2h: must be in [0s, 1h]"),
            (["scaleDownDelay": "1.5s"], "scaling.scaleDownDelay = 1s500ms: must be whole seconds"),
            (["minScale": -1], "scaling.minScale = -1: must be at least 0"),
            (["maxScale": -1], "scaling.maxScale = -1: must be at least 0 (0 = unlimited)"),
            (["minScale": 3, "maxScale": 2], "scaling.maxScale = 2: must be at least minScale (3), or 0 for unlimited"),
            (["initialScale": -1], "scaling.initialScale = -1: must be at least 0"),
            (["activationScale": 0], "scaling.activationScale = 0: must be at least 1"),
            (["activationScale": 3, "maxScale": 2], "scaling.activationScale = 3: must be at most maxScale (2)"),
            (["tickInterval": "500ms"], "scaling.tickInterval = 500ms: must be in [1s, 1m]"),
            (["tickInterval": "2m"], "scaling.tickInterval = 2m: must be in [1s, 1m]"),
            // Types, reported with the value as read.
            (["maxScale": "ten"], #"scaling.maxScale = "ten": must be a whole number"#),
            (["maxScale": 2.5], "scaling.maxScale = 2.5: must be a whole number"),
            (["maxScaleUpRate": "fast"], #"scaling.maxScaleUpRate = "fast": must be a number"#),
            (["maxScaleUpRate": true], "scaling.maxScaleUpRate = true: must be a number"),
            (["stableWindow": 60], "scaling.stableWindow = 60: must be a duration with a unit, like 60s, 1m or 500ms"),
            (["stableWindow": "60 s"], #"scaling.stableWindow = "60 s": must be a duration with a unit, like 60s, 1m or 500ms"#),
            // Keys.
            (["stableWindw": "60s"], "scaling.stableWindw: unknown key (known keys: activationScale, initialScale, "
                + "maxScale, maxScaleDownRate, maxScaleUpRate, minScale, panicThresholdPercentage, "
                + "panicWindowPercentage, scaleDownDelay, scaleToZeroGracePeriod, stableWindow, target, "
                + "targetBurstCapacity, targetUtilization, tickInterval)"),
            (["containerConcurrency": 10], "scaling.containerConcurrency: belongs under limits:, not scaling:"),
        ]
        for (scaling, expected) in cases { #expect(message(scaling) == expected) }
        #expect(message([:], containerConcurrency: -1) == "limits.containerConcurrency = -1: must be in [0, 1000] (0 = unlimited)")
        #expect(message([:], containerConcurrency: 1001) == "limits.containerConcurrency = 1001: must be in [0, 1000] (0 = unlimited)")
        // Boundaries that are allowed.
        for ok: [String: Any] in [["targetBurstCapacity": -1], ["initialScale": 0], ["stableWindow": "6s"],
                                  ["stableWindow": "1h"], ["panicThresholdPercentage": 110], ["scaleDownDelay": "1h"],
                                  ["maxScaleDownRate": 1.01], ["minScale": 3, "maxScale": 0], ["tickInterval": "1m"]] {
            #expect(message(ok) == "(accepted)", "\(ok)")
        }
    }
}
