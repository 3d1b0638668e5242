import CPetrelMicrokernels
/// Geometry of scaled dot-product attention over tensors laid out [batch, seq, heads, dim], the
/// layout a transformer's Q, K and V projections come out in (no head transposes needed).
public struct AttentionShape: Equatable, Sendable {
    public var batch, heads, queries, keys, dim, valueDim: Int
    public init(batch: Int, heads: Int, queries: Int, keys: Int, dim: Int, valueDim: Int) {
        (self.batch, self.heads, self.queries, self.keys, self.dim, self.valueDim) = (batch, heads, queries, keys, dim, valueDim)
    }
}

/// An additive mask broadcast to [batch, heads, queries, keys]: element strides per dim, 0 where
/// the mask has size 1 (a padding mask is [batch, 1, 1, keys] or [batch, 1, queries, keys]).
public struct AttentionMask {
    public var base: UnsafePointer<Float>
    public var strides: (batch: Int, head: Int, query: Int, key: Int)
    public init(base: UnsafePointer<Float>, strides: (batch: Int, head: Int, query: Int, key: Int)) {
        self.base = base; self.strides = strides
    }
}

/// out[b, i, h, :] = softmax(scale · q[b, i, h, :] · k[b, :, h, :]ᵀ + mask[b, h, i, :]) · v[b, :, h, :],
/// one (batch, head) at a time: its queries × keys scores stay in a per-thread scratch (64 KB
/// for 128 × 128, inside L2) from the first product through the softmax to the second. Unfused,
/// MiniLM at batch 8 wrote 6.3 MB of scores per layer to memory and read them back twice (the
/// mask add, the softmax), then transposed the result back to [batch, seq, heads, dim].
/// Each row's 1/Σ scales its outputs rather than its scores, so results differ from the unfused
/// ops' in the last bits (a fully masked row is NaN, as theirs).
public enum Attention {
    /// Scratch floats `run` needs with `threads` threads.
    public static func scratchFloats(_ s: AttentionShape, threads: Int) -> Int {
        slots(s, threads: threads) * s.queries * s.keys
    }

    static func slots(_ s: AttentionShape, threads: Int) -> Int {
        Swift.max(1, Swift.min(threads, s.batch * s.heads))
    }

    public static func run(_ s: AttentionShape, q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                           mask: AttentionMask?, scale: Float, out: UnsafeMutablePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let (h, sq, skv, d, dv) = (s.heads, s.queries, s.keys, s.dim, s.valueDim)
        let items = s.batch * h
        /// Asks for the next item's Q, K and V rows into L2 while this one computes. At batch 8
        /// MiniLM's Q, K and V (4.7 MB) are in L3, and each head's rows are 128-byte runs 1.5 KB
        /// apart, which the hardware prefetcher does not follow: 38 µs a (batch, head) against 33
        /// at batch 1, where they fit L2; with the prefetch, 35.
        func prefetch(_ item: Int) {
            let b = item / h, hd = item % h
            let lines = (d * MemoryLayout<Float>.size + 63) / 64, vLines = (dv * MemoryLayout<Float>.size + 63) / 64
            for i in 0..<sq { petrel_prefetch_l2(q + (b * sq + i) * h * d + hd * d, lines) }
            for j in 0..<skv {
                petrel_prefetch_l2(k + (b * skv + j) * h * d + hd * d, lines)
                petrel_prefetch_l2(v + (b * skv + j) * h * dv + hd * dv, vLines)
            }
        }
        func item(_ slot: Int, _ item: Int) {
            let b = item / h, hd = item % h
            if item + 1 < items { prefetch(item + 1) }
            let scores = scratch + slot * sq * skv
            Gemm.sgemm(m: sq, n: skv, k: d, alpha: scale, a: q + b * sq * h * d + hd * d, lda: h * d, transA: false,
                       b: k + b * skv * h * d + hd * d, ldb: h * d, transB: true, c: scores, ldc: skv)
            // The mask is added while the row max is taken, and the rows are left unnormalised: the
            // 1/Σ of each row scales its dv outputs after the second product instead of its skv
            // scores (a pass over 16 K floats per head instead of 4 K at MiniLM's shapes).
            withUnsafeTemporaryAllocation(of: Float.self, capacity: sq) { inv in
                let vk = KernelTable.current.vector, invSum = inv.baseAddress!
                var maskRows: UnsafePointer<Float>? = nil, rowStride = 0, keyStride = 0
                if let mask {
                    maskRows = mask.base + b * mask.strides.batch + hd * mask.strides.head
                    (rowStride, keyStride) = (mask.strides.query, mask.strides.key)
                }
                vk.softmaxNumerators(scores, sq, skv, maskRows, rowStride, keyStride, invSum)
                let o = out + b * sq * h * dv + hd * dv
                Gemm.sgemm(m: sq, n: dv, k: skv, a: scores, lda: skv, transA: false,
                           b: v + b * skv * h * dv + hd * dv, ldb: h * dv, transB: false, c: o, ldc: h * dv)
                for i in 0..<sq { vk.scaleShift(o + i * h * dv, o + i * h * dv, dv, invSum[i], 0) }
            }
        }
        let slots = pool == nil ? 1 : slots(s, threads: pool!.threads)
        if slots == 1 { for i in 0..<items { item(0, i) } } else { pool!.parallelClaim(items, slots: slots, item) }
    }
}
