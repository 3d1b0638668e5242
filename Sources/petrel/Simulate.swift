import ArgumentParser
import Foundation
import PetrelRuntime

/// `petrel simulate`: a request trace through the real autoscaler and the pool's rules on a
/// virtual clock, to see how a scaling policy behaves at a scale this machine cannot send.
struct Simulate: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Replay a request trace through the autoscaler and pool on a virtual clock.",
        discussion: """
        Reports per function: cold-start rate, queueing delay, worker-seconds, peak workers, time \
        at zero and panic time. Worker start and service times are inputs: a number of ms, \
        uniform:LOW,HIGH, exp:MEAN or lognormal:MEDIAN,SIGMA.

        Trace CSV: one request a line, `timestamp_seconds,function` (header optional, any order, \
        the earliest timestamp is deploy time). Every function gets the same settings.

        Examples:
          petrel simulate --pattern poisson --rate 200 --duration 10m --container-concurrency 10
          petrel simulate --pattern bursty --rate 500 --burst 10s --gap 2m --base-rate 5 --duration 1h
          petrel simulate --pattern diurnal --min-rate 1 --max-rate 300 --period 1h --duration 2h
          petrel simulate --trace trace.csv --function-yaml functions/x/function.yaml --scaling maxScale=5
        """)

    @Option(help: "A CSV trace: timestamp_seconds,function per line.") var trace: String?
    @Option(help: "Generate one function's traffic: poisson, bursty or diurnal.") var pattern: String?
    @Option(help: "Requests per second (poisson; bursty: during a burst).") var rate: Double?
    @Option(help: "bursty: length of a burst (seconds, or 10s, 2m).") var burst: String?
    @Option(help: "bursty: time between bursts.") var gap: String?
    @Option(help: "bursty: requests per second between bursts.") var baseRate = 0.0
    @Option(help: "diurnal: the lowest rate, at the start of each period.") var minRate = 0.0
    @Option(help: "diurnal: the highest rate, half a period in.") var maxRate: Double?
    @Option(help: "diurnal: the length of one cycle (default: --duration).") var period: String?
    @Option(help: "Length of the generated traffic.") var duration = "10m"
    @Option(help: "Name of the generated function.") var function = "f"

    @Option(help: "Take limits: and scaling: from this function.yaml.") var functionYaml: String?
    @Option(help: "A scaling: setting, key=value (repeatable), over the file's: maxScale=5, stableWindow=30s.")
    var scaling: [String] = []
    @Option(help: "limits.containerConcurrency (0 = unlimited).") var containerConcurrency: Int?
    @Option(help: "limits.queue: requests that may wait for a worker.") var queueLimit: Int?
    @Option(help: "Worker start time in ms, or a distribution.") var coldStartMs = "10"
    @Option(help: "Time per request in ms, or a distribution.") var serviceMs = "5"
    @Option(help: "Seed for generated traffic and sampled times.") var seed: UInt64 = 1
    @Flag(help: "Print one JSON object.") var json = false

    func validate() throws {
        if (trace == nil) == (pattern == nil) { throw ValidationError("give either --trace FILE or --pattern poisson|bursty|diurnal") }
        if let p = pattern, !["poisson", "bursty", "diurnal"].contains(p) {
            throw ValidationError("--pattern \(p): must be poisson, bursty or diurnal")
        }
        if let r = rate, !(r > 0 && r.isFinite) { throw ValidationError("--rate \(r): must be positive") }
        if let c = containerConcurrency, !(0...1000).contains(c) { throw ValidationError("--container-concurrency \(c): must be 0...1000 (0 = unlimited)") }
        if let q = queueLimit, !(0...1_000_000).contains(q) { throw ValidationError("--queue-limit \(q): must be 0...1000000") }
        if SimulationDistribution(coldStartMs) == nil { throw ValidationError("--cold-start-ms \(coldStartMs): must be \(SimulationDistribution.syntax)") }
        if SimulationDistribution(serviceMs) == nil { throw ValidationError("--service-ms \(serviceMs): must be \(SimulationDistribution.syntax)") }
        if !(baseRate >= 0 && minRate >= 0) { throw ValidationError("--base-rate and --min-rate must be at least 0") }
        for s in scaling where !s.contains("=") { throw ValidationError("--scaling \(s): expected key=value, like maxScale=5") }
    }

    func run() throws {
        let settings = try loadSettings()
        let (traffic, description) = try loadTraffic()
        let total = traffic.requestCount
        let showProgress = total >= 1 << 21 && !json
        let start = Date()
        let results = Simulation.run(traffic, settings: settings, progress: showProgress ? { done, all in
            FileHandle.standardError.write(Data("\rsimulating: \(done * 100 / max(1, all)) % of \(all) requests".utf8))
        } : nil)
        if showProgress { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        let elapsed = Date().timeIntervalSince(start)
        if json {
            printJSON(results, settings: settings, traffic: description, elapsed: elapsed)
        } else {
            printTable(results, settings: settings, traffic: description, elapsed: elapsed)
        }
    }

    /// function.yaml, then --scaling, then the single-purpose options.
    func loadSettings() throws -> SimulationSettings {
        var s = SimulationSettings()
        if let path = functionYaml {
            guard let data = FileManager.default.contents(atPath: path) else { fail(3, "cannot read \(path)") }
            do {
                s = SimulationSettings(function: try FunctionConfig.parse(String(decoding: data, as: UTF8.self), file: path,
                                                                           directory: (path as NSString).deletingLastPathComponent))
            } catch { fail(2, "\(error)") }
        }
        var overrides: [String: Any] = [:]
        for pair in scaling {
            let (key, value) = (String(pair.prefix { $0 != "=" }), String(pair.drop { $0 != "=" }.dropFirst()))
            overrides[key] = Int(value).map { $0 as Any } ?? Double(value).map { $0 as Any } ?? value
        }
        if let c = containerConcurrency { s.scaling.containerConcurrency = c }
        do { s.scaling = try s.scaling.applying(overrides) } catch { fail(2, "--scaling: \(error)") }
        if let q = queueLimit { s.queueLimit = q }
        s.coldStart = SimulationDistribution(coldStartMs)!
        s.service = SimulationDistribution(serviceMs)!
        s.seed = seed
        return s
    }

    func loadTraffic() throws -> (SimulationTrace, String) {
        if let path = trace {
            guard let data = FileManager.default.contents(atPath: path) else { fail(3, "cannot read \(path)") }
            do { return (try SimulationTrace.parseCSV(Array(data)), path) } catch { fail(2, "\(path): \(error)") }
        }
        let length = seconds(duration, "--duration")
        let p: SimulationPattern
        switch pattern! {
        case "poisson":
            p = .poisson(rate: required(rate, "--rate"))
        case "bursty":
            p = .bursty(rate: required(rate, "--rate"), burst: seconds(required(burst, "--burst"), "--burst"),
                        gap: seconds(required(gap, "--gap"), "--gap"), baseRate: baseRate)
        default:
            let hi = required(maxRate, "--max-rate")
            if hi < minRate { fail(2, "--max-rate \(hi): must be at least --min-rate (\(minRate))") }
            p = .diurnal(minRate: minRate, maxRate: hi, period: period.map { seconds($0, "--period") } ?? length)
        }
        let expected = (0..<1000).reduce(0.0) { $0 + p.rate(at: length * (Double($1) + 0.5) / 1000) } / 1000 * length
        if expected > 200_000_000 { fail(2, "\(p) for \(length) s is about \(Int(expected)) requests; at most 200000000") }
        let arrivals = p.arrivals(duration: length, seed: seed)
        if arrivals.isEmpty { fail(2, "\(p) for \(length) s produced no requests") }
        let description = "\(p) over \(Self.format(length)) s (seed \(seed))"
        return (SimulationTrace(functions: [.init(name: function, arrivals: arrivals)]), description)
    }

    private func required<T>(_ value: T?, _ option: String) -> T {
        guard let value else { fail(2, "--pattern \(pattern!) needs \(option)") }
        return value
    }

    /// "90", "1.5", "500ms", "10s", "2m", "1h", "1d": seconds.
    private func seconds(_ text: String, _ option: String) -> Double {
        let units: [(String, Double)] = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600), ("d", 86400), ("", 1)]
        for (suffix, scale) in units where text.hasSuffix(suffix) {
            if let v = Double(text.dropLast(suffix.count)), v > 0, v.isFinite { return v * scale }
        }
        fail(2, "\(option) \(text): must be a positive duration, like 90, 10s, 5m or 1h")
    }

    func fail(_ code: Int32, _ message: String) -> Never {
        stderrLine("error: \(message)")
        Simulate.exit(withError: ExitCode(code))
    }
}
