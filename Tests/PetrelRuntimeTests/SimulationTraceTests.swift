import Testing
@testable import PetrelRuntime

@Suite struct SimulationTraceTests {
    func parse(_ csv: String) throws(SimulationTraceError) -> SimulationTrace {
        try SimulationTrace.parseCSV(Array(csv.utf8))
    }

    @Test func readsUnsortedRowsPerFunctionFromTheEarliestTimestamp() throws {
        let t = try parse("timestamp_seconds,function\r\n1700000002.5,b\n# a comment\n\n1700000001,a\n 1700000000.25 , a \n")
        #expect(t.functions.map(\.name) == ["a", "b"])
        #expect(t.functions[0].arrivals == [0, 750_000_000])
        #expect(t.functions[1].arrivals == [2_250_000_000])
        #expect(t.requestCount == 3)
    }

    @Test func headerIsOptionalAndExponentsParse() throws {
        let t = try parse("0,f\n1e-3,f\n")
        #expect(t.functions == [.init(name: "f", arrivals: [0, 1_000_000])])
    }

    @Test(arguments: [
        ("0,f\nabc,f\n", 2, "timestamp \"abc\" is not a number of seconds"),
        ("timestamp,function\n0,f\n3\n", 3, "expected timestamp_seconds,function, found \"3\""),
        ("0,f\n1,\n", 2, "the function name is empty"),
        ("0,f\n\n1,f,extra\n", 3, "expected 2 fields (timestamp_seconds,function), found more"),
        ("0,f\nnan,f\n", 2, "timestamp nan is not finite"),
        ("timestamp,function\n", 1, "the trace has no requests"),
        ("timestamp,function\nts,f\n", 2, "timestamp \"ts\" is not a number of seconds"),
    ])
    func badRowsNameTheLine(csv: String, line: Int, message: String) {
        #expect(throws: SimulationTraceError(line: line, message: message)) { try parse(csv) }
    }
}

@Suite struct SimulationPatternTests {
    @Test func poissonHasTheRateAndTheSeedDecides() {
        let a = SimulationPattern.poisson(rate: 100).arrivals(duration: 100, seed: 1)
        // 10 000 expected; a Poisson count's standard deviation is 100.
        #expect(abs(a.count - 10_000) < 400)
        #expect(a == a.sorted() && a.first! >= 0 && a.last! < 100_000_000_000)
        #expect(a == SimulationPattern.poisson(rate: 100).arrivals(duration: 100, seed: 1))
        #expect(a != SimulationPattern.poisson(rate: 100).arrivals(duration: 100, seed: 2))
    }

    @Test func burstyIsOnlyAtTheBaseRateBetweenBursts() {
        let p = SimulationPattern.bursty(rate: 1000, burst: 2, gap: 8, baseRate: 0)
        let a = p.arrivals(duration: 30, seed: 5)
        // Three bursts of 2 s at 1000/s; nothing in between.
        #expect(abs(a.count - 6000) < 300)
        #expect(a.allSatisfy { ($0 / 1_000_000_000) % 10 < 2 })
    }

    @Test func diurnalPeaksHalfAPeriodIn() {
        let p = SimulationPattern.diurnal(minRate: 0, maxRate: 1000, period: 100)
        #expect(p.rate(at: 0) == 0 && p.rate(at: 50) == 1000 && abs(p.rate(at: 25) - 500) < 1e-9)
        let a = p.arrivals(duration: 100, seed: 5)
        // The mean of a raised cosine is half its peak: 500/s × 100 s.
        #expect(abs(a.count - 50_000) < 1000)
        let middle = a.filter { $0 >= 40_000_000_000 && $0 < 60_000_000_000 }.count
        let edges = a.filter { $0 < 10_000_000_000 || $0 >= 90_000_000_000 }.count
        #expect(middle > 8 * edges)
    }
}

@Suite struct SimulationDistributionTests {
    @Test(arguments: [
        ("10", SimulationDistribution.fixed(ms: 10)), ("0.5", .fixed(ms: 0.5)),
        ("uniform:5,15", .uniform(lowMs: 5, highMs: 15)), ("exp:10", .exponential(meanMs: 10)),
        ("lognormal:10,0.5", .lognormal(medianMs: 10, sigma: 0.5)),
    ])
    func parses(text: String, expected: SimulationDistribution) {
        #expect(SimulationDistribution(text) == expected)
    }

    @Test(arguments: ["", "-1", "ten", "uniform:15,5", "exp:0", "exp:1,2", "gamma:1", "uniform:1"])
    func rejects(text: String) {
        #expect(SimulationDistribution(text) == nil)
    }

    @Test func samplesHaveTheDocumentedCentre() {
        var rng = SimulationRandom(seed: 3)
        let exp = (0..<100_000).map { _ in SimulationDistribution.exponential(meanMs: 10).sample(&rng) }
        #expect(abs(Double(exp.reduce(0, +)) / 1e5 / 1e6 - 10) < 0.2)
        let logn = (0..<100_001).map { _ in SimulationDistribution.lognormal(medianMs: 10, sigma: 0.5).sample(&rng) }.sorted()
        #expect(abs(Double(logn[50_000]) / 1e6 - 10) < 0.2)
        let uni = (0..<10_000).map { _ in SimulationDistribution.uniform(lowMs: 5, highMs: 15).sample(&rng) }
        #expect(uni.allSatisfy { $0 >= 5_000_000 && $0 <= 15_000_000 })
        #expect(SimulationDistribution.fixed(ms: 10).sample(&rng) == 10_000_000)
    }
}

/// The doc comments' worked examples of FunctionPool's rules.
@Suite struct PoolPolicyTests {
    @Test func admission() {
        #expect(!PoolPolicy.admits(queued: 1000, queueLimit: 1000, someWorkerHasRoom: false))
        #expect(PoolPolicy.admits(queued: 1000, queueLimit: 1000, someWorkerHasRoom: true))
        #expect(PoolPolicy.admits(queued: 999, queueLimit: 1000, someWorkerHasRoom: false))
        #expect(!PoolPolicy.admits(queued: 0, queueLimit: 0, someWorkerHasRoom: false))
    }

    @Test func scaleForQueue() {
        // 25 waiting at containerConcurrency 10: two whole workers' worth; with 2 ready => want 4.
        #expect(PoolPolicy.wholeWorkersWaiting(queued: 25, containerConcurrency: 10) == 2)
        #expect(PoolPolicy.wholeWorkersWaiting(queued: 9, containerConcurrency: 10) == 0)
        let want = 5
        #expect(PoolPolicy.workersToStart(want: want, ready: 2, starting: 1, maxScale: 0) == 2)
        #expect(PoolPolicy.workersToStart(want: want, ready: 2, starting: 1, maxScale: 4) == 1)
        #expect(PoolPolicy.workersToStart(want: want, ready: 2, starting: 3, maxScale: 0) == 0)
        #expect(PoolPolicy.wholeWorkersWaiting(queued: 25, containerConcurrency: 0) == 0)
    }

    @Test func tick() {
        #expect(PoolPolicy.tickAction(desired: 5, ready: 2, starting: 1, queueEmpty: true) == .start(2))
        #expect(PoolPolicy.tickAction(desired: 1, ready: 3, starting: 0, queueEmpty: true) == .drain(2))
        #expect(PoolPolicy.tickAction(desired: 1, ready: 3, starting: 0, queueEmpty: false) == .none)
        #expect(PoolPolicy.tickAction(desired: 3, ready: 2, starting: 1, queueEmpty: true) == .none)
    }
}
