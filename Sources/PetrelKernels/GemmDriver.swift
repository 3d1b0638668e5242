import CPetrelMicrokernels
#if canImport(Glibc)
import Glibc
#endif

/// The B operand as the driver sees it: row-major (optionally transposed) or pre-packed in
/// `PackedBLayout` (panels of K×NR, so a KC slice of panel j starts at `ptr + (j·K + k0)·NR`).
struct GemmBOperand {
    var ptr: UnsafePointer<Float>
    var ld: Int
    var trans: Bool
    var prepacked: Bool
}

/// Per-thread scratch for packed A and B: grows, never shrinks, freed at thread exit. Avoids a
/// malloc + page faults per call (a fresh 4 MB B block costs ~250 µs of faults, 10 % of a 256³ GEMM).
enum GemmScratch {
    static let key: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k) { p in free(p) }
        return k
    }()
    static let header = 64

    /// `count` floats, 64-byte aligned, valid until the next call on this thread.
    static func floats(_ count: Int) -> UnsafeMutablePointer<Float> {
        let need = header + count * MemoryLayout<Float>.stride
        if let p = pthread_getspecific(key), p.load(as: Int.self) >= need {
            return (p + header).assumingMemoryBound(to: Float.self)
        }
        if let old = pthread_getspecific(key) { free(old) }
        var raw: UnsafeMutableRawPointer?
        let cap = max(need, 1 << 16)
        guard posix_memalign(&raw, 64, cap) == 0, let p = raw else { fatalError("GEMM scratch: out of memory") }
        p.storeBytes(of: cap, as: Int.self)
        pthread_setspecific(key, p)
        return (p + header).assumingMemoryBound(to: Float.self)
    }
}

@inline(__always) func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }
@inline(__always) func roundUp(_ a: Int, _ b: Int) -> Int { ceilDiv(a, b) * b }
/// Splits `total` into equal blocks of at most `maxBlock` (rounded up to `unit`): K = 300 with KC 256
/// becomes 2×150, not 256 + 44 (a thin last pass runs the microkernel far below peak).
@inline(__always) func balancedBlock(_ total: Int, max maxBlock: Int, unit: Int) -> Int {
    let blocks = ceilDiv(total, maxBlock)
    return min(roundUp(ceilDiv(total, blocks), unit), roundUp(maxBlock, unit))
}

/// Packs rows [i0, i0+mb) × columns [p0, p0+kb) of op(A) into MR-row panels: panel q holds, for each
/// k, MR consecutive values (rows past mb zero). Both orientations read the source along its
/// contiguous axis in long runs (a strided walk down 4 KB-apart rows thrashes one L1 set and the
/// prefetcher: measured 2.3 ns/float, against ~0.3 with these loop orders).
@inline(never)
func gemmPackA(_ a: UnsafePointer<Float>, lda: Int, trans: Bool, i0: Int, mb: Int, p0: Int, kb: Int,
               mr: Int, into dst: UnsafeMutablePointer<Float>) {
    let fullPanels = mb / mr
    let tail = mb - fullPanels * mr
    if !trans {
        for q in 0..<fullPanels {
            let src = a + (i0 + q * mr) * lda + p0
            var d = dst + q * mr * kb
            if mr == 6 && simdPacking {
                petrel_pack_a6_avx2(src, lda, kb, d)
            } else {
                for p in 0..<kb {
                    var s = src + p
                    for ii in 0..<mr { d[ii] = s.pointee; s += lda }
                    d += mr
                }
            }
        }
        if tail > 0 {
            let src = a + (i0 + fullPanels * mr) * lda + p0
            var d = dst + fullPanels * mr * kb
            for p in 0..<kb {
                for ii in 0..<tail { d[ii] = src[ii * lda + p] }
                for ii in tail..<mr { d[ii] = 0 }
                d += mr
            }
        }
    } else {
        // A stored K×M: row p of the source is contiguous in i; scatter it over the panels.
        let panelStride = mr * kb
        for p in 0..<kb {
            let src = a + (p0 + p) * lda + i0
            var d = dst + p * mr
            var s = src
            for _ in 0..<fullPanels {
                for ii in 0..<mr { d[ii] = s[ii] }
                d += panelStride; s += mr
            }
            if tail > 0 {
                for ii in 0..<tail { d[ii] = s[ii] }
                for ii in tail..<mr { d[ii] = 0 }
            }
        }
    }
}

/// The AVX2 packing kernels (8×8 register transposes) serve the 6-row A and 16-column B panels.
/// MiniLM batch 8: scalar packing was 8 % of the inference (A of every Dense, and the transposed
/// K of every attention product).
let simdPacking = KernelTable.current.isa >= .avx2

/// Packs op(B) rows [p0, p0+kb) × panels [panels) of NR columns starting at column j0 into `dst`
/// with panel stride `panelStride` (each panel kb×NR row-major, columns past n zero). Row-major B is
/// walked row by row (one sequential read of the row segment, NR-float runs written per panel);
/// transposed B panel by panel (each source row is a contiguous run in k).
@inline(never)
func gemmPackB(_ b: UnsafePointer<Float>, ldb: Int, trans: Bool, n: Int, j0: Int, p0: Int, kb: Int,
               nr: Int, panels: Range<Int>, into dst: UnsafeMutablePointer<Float>, panelStride: Int) {
    if panels.isEmpty { return }
    // Panels entirely inside N, then at most one partial panel.
    let lastFull = min(panels.upperBound, (n - j0) / nr)
    let full = panels.lowerBound..<max(panels.lowerBound, lastFull)
    if !trans && nr == 16 {
        // One 64-byte vector per panel row: the element loop paid its aliasing checks per row
        // (1 % of MiniLM, packing V in every attention head).
        for p in 0..<kb {
            let src = b + (p0 + p) * ldb + j0
            for q in full {
                let row = UnsafeRawPointer(src + q * nr).loadUnaligned(as: SIMD16<Float>.self)
                UnsafeMutableRawPointer(dst + q * panelStride + p * nr).storeBytes(of: row, as: SIMD16<Float>.self)
            }
        }
    } else if !trans {
        for p in 0..<kb {
            let src = b + (p0 + p) * ldb + j0
            for q in full {
                let s = src + q * nr, d = dst + q * panelStride + p * nr
                for jj in 0..<nr { d[jj] = s[jj] }
            }
        }
    } else if nr == 16 && simdPacking {
        for q in full { petrel_pack_bt16_avx2(b + (j0 + q * nr) * ldb + p0, ldb, kb, dst + q * panelStride) }
    } else {
        for q in full {
            let d = dst + q * panelStride
            for jj in 0..<nr {
                let s = b + (j0 + q * nr + jj) * ldb + p0
                var dp = d + jj
                for p in 0..<kb { dp.pointee = s[p]; dp += nr }
            }
        }
    }
    if full.upperBound < panels.upperBound {  // the zero-padded last panel
        let q = full.upperBound
        let col = j0 + q * nr
        let cols = n - col
        let d = dst + q * panelStride
        for p in 0..<kb {
            let dp = d + p * nr
            for jj in 0..<cols { dp[jj] = trans ? b[(col + jj) * ldb + p0 + p] : b[(p0 + p) * ldb + col + jj] }
            for jj in cols..<nr { dp[jj] = 0 }
        }
    }
}

/// Bias + activation on an mt×nt tile of C whose top-left element is C[row0, col0], run right after
/// the tile's last microkernel call while it is in L1.
@inline(never)
func gemmEpilogueTile(_ kern: GemmKernels, _ e: GemmEpilogue, c: UnsafeMutablePointer<Float>, ldc: Int,
                      row0: Int, col0: Int, mt: Int, nt: Int) {
    let bias = e.biasPointers(row0: row0, col0: col0)
    // Bias and the piecewise-linear activations (and GELU where the table's epilogue has it) in
    // one vector pass (C, ISA-specific); the other transcendental ones through the vector kernels:
    // scalar erff made a MiniLM FFN (Dense+Gelu, 128×1536) 2.8× slower than its GEMM.
    if let code = kern.epilogueCode(e.activation) {
        kern.epilogue(c, ldc, mt, nt, bias.col, bias.row, code.act, code.p0, code.p1)
        return
    }
    if e.bias != nil { kern.epilogue(c, ldc, mt, nt, bias.col, bias.row, 0, 0, 0) }
    // The vector kernel is picked once per tile: through `Elementwise.unaryRange` each of the
    // tile's rows (16 floats) paid the op switch and the table lookup.
    let v = KernelTable.current.vector
    let f: VectorKernels.Unary
    switch e.activation {
    case .gelu: f = v.gelu
    case .sigmoid: f = v.sigmoid
    case .tanh: f = v.tanh
    case .none, .relu, .clip, .leakyRelu: return  // in the C epilogue above (`epilogueCode`)
    }
    for i in 0..<mt { f(c + i * ldc, c + i * ldc, nt) }
}

extension GemmEpilogue {
    @inline(__always) var isIdentity: Bool { bias == nil && activation == .none }
}

extension Gemm {
    /// Below this many multiply-adds (counted in whole MR × NR tiles) a product runs on the calling
    /// thread: a parallel region costs ~1–3 µs when the workers are spinning (tens when they
    /// sleep), and 2^19 tile FMAs take ~5 µs on one Zen 4 core. digits-cnn's classifier at batch 64
    /// (64 × 10 × 512, 540 k tile FMAs) took 13–15 µs on one thread of two, ~7 % of the model.
    static let parallelThresholdFMAs = 1 << 19
    /// M = 1 products are memory bound on B; split columns over threads from this size of B.
    static let gemvParallelThreshold = 1 << 17
    /// Pre-packed products hand out each row block's panels in this many groups: fine enough that
    /// a thread left waiting for a slowed one takes over most of its remaining work, while a
    /// group (MiniLM: 2–6 panels of 16 columns) still runs for microseconds per claim.
    static let claimGroupsPerBlock = 16

    /// The GEMM driver (BLIS loop order): jc (NC columns, L3) → pc (KC depth, pack B) → per thread
    /// ic (MC rows, pack A, L2) → jr (NR panel, L1) → ir (MR rows) → microkernel, epilogue on the
    /// tile after its last KC pass. Threads split the MC loop (rows) when there are enough MR panels,
    /// else the NR panels; B is packed cooperatively (one region), then computed (a second region).
    /// Pre-packed B (a model's weights) needs no packing pass, so there the order is jc → per
    /// thread ic → pc → jr → ir, in one region.
    static func drive(_ kern: GemmKernels, m: Int, n: Int, k: Int, alpha: Float,
                      a: UnsafePointer<Float>, lda: Int, transA: Bool, b: GemmBOperand,
                      beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int,
                      epilogue: GemmEpilogue, pool: ThreadPool?) {
        if m <= 0 || n <= 0 { return }
        if k <= 0 || alpha == 0 {  // BLAS semantics: A·B not evaluated (no NaN from 0·Inf)
            for i in 0..<m {
                let r = c + i * ldc
                for j in 0..<n { r[j] = beta == 0 ? 0 : beta * r[j] }
            }
            if !epilogue.isIdentity { gemmEpilogueTile(kern, epilogue, c: c, ldc: ldc, row0: 0, col0: 0, mt: m, nt: n) }
            return
        }
        // The microkernel's work: whole MR × NR tiles (an N = 10 classifier costs as much as N = 16).
        let tiles = roundUp(m, kern.mr).multipliedReportingOverflow(by: roundUp(n, kern.nr)).partialValue
        let fmas = tiles.multipliedReportingOverflow(by: k).partialValue
        let threads = (pool?.threads ?? 1) > 1 && fmas >= parallelThresholdFMAs ? pool!.threads : 1

        if m == 1 && (b.prepacked || !b.trans) {
            gemv(kern, n: n, k: k, alpha: alpha, a: a, lda: lda, transA: transA, b: b, beta: beta,
                 c: c, epilogue: epilogue, pool: n * k >= gemvParallelThreshold ? pool : nil)
            return
        }

        let mr = kern.mr, nr = kern.nr
        let ncb = balancedBlock(n, max: kern.nc, unit: nr)
        let panelsM = ceilDiv(m, mr)
        // Split rows when each thread gets several MR panels, else split the NR panels of a block.
        let splitRows = threads == 1 || panelsM >= 4 * threads || panelsM >= ceilDiv(ncb, nr)
        // Row range of a thread: whole MR panels, balanced; each thread's MC is balanced again.
        let rowsPerThread = splitRows ? ceilDiv(panelsM, threads) * mr : roundUp(m, mr)
        // Narrow or shallow products read row-major A in place (no packing): a packed A block is
        // reused once per NR panel, so with few panels (MLP layers; MiniLM's N = 384 projections,
        // whose Dense ops ran 2–3 % faster in place than packed) packing does not pay for itself.
        // With many panels and a deep K, packed A streams better (1024³: 75 vs 56 GFLOP/s in place
        // on Zen 3; on Zen 4, 1024×1536×1536 95 vs 104). Up to K = 384 in place measured the same
        // as packed at N = 1536 and lets the row-A kernel apply bias + GELU in registers: MiniLM's
        // Dense+Gelu (128×1536×384) 2 % faster than a packed GEMM with a separate epilogue pass.
        let rowA = transA || (n > 24 * nr && k > 384) ? nil : kern.microkernelRowA
        // KC bounds the B panel and A rows that share L1 (K = 384 runs as two passes of 192). With
        // an activation fused in place, up to K = 384 runs as one pass instead, so each C tile is
        // activated in registers once rather than stored, reloaded and activated: MiniLM's
        // Dense+Gelu (128×1536×384) 2 % faster on Zen 4. Without one, the single pass's 24 KB B
        // panel crowds L1: its bias-only Dense (N = 384) ran 1 % slower at batch 1, 3 % at batch 8.
        let onePass = rowA != nil && k <= 384 && epilogue.activation != .none
        let kcb = balancedBlock(k, max: onePass ? 384 : kern.kc, unit: 1)
        // MC bounds a packed A block (L2). In place, A needs no block, but each MC block streams
        // every B panel again, and a model's weights come from memory: one block of up to 256 KB
        // of A rows (MiniLM's 128 × 384 is 192 KB) streams each weight once. Measured on Zen 4
        // with cold weights, 128 rows as one block against two of 66: 2–4 % faster.
        let mcMax = rowA == nil ? kern.mc : max(kern.mc, (256 << 10) / (kcb * MemoryLayout<Float>.size) / mr * mr)
        let mcb = balancedBlock(min(rowsPerThread, m), max: mcMax, unit: mr)
        let aStride = rowA == nil ? roundUp(mcb, mr) * kcb : 0
        let bFloats = b.prepacked ? 0 : ncb * kcb
        let scratch = GemmScratch.floats(aStride * threads + bFloats + 16)
        let bBuf = scratch + aStride * threads
        let hasEpi = !epilogue.isIdentity
        let ukr = kern.microkernel
        // Bias + relu/clip/leaky (and GELU on AVX2) fused into the row-A kernel's store on the last K pass.
        let fused = hasEpi && rowA != nil ? kern.epilogueCode(epilogue.activation) : nil
        let rowAEpi = kern.microkernelRowAEpilogue

        /// Rows [rowLo, rowHi) × panels [panLo, panHi) of the jc block's KC pass at `pc`, on thread `t`.
        /// `after`: the pre-packed weight lines to prefetch during the last panel (the next slice
        /// the caller will run), where the next panel of this call is not it.
        func block(_ t: Int, jc: Int, nb: Int, pc: Int, kb: Int, bBase: UnsafePointer<Float>, bPanelStride: Int,
                   rowLo: Int, rowHi: Int, panLo: Int, panHi: Int, after: UnsafePointer<Float>? = nil) {
            let betaPass: Float = pc == 0 ? beta : 1
            let lastPass = pc + kb == k
            let aBuf = scratch + t * aStride
            var ic = rowLo
            while ic < rowHi {
                let mb = min(mcb, rowHi - ic)
                if rowA == nil { gemmPackA(a, lda: lda, trans: transA, i0: ic, mb: mb, p0: pc, kb: kb, mr: mr, into: aBuf) }
                for q in panLo..<panHi {
                    let col = q * nr
                    let nt = min(nr, nb - col)
                    let bp = bBase + q * bPanelStride
                    // A pre-packed weight streams from memory (a transformer's layers do not fit L3):
                    // the next panel's kb lines (one per k: NR floats = 64 bytes) are asked
                    // for, a share per row tile. A B block packed here is already in cache.
                    let next = !b.prepacked ? nil : q + 1 < panHi ? bp + bPanelStride : after
                    let panelLines = kb * nr * MemoryLayout<Float>.size / 64
                    let share = ceilDiv(panelLines, ceilDiv(mb, mr))
                    var ir = 0
                    while ir < mb {
                        let mt = min(mr, mb - ir)
                        if let next {
                            let first = ir / mr * share
                            let lines = min(share, panelLines - first)
                            if lines > 0 { petrel_prefetch_l2(next + first * 16, lines) }   // 16 floats a line
                        }
                        let ct = c + (ic + ir) * ldc + jc + col
                        if lastPass, let f = fused, let rowAEpi {
                            let bias = epilogue.biasPointers(row0: ic + ir, col0: jc + col)
                            rowAEpi(kb, a + (ic + ir) * lda + pc, lda, bp, ct, ldc, mt, nt, alpha, betaPass,
                                    bias.col, bias.row, f.act, f.p0, f.p1)
                            ir += mr
                            continue
                        }
                        if let rowA { rowA(kb, a + (ic + ir) * lda + pc, lda, bp, ct, ldc, mt, nt, alpha, betaPass) }
                        else { ukr(kb, aBuf + ir * kb, bp, ct, ldc, mt, nt, alpha, betaPass) }
                        if lastPass && hasEpi {
                            gemmEpilogueTile(kern, epilogue, c: ct, ldc: ldc, row0: ic + ir, col0: jc + col, mt: mt, nt: nt)
                        }
                        ir += mr
                    }
                }
                ic += mb
            }
        }
        /// Thread t's share of a jc block: its rows (all panels), or its panels (all rows).
        func share(_ t: Int, panelsN: Int) -> (rows: Range<Int>, panels: Range<Int>) {
            if splitRows {
                let lo = min(m, t * rowsPerThread)
                return (lo..<min(m, lo + rowsPerThread), 0..<panelsN)
            }
            return (0..<m, (panelsN * t / threads)..<(panelsN * (t + 1) / threads))
        }

        var jc = 0
        while jc < n {
            let nb = min(ncb, n - jc)
            let panelsN = ceilDiv(nb, nr)
            if b.prepacked {
                // Nothing shared to pack, so one parallel region runs the whole jc block. Its work
                // is a list of items, (row block, panel group), in the order one thread would run
                // it; slot t owns row share t's items and runs them front to back, then takes
                // other shares' items from their backs (`parallelClaim`). So in the usual case each
                // thread computes the rows a fixed split gives it, streaming each weight once per
                // row block; a vCPU the host slows hands its last groups to the other thread
                // instead of holding the region up. Within an item each panel runs its K passes
                // back to back: its C tile stays in L1 across them, and the weight streams in
                // memory order, so the prefetch of the next slice is the next 64 · kb bytes.
                let bBlock = b.ptr + (jc / nr) * k * nr
                let shares = splitRows ? ceilDiv(m, rowsPerThread) : 1
                let shareRows = splitRows ? rowsPerThread : m
                let blocksPerShare = ceilDiv(shareRows, mcb)
                // A packed A block would be re-packed once per group, so packed A takes whole blocks.
                let group = rowA == nil ? panelsN : ceilDiv(panelsN, claimGroupsPerBlock)
                let groups = ceilDiv(panelsN, group)
                // Split panels (few rows): the one share's items are divided between the slots.
                let items = shares * blocksPerShare * groups
                let run = { (t: Int, item: Int) in
                    let blk = item / groups, g = item % groups
                    let share = blk / blocksPerShare
                    let rowLo = share * shareRows + (blk % blocksPerShare) * mcb
                    let rowHi = min(m, share * shareRows + shareRows, rowLo + mcb)
                    if rowLo >= rowHi { return }
                    let panHi = min(panelsN, (g + 1) * group)
                    for q in (g * group)..<panHi {
                        let panel = bBlock + q * k * nr
                        var pc = 0
                        while pc < k {
                            let kb = min(kcb, k - pc)
                            let after = pc + kb < k || q + 1 < panelsN ? panel + (pc + kb) * nr : nil
                            block(t, jc: jc, nb: nb, pc: pc, kb: kb, bBase: bBlock + pc * nr, bPanelStride: k * nr,
                                  rowLo: rowLo, rowHi: rowHi, panLo: q, panHi: q + 1, after: after)
                            pc += kb
                        }
                    }
                }
                if threads == 1 { for i in 0..<items { run(0, i) } } else { pool!.parallelClaim(items, slots: threads, run) }
                jc += nb
                continue
            }
            var pc = 0
            while pc < k {
                let kb = min(kcb, k - pc)
                let bPanelStride = kb * nr
                if threads == 1 {
                    gemmPackB(b.ptr, ldb: b.ld, trans: b.trans, n: n, j0: jc, p0: pc, kb: kb, nr: nr,
                              panels: 0..<panelsN, into: bBuf, panelStride: bPanelStride)
                } else {
                    pool!.parallelFor(threads) { t in
                        let lo = panelsN * t / threads, hi = panelsN * (t + 1) / threads
                        gemmPackB(b.ptr, ldb: b.ld, trans: b.trans, n: n, j0: jc, p0: pc, kb: kb, nr: nr,
                                  panels: lo..<hi, into: bBuf, panelStride: bPanelStride)
                    }
                }
                let work = { (t: Int) in
                    let (rows, panels) = share(t, panelsN: panelsN)
                    if rows.isEmpty || panels.isEmpty { return }
                    block(t, jc: jc, nb: nb, pc: pc, kb: kb, bBase: UnsafePointer(bBuf), bPanelStride: bPanelStride,
                          rowLo: rows.lowerBound, rowHi: rows.upperBound, panLo: panels.lowerBound, panHi: panels.upperBound)
                }
                if threads == 1 { work(0) } else { pool!.parallelFor(threads, work) }
                pc += kb
            }
            jc += nb
        }
    }

    /// M = 1: y = alpha·x·op(B) + beta·y straight from B (row-major or pre-packed panels), no packing.
    static func gemv(_ kern: GemmKernels, n: Int, k: Int, alpha: Float,
                     a: UnsafePointer<Float>, lda: Int, transA: Bool, b: GemmBOperand,
                     beta: Float, c: UnsafeMutablePointer<Float>, epilogue: GemmEpilogue, pool: ThreadPool?) {
        var x = a
        if transA && lda != 1 {  // op(A) = Aᵀ with A K×1: the row is strided; gather it.
            let buf = GemmScratch.floats(k)
            for p in 0..<k { buf[p] = a[p * lda] }
            x = UnsafePointer(buf)
        }
        let threads = pool?.threads ?? 1
        // Column chunks: whole panels when pre-packed, multiples of 32 otherwise.
        let unit = b.prepacked ? kern.nr : 32
        let units = ceilDiv(n, unit)
        let chunks = min(threads, units)
        // One chunk is called directly: a closure here would cost a heap context per call, and
        // a batch-1 MLP layer is only a few microseconds.
        if chunks <= 1 {
            gemvColumns(kern, 0..<n, k: k, alpha: alpha, x: x, b: b, beta: beta, c: c, epilogue: epilogue)
            return
        }
        pool!.parallelFor(chunks) { t in
            let lo = units * t / chunks * unit, hi = min(n, units * (t + 1) / chunks * unit)
            if lo < hi { gemvColumns(kern, lo..<hi, k: k, alpha: alpha, x: x, b: b, beta: beta, c: c, epilogue: epilogue) }
        }
    }

    /// Output columns `cols` of a GEMV (`cols.lowerBound` on a panel boundary when pre-packed).
    private static func gemvColumns(_ kern: GemmKernels, _ cols: Range<Int>, k: Int, alpha: Float, x: UnsafePointer<Float>,
                                    b: GemmBOperand, beta: Float, c: UnsafeMutablePointer<Float>, epilogue: GemmEpilogue) {
        let lo = cols.lowerBound, hi = cols.upperBound, nr = kern.nr
        if b.prepacked {
            var col = lo
            if let pairs = kern.gemvPanelPairs, nr == 16, (hi - lo) / 32 > 0 {
                let n = (hi - lo) / 32
                pairs(k, n, x, b.ptr + (lo / nr) * k * nr, c + lo, alpha, beta)
                col += 32 * n
            }
            while col < hi {
                kern.gemv(k, min(nr, hi - col), x, b.ptr + (col / nr) * k * nr, nr, c + col, alpha, beta)
                col += nr
            }
        } else {
            kern.gemv(k, hi - lo, x, b.ptr + lo, b.ld, c + lo, alpha, beta)
        }
        if !epilogue.isIdentity {
            gemmEpilogueTile(kern, epilogue, c: c + lo, ldc: 0, row0: 0, col0: lo, mt: 1, nt: hi - lo)
        }
    }
}
