import Testing
@testable import PetrelRuntime

/// Scale to zero, waking from zero, restarts, missing data and burst capacity.
@Suite struct AutoscalerZeroTests {
    @Test func trafficStopsThenStableWindowThenGracePeriodThenZero() throws {
        var s = try Scenario(ready: 3)
        #expect(s.run(21, seconds: 100)[100] == decision(3, stable: 21, panic: 21))
        // Traffic stops after t=100. The stable average fades as the busy seconds leave the
        // window: at t it holds 160 - t of them, 21 × (160 - t) / 60 => ceil((160 - t) / 20) workers.
        var ticks = s.run(0, seconds: 88)
        #expect(ticks[118] == decision(3, stable: 21.0 * 42 / 60, panic: 0))
        #expect(ticks[120] == decision(2, stable: 21.0 * 40 / 60, panic: 0))
        #expect(ticks[138] == decision(2, stable: 21.0 * 22 / 60, panic: 0))
        #expect(ticks[140] == decision(1, stable: 21.0 * 20 / 60, panic: 0))
        #expect(ticks[158] == decision(1, stable: 21.0 * 2 / 60, panic: 0))
        // t=160: the stable window (101...160) saw no traffic; the last worker stays for the
        // 30 s grace period: zero from 100 + 60 + 30 = 190.
        for t in stride(from: Int64(160), through: 188, by: 2) {
            #expect(ticks[t] == decision(1, stable: 0, panic: 0), "t=\(t)")
        }
        #expect(s.probe(at: MonotonicTime(nanoseconds: 189_999_999_999)).desired == 1)
        #expect(s.probe(at: seconds(190)) == decision(0, stable: 0, panic: 0))
        ticks = s.run(0, seconds: 20)
        #expect(ticks[190] == decision(0, stable: 0, panic: 0))
        for t in stride(from: Int64(192), through: 208, by: 2) { #expect(ticks[t]?.desired == 0, "t=\(t)") }
    }

    @Test func aWorkerThatNeverSawTrafficGoesAfterWindowAndGrace() throws {
        var s = try Scenario(ready: 1)  // initialScale 1, nobody calls
        let ticks = s.run(0, seconds: 92)  // watching since t=1 => zero from 1 + 60 + 30 = 91
        #expect(ticks[90] == decision(1, stable: 0, panic: 0))
        #expect(ticks[92] == decision(0, stable: 0, panic: 0))
    }

    @Test func requestAtZeroStartsWorkersAtOnceAndTheNextTickKeepsThem() throws {
        var s = try Scenario()
        for (_, d) in s.run(0, seconds: 10) { #expect(d == decision(0, stable: 0, panic: 0)) }
        #expect(s.autoscaler.onRequestAtZero(now: MonotonicTime(nanoseconds: 10_500_000_000)) == 1)
        // A tick before any observation saw the request must not stop the cold start.
        #expect(s.probe(at: MonotonicTime(nanoseconds: 10_700_000_000)) == decision(1, stable: 0, panic: 0))
        // The activator holds the request: observations of 1 from t=11; data began at t=1.
        #expect(s.run(1, seconds: 2)[12] == decision(1, stable: 2.0 / 12, panic: 2.0 / 6))

        var three = try Scenario(["activationScale": 3])
        three.run(0, seconds: 10)
        #expect(three.autoscaler.onRequestAtZero(now: seconds(10)) == 3)
        #expect(three.probe(at: seconds(10)) == decision(3, stable: 0, panic: 0))
        var minTwo = try Scenario(["minScale": 2])
        #expect(minTwo.autoscaler.onRequestAtZero(now: seconds(0)) == 2)
        // maxScale caps it (validation keeps activationScale <= maxScale; code may skip it).
        var config = ScalingConfig()
        config.activationScale = 5
        config.maxScale = 2
        var capped = Autoscaler(config: config, now: seconds(0))
        #expect(capped.onRequestAtZero(now: seconds(0)) == 2)
    }

    @Test func restartWithWorkersStartsInPanicSoNoHistoryIsNoScaleDown() throws {
        var s = try Scenario(restartedWith: 5)
        let ticks = s.run(7, seconds: 62)  // 1 worker's worth; panic since t=0 holds until t > 60
        for t in stride(from: Int64(2), through: 60, by: 2) {
            #expect(ticks[t] == decision(5, panicking: true, stable: 7, panic: 7), "t=\(t)")
        }
        #expect(ticks[62] == decision(2, stable: 7, panic: 7))  // 5 / 2 => 2 at most per step
    }

    @Test func noObservationInTheStableWindowIsInvalid() throws {
        var s = try Scenario()
        let invalid = ScaleDecision(desired: 2, valid: false, stableConcurrency: 0, panicConcurrency: 0,
                                    excessBurstCapacity: 0)
        #expect(s.probe(at: seconds(0), ready: 2) == invalid)
        s.run(5, seconds: 10)
        #expect(s.probe(at: seconds(69), ready: 2).valid)
        #expect(s.probe(at: seconds(70), ready: 2) == invalid)
    }

    @Test func excessBurstCapacity() throws {
        // 3 ready × 10 − 200 − 12 => -182: a burst of 200 more would queue in the activator.
        var s = try Scenario(["targetBurstCapacity": 200], ready: 3)
        #expect(s.run(12, seconds: 2)[2] == decision(2, stable: 12, panic: 12, ebc: -182))
        var small = try Scenario(["targetBurstCapacity": 10], ready: 3)
        #expect(small.run(12, seconds: 2)[2]?.excessBurstCapacity == 8)
        var unlimited = try Scenario(["targetBurstCapacity": -1], ready: 3)
        #expect(unlimited.run(12, seconds: 2)[2]?.excessBurstCapacity == -1)
    }

    @Test func windowAveragesOnlySinceDataBeganAndAveragesWithinASecond() {
        var w = ConcurrencyWindow(window: .seconds(60))
        w.record(10, at: MonotonicTime(nanoseconds: 5_000_000_000))
        w.record(20, at: MonotonicTime(nanoseconds: 5_500_000_000))
        #expect(w.average(over: .seconds(60), now: MonotonicTime(nanoseconds: 5_900_000_000)) == 15)
        #expect(w.average(over: .seconds(6), now: seconds(6)) == 7.5)  // second 6 unrecorded: 0
        // A whole window without data: what came before is forgotten.
        w.record(4, at: seconds(66))
        #expect(w.average(over: .seconds(60), now: seconds(66)) == 4)
        var delay = MaxWindow(span: .seconds(10))
        #expect([delay.record(5, at: seconds(0)), delay.record(2, at: seconds(9)), delay.record(1, at: seconds(10))]
            == [5, 5, 2])
    }
}
