/// Splits `0..<count` into at most `pool.threads × 4` contiguous ranges of at least `grain` items and
/// runs them on the pool; below two grains (or without a pool) it runs inline, because waking the
/// pool costs a few microseconds, more than ~64K float ops.
///
/// Thread t runs the t-th share of the ranges first (`parallelClaim`), so it touches the rows the
/// GEMM before it wrote on that core: MiniLM's LayerNorms at batch 8 on two threads took
/// 0.26 ms each from a shared counter, which dealt every other range to the other core, against
/// 0.19 on one thread.
@inlinable
func parallelRanges(_ count: Int, grain: Int, pool: ThreadPool?, _ body: (Range<Int>) -> Void) {
    guard count > 0 else { return }
    guard let pool, pool.threads > 1, count >= 2 * grain else { body(0..<count); return }
    let chunks = Swift.min(pool.threads * 4, count / grain)
    let size = (count + chunks - 1) / chunks
    pool.parallelClaim((count + size - 1) / size, slots: pool.threads) { _, c in
        body(c * size ..< Swift.min(count, (c + 1) * size))
    }
}

/// Work units (elements touched) below which a kernel stays on the calling thread.
@usableFromInline let parallelGrain = 1 << 17
