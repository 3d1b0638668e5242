import Foundation  // log, cos

/// xoshiro256** seeded through SplitMix64: a small, fast generator whose sequence depends only
/// on the seed, so a simulation run is reproducible on every machine and Swift version (the
/// standard library's generator promises neither).
public struct SimulationRandom: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        // SplitMix64 spreads any seed, 0 included, over the whole state (xoshiro must not start at 0).
        var x = seed
        func next() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s = (next(), next(), next(), next())
    }

    public mutating func next() -> UInt64 {
        let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = s.3 << 45 | s.3 >> 19
        return result
    }

    /// Uniform in (0, 1]: never 0, so `-log(u)` is always finite.
    public mutating func unit() -> Double {
        Double((next() >> 11) + 1) * 0x1p-53
    }

    /// Exponential with the given mean: the gap between arrivals of a Poisson process.
    public mutating func exponential(mean: Double) -> Double {
        -mean * log(unit())
    }

    /// Standard normal (Box–Muller; the second value is dropped to keep the state a plain tuple).
    public mutating func normal() -> Double {
        let u = unit(), v = unit()
        return (-2 * log(u)).squareRoot() * cos(2 * Double.pi * v)
    }
}
