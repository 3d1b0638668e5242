/// Observed concurrency in 1 s buckets over a trailing window, averaged over any shorter
/// trailing window on demand: knative's `TimedFloat64Buckets` with its 1 s `BucketSize`.
///
/// The runner records every second, zeros included, so a bucket with no record inside the
/// covered span counts as 0. Two records in one bucket are averaged (one sampler, sampling a bit
/// fast), where knative sums (many pods reporting into one bucket).
struct ConcurrencyWindow: Sendable {
    /// The longest window averages are asked over (the stable window).
    let bucketCount: Int64
    private var buckets: [Int64: (sum: Double, count: Double)] = [:]
    /// The first bucket of the current run of data. Averages cover at most the buckets since it,
    /// so one early observation counts in full: 10 concurrent requests 3 s after deploy average
    /// 10, not 10 / 60, and the pool grows at once (knative's `firstWrite`).
    private var firstIndex: Int64?
    private(set) var lastIndex: Int64?

    init(window: Duration) {
        bucketCount = max(1, (window.nanoseconds + 999_999_999) / 1_000_000_000)
    }

    static func index(_ t: MonotonicTime) -> Int64 {
        let (q, r) = t.nanoseconds.quotientAndRemainder(dividingBy: 1_000_000_000)
        return r < 0 ? q - 1 : q
    }

    mutating func record(_ value: Double, at t: MonotonicTime) {
        let i = Self.index(t)
        if let last = lastIndex, i - last >= bucketCount {
            // A whole window without data: what came before says nothing about now.
            buckets = [:]
            firstIndex = nil
        }
        if firstIndex == nil || i < firstIndex! { firstIndex = i }
        let old = buckets[i] ?? (0, 0)
        buckets[i] = (old.sum + value, old.count + 1)
        lastIndex = max(lastIndex ?? i, i)
        let oldest = lastIndex! - bucketCount
        if buckets.count > Int(bucketCount) { buckets = buckets.filter { $0.key > oldest } }
    }

    /// True when no record fell within the whole window before `now`: too little to decide on.
    func isEmpty(now: MonotonicTime) -> Bool {
        guard let lastIndex else { return true }
        let i = Self.index(now)
        return i - lastIndex >= bucketCount || i < firstIndex!
    }

    /// The mean over the trailing `window` (whole buckets, the one holding `now` included),
    /// counting only buckets since the data began. E.g. window 6 s, records 12, 12, 0 in the
    /// last 3 s after 57 s of zeros => (12 + 12 + 0 + 0 + 0 + 0) / 6 = 4.
    func average(over window: Duration, now: MonotonicTime) -> Double {
        guard !isEmpty(now: now), let firstIndex else { return 0 }
        let n = min(bucketCount, max(1, (window.nanoseconds + 999_999_999) / 1_000_000_000))
        let end = Self.index(now)
        let start = max(end - n + 1, firstIndex)
        var total = 0.0
        for i in start...end {
            if let b = buckets[i] { total += b.sum / b.count }
        }
        return total / Double(end - start + 1)
    }
}

/// The largest value recorded within a trailing span of time: knative's `max.TimeWindow`,
/// which holds scale-down decisions for `scaleDownDelay`.
struct MaxWindow: Sendable {
    let span: Duration
    private var entries: [(at: MonotonicTime, value: Int)] = []

    init(span: Duration) { self.span = span }

    /// Records `value` at `now` and returns the largest value recorded in (now - span, now].
    /// E.g. span 60 s, desired 5 at t=98 then 2 at t=100 => 5 until t=158, then 2.
    mutating func record(_ value: Int, at now: MonotonicTime) -> Int {
        entries.removeAll { now - $0.at >= span }
        // Older entries that are not larger can never be the maximum again.
        entries.removeAll { $0.value <= value }
        entries.append((now, value))
        return entries.map(\.value).max()!
    }
}
