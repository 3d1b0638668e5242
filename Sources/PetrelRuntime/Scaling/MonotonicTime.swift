/// An instant on a monotonic clock, as nanoseconds since an origin the caller picks.
///
/// The scaling logic never reads a clock: the runner passes `now` on every call (knative's
/// `Scale(logger, now)`), taken from the system-wide monotonic clock (`CLOCK_MONOTONIC`), and
/// tests step a manual one. Only differences between instants mean anything, so the origin is
/// arbitrary: `MonotonicTime(seconds: 0)` is a fine start for a test.
public struct MonotonicTime: Comparable, Hashable, Sendable, CustomStringConvertible {
    public var nanoseconds: Int64

    public init(nanoseconds: Int64) { self.nanoseconds = nanoseconds }
    public init(seconds: Int64) { self.nanoseconds = seconds * 1_000_000_000 }

    public static func < (a: MonotonicTime, b: MonotonicTime) -> Bool { a.nanoseconds < b.nanoseconds }
    public static func + (t: MonotonicTime, d: Duration) -> MonotonicTime {
        MonotonicTime(nanoseconds: t.nanoseconds + d.nanoseconds)
    }
    public static func - (t: MonotonicTime, d: Duration) -> MonotonicTime {
        MonotonicTime(nanoseconds: t.nanoseconds - d.nanoseconds)
    }
    public static func - (a: MonotonicTime, b: MonotonicTime) -> Duration {
        .nanoseconds(a.nanoseconds - b.nanoseconds)
    }
    public static func += (t: inout MonotonicTime, d: Duration) { t = t + d }

    public var description: String { "t+" + (Duration.nanoseconds(nanoseconds)).scalingDescription }
}

extension Duration {
    /// Whole nanoseconds (durations here are seconds to hours; sub-nanosecond parts are dropped).
    var nanoseconds: Int64 {
        let (s, atto) = components
        return s * 1_000_000_000 + atto / 1_000_000_000
    }

    /// Knative's spelling, so errors echo what a user would write: 60s, 1m, 1h, 500ms, 1m30s.
    var scalingDescription: String {
        var n = nanoseconds
        if n == 0 { return "0s" }
        var out = n < 0 ? "-" : ""
        n = abs(n)
        let units: [(String, Int64)] = [("h", 3_600_000_000_000), ("m", 60_000_000_000),
                                        ("s", 1_000_000_000), ("ms", 1_000_000), ("us", 1_000), ("ns", 1)]
        for (name, size) in units where n >= size {
            out += "\(n / size)\(name)"
            n %= size
        }
        return out
    }
}
