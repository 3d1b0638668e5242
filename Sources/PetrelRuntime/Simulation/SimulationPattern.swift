import Foundation  // cos

/// Synthetic arrivals for one function, drawn from a seeded generator: the same seed gives the
/// same trace on every machine.
public enum SimulationPattern: Equatable, Sendable, CustomStringConvertible {
    /// Arrivals at a constant `rate` per second, independent of each other: the textbook open
    /// load (gaps exponential with mean 1 / rate).
    case poisson(rate: Double)
    /// On/off traffic: `rate` per second for `burst` seconds, then `baseRate` for `gap` seconds,
    /// repeated; starts with a burst. E.g. rate 500, burst 10, gap 110, base 0 => a 10 s flood
    /// every 2 minutes, the case panic mode exists for.
    case bursty(rate: Double, burst: Double, gap: Double, baseRate: Double)
    /// A day's curve squeezed or stretched to `period` seconds: the rate starts at `minRate`,
    /// peaks at `maxRate` half a period in, and falls back (a raised cosine).
    case diurnal(minRate: Double, maxRate: Double, period: Double)

    /// Requests per second at `t` seconds.
    public func rate(at t: Double) -> Double {
        switch self {
        case .poisson(let r): return r
        case .bursty(let r, let burst, let gap, let base):
            return t.truncatingRemainder(dividingBy: burst + gap) < burst ? r : base
        case .diurnal(let lo, let hi, let period):
            return lo + (hi - lo) * (1 - cos(2 * Double.pi * t / period)) / 2
        }
    }

    /// The peak of `rate(at:)`, the envelope thinning draws candidates from.
    var peakRate: Double {
        switch self {
        case .poisson(let r): return r
        case .bursty(let r, _, _, let base): return max(r, base)
        case .diurnal(let lo, let hi, _): return max(lo, hi)
        }
    }

    /// Arrival times in nanoseconds over [0, duration) seconds, ascending.
    ///
    /// A non-homogeneous Poisson process by thinning (Lewis–Shedler): candidates at the peak
    /// rate, each kept with probability rate(t) / peak. Exact for any rate curve; the cost is the
    /// rejected candidates (a diurnal 10–1000 discards about half).
    public func arrivals(duration: Double, seed: UInt64) -> [Int64] {
        var rng = SimulationRandom(seed: seed)
        let peak = peakRate
        guard peak > 0, duration > 0 else { return [] }
        var out: [Int64] = []
        out.reserveCapacity(Int(min(peak * duration * 1.05 + 16, 200_000_000)))
        let constant: Bool = { if case .poisson = self { return true } else { return false } }()
        var t = 0.0
        while true {
            t += rng.exponential(mean: 1 / peak)
            guard t < duration else { break }
            if constant || rng.unit() * peak <= rate(at: t) { out.append(Int64((t * 1e9).rounded())) }
        }
        return out
    }

    public var description: String {
        func f(_ x: Double) -> String { x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(x) }
        switch self {
        case .poisson(let r): return "poisson \(f(r))/s"
        case .bursty(let r, let b, let g, let base): return "bursty \(f(r))/s for \(f(b)) s, \(f(base))/s for \(f(g)) s"
        case .diurnal(let lo, let hi, let p): return "diurnal \(f(lo))–\(f(hi))/s, period \(f(p)) s"
        }
    }
}
