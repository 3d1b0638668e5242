import Testing
@testable import PetrelRuntime

/// Knative's algorithm, one scenario a test. Target 7 per worker throughout (containerConcurrency
/// 10 × 0.7); windows 60 s stable, 6 s panic, unless a test says otherwise.
@Suite struct AutoscalerScenarioTests {
    @Test func steadyLoadAtTargetKeepsTheWorkers() throws {
        var s = try Scenario(ready: 3)
        let ticks = s.run(21, seconds: 120)  // 21 / 7 => 3 workers
        #expect(ticks.count == 60)
        for (t, d) in ticks { #expect(d == decision(3, stable: 21, panic: 21), "t=\(t)") }
    }

    @Test func burstEntersPanicHoldsForTheStableWindowThenExits() throws {
        var s = try Scenario(ready: 2)
        #expect(s.run(14, seconds: 60)[60] == decision(2, stable: 14, panic: 14))
        let burst = s.run(70, seconds: 6)
        // t=62: the panic window (57...62) holds 14 × 4 + 70 × 2 => 32.7 => 5 workers, 5 / 2 ready
        // = 250 % >= 200 %: panic. The stable window (3...62) still says 952 / 60 = 15.9 => 3.
        #expect(burst[62] == decision(5, panicking: true, stable: 952.0 / 60, panic: 196.0 / 6))
        // t=64: panic window 51.3 => 8, only 160 % of 5 ready, but panic mode holds and grows.
        #expect(burst[64] == decision(8, panicking: true, stable: 1064.0 / 60, panic: 308.0 / 6))
        #expect(burst[66] == decision(10, panicking: true, stable: 1176.0 / 60, panic: 70))
        // The burst ends. The condition last held at t=62; no scale-down until t > 62 + 60.
        let after = s.run(7, seconds: 60)
        for t in stride(from: Int64(68), through: 122, by: 2) {
            #expect(after[t]?.desired == 10 && after[t]?.panicking == true, "t=\(t)")
        }
        #expect(after[122] == decision(10, panicking: true, stable: 672.0 / 60, panic: 7))
        // t=124: out of panic; 546 / 60 = 9.1 => 2 wanted, but one step halves at most: 10 / 2 = 5.
        #expect(after[124] == decision(5, stable: 546.0 / 60, panic: 7))
        #expect(after[126] == decision(2, stable: 7, panic: 7))
    }

    @Test func scaleUpIsLimitedToMaxScaleUpRateTimesReady() throws {
        var s = try Scenario(["maxScaleUpRate": 2], ready: 1)
        let ticks = s.run(70, seconds: 8)  // 70 / 7 => 10 workers wanted at once
        #expect(ticks[2] == decision(2, panicking: true, stable: 70, panic: 70))
        #expect(ticks[4] == decision(4, panicking: true, stable: 70, panic: 70))
        #expect(ticks[6] == decision(8, panicking: true, stable: 70, panic: 70))
        #expect(ticks[8] == decision(10, panicking: true, stable: 70, panic: 70))
    }

    @Test func scaleUpAlwaysAddsAWorkerWhenNeeded() throws {
        // Knative's example: MSUR=1.1, ready 2, observed 3, target 1 => ceil(2.2) = 3, not 2.
        var s = try Scenario(["maxScaleUpRate": 1.1, "target": 1, "targetUtilization": 1], ready: 2)
        #expect(s.run(3, seconds: 2)[2] == decision(3, stable: 3, panic: 3))
    }

    @Test func scaleDownIsLimitedToReadyOverMaxScaleDownRate() throws {
        var s = try Scenario(ready: 8)
        let ticks = s.run(7, seconds: 6)  // 1 worker wanted; each step at most halves
        #expect(ticks[2] == decision(4, stable: 7, panic: 7))
        #expect(ticks[4] == decision(2, stable: 7, panic: 7))
        #expect(ticks[6] == decision(1, stable: 7, panic: 7))
        var fast = try Scenario(["maxScaleDownRate": 8], ready: 8)
        #expect(fast.run(7, seconds: 2)[2] == decision(1, stable: 7, panic: 7))
    }

    @Test func scaleDownDelayKeepsTheLargestCountOfTheDelayWindow() throws {
        let scaling: [String: Any] = ["stableWindow": "10s", "scaleDownDelay": "30s", "maxScaleDownRate": 100]
        var s = try Scenario(scaling, ready: 8)
        #expect(s.run(56, seconds: 20)[20] == decision(8, stable: 56, panic: 56))
        // Without the delay the stable average (13...22: 46.2) would already ask for 7 at t=22.
        var undelayed = try Scenario(["stableWindow": "10s", "maxScaleDownRate": 100], ready: 8)
        undelayed.run(56, seconds: 20)
        #expect(undelayed.run(7, seconds: 2)[22]?.desired == 7)
        // With it, the 8 decided at t=20 holds until t=50 (30 s later); then each tick falls to
        // what was decided 30 s before: 7 (t=22), 6 (t=24), 4 (t=26), 3 (t=28), 1 (t=30).
        let ticks = s.run(7, seconds: 40)
        for t in stride(from: Int64(22), through: 46, by: 2) { #expect(ticks[t]?.desired == 8, "t=\(t)") }
        #expect(ticks[48] == decision(8, stable: 7, panic: 7))
        #expect(ticks[50] == decision(7, stable: 7, panic: 7))
        #expect([52, 54, 56, 58, 60].map { ticks[$0]?.desired } == [6, 4, 3, 1, 1])
    }

    @Test func minAndMaxScaleBoundEveryDecision() throws {
        var s = try Scenario(["minScale": 2, "maxScale": 4], ready: 2)
        let idle = s.run(0, seconds: 200)  // far past stable window + grace: never below 2
        for (t, d) in idle { #expect(d == decision(2, stable: 0, panic: 0), "t=\(t)") }
        let burst = s.run(70, seconds: 64)
        // t=202: panic window 140 / 6 = 23.3 => 4 workers = 200 % of 2 ready: panic, and the
        // stable 140 / 60 => 1 is raised to 4. Stable load 70 => 10 workers is capped at 4.
        #expect(burst[202] == decision(4, panicking: true, stable: 140.0 / 60, panic: 140.0 / 6))
        #expect(burst[264] == decision(4, panicking: true, stable: 70, panic: 70))
    }
}
