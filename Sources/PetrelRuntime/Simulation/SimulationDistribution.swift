import Foundation  // exp

/// A duration the simulation draws per worker start or per request, in milliseconds.
///
/// Written on the command line as:
/// - `10`: always 10 ms
/// - `uniform:5,15`: anywhere in [5, 15) ms
/// - `exp:10`: exponential with mean 10 ms (memoryless; most draws short, a long tail)
/// - `lognormal:10,0.5`: median 10 ms, sigma 0.5 of the underlying normal (e^0.5 ≈ 1.65:
///   about two thirds of draws within 6–16.5 ms); the usual shape of measured latencies.
public enum SimulationDistribution: Equatable, Sendable, CustomStringConvertible {
    case fixed(ms: Double)
    case uniform(lowMs: Double, highMs: Double)
    case exponential(meanMs: Double)
    case lognormal(medianMs: Double, sigma: Double)

    /// One draw, in nanoseconds (never negative).
    public func sample(_ rng: inout SimulationRandom) -> Int64 {
        let ms: Double
        switch self {
        case .fixed(let v): return Int64((v * 1e6).rounded())
        case .uniform(let lo, let hi): ms = lo + (hi - lo) * (1 - rng.unit())
        case .exponential(let mean): ms = rng.exponential(mean: mean)
        case .lognormal(let median, let sigma): ms = median * exp(sigma * rng.normal())
        }
        return Int64(max(0, ms * 1e6).rounded())
    }

    /// Parses the forms above; nil when `text` is none of them (the caller names the option).
    public init?(_ text: String) {
        let parts = text.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let args = (parts.count == 2 ? parts[1] : parts[0]).split(separator: ",", omittingEmptySubsequences: false)
            .map { Double($0.trimmingCharacters(in: .whitespaces)) }
        guard args.allSatisfy({ $0 != nil && $0!.isFinite && $0! >= 0 }) else { return nil }
        let v = args.map { $0! }
        switch (parts.count == 2 ? parts[0] : "fixed", v.count) {
        case ("fixed", 1): self = .fixed(ms: v[0])
        case ("uniform", 2) where v[0] <= v[1]: self = .uniform(lowMs: v[0], highMs: v[1])
        case ("exp", 1) where v[0] > 0: self = .exponential(meanMs: v[0])
        case ("lognormal", 2) where v[0] > 0: self = .lognormal(medianMs: v[0], sigma: v[1])
        default: return nil
        }
    }

    public static let syntax = "a number of ms, uniform:LOW,HIGH, exp:MEAN or lognormal:MEDIAN,SIGMA"

    public var description: String {
        func f(_ x: Double) -> String { x == x.rounded() ? String(Int64(x)) : String(x) }
        switch self {
        case .fixed(let v): return "\(f(v)) ms"
        case .uniform(let lo, let hi): return "uniform \(f(lo))–\(f(hi)) ms"
        case .exponential(let m): return "exponential, mean \(f(m)) ms"
        case .lognormal(let m, let s): return "lognormal, median \(f(m)) ms, sigma \(f(s))"
        }
    }
}
