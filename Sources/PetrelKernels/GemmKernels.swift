import CPetrelMicrokernels

/// GEMM entries of the dispatch table, filled once per ISA: the C microkernels (see
/// `include/petrel_gemm.h`) plus the register tile and cache blocking the Swift driver uses with them.
///
/// Blocking (BLIS/Goto loop order jc→pc→ic→jr→ir): a KC×NR panel of B stays in L1 across the
/// MR-row panels of A, an MC×KC block of A stays in L2 across the NR panels of B, and a KC×NC block of
/// packed B sits in L3. Measured with `petrel bench sgemm` on the development machine (Zen 3 EPYC,
/// 32 KB L1d / 512 KB L2 per core, shared with parallel builds, so ±10 % noise): microkernel alone
/// 83–89 % of the 98–101 GFLOP/s measured peak at KC = 256 (KC 192/320/384 were not better); whole
/// 1×thread SGEMM 73–81 % at 256³–4096³.
public struct GemmKernels: Sendable {
    /// Register tile rows (rows of a packed A panel).
    public let mr: Int
    /// Register tile columns; also the panel width of `PackedBLayout` (persisted in compiled models).
    public let nr: Int
    /// Cache blocking: rows of A per L2 block, depth per pass, columns of B per L3 block.
    public private(set) var mc: Int, kc: Int, nc: Int
    /// MR×NR tile kernel: C = alpha·Â·B̂ + beta·C on an m×n (≤ MR×NR) tile.
    public let microkernel: petrel_sgemm_ukernel_fn
    /// The MR×NR kernel reading non-transposed A in place (no A packing), where the ISA has one.
    public let microkernelRowA: petrel_sgemm_ukernel_rowa_fn?
    /// The same with the bias + piecewise-linear activation epilogue fused into its store.
    public let microkernelRowAEpilogue: petrel_sgemm_ukernel_rowa_epi_fn?
    /// Row vector × row-major matrix (the M = 1 path).
    public let gemv: petrel_sgemv_fn
    /// Row vector × pairs of pre-packed panels (NR = 16 only), where the ISA has one.
    public let gemvPanelPairs: petrel_sgemv_panel_pairs_fn?
    /// Bias + simple activation on one output tile (see `petrel_gemm_epilogue_fn`).
    public let epilogue: petrel_gemm_epilogue_fn
    /// `epilogue` and `microkernelRowAEpilogue` also apply GELU (code 4) in registers.
    public let epilogueComputesGelu: Bool
    /// Peak FMA loop of this ISA (for the benchmark's % of peak).
    public let peakLoop: @convention(c) (Int, UnsafeMutablePointer<Float>?) -> Double

    init(isa: ISA) {
        self.init(defaultsFor: isa)
        // PETREL_GEMM_BLOCKING=MC,KC,NC overrides the blocking, for tuning on another machine.
        if let env = getenvString("PETREL_GEMM_BLOCKING") {
            let v = env.split(separator: ",").compactMap { Int($0) }
            if v.count == 3, v[0] >= mr, v[1] >= 1, v[2] >= nr {
                mc = v[0] / mr * mr; kc = v[1]; nc = v[2] / nr * nr
            }
        }
    }

    private init(defaultsFor isa: ISA) {
        switch isa {
        case .reference:
            mr = 4; nr = 16; mc = 64; kc = 256; nc = 2048
            microkernel = petrel_sgemm_ukernel_ref_4x16
            microkernelRowA = nil
            microkernelRowAEpilogue = nil
            gemv = petrel_sgemv_ref
            gemvPanelPairs = nil
            epilogue = petrel_gemm_epilogue_ref
            epilogueComputesGelu = false
            peakLoop = petrel_peak_fma_ref
        case .avx2:
            // 6×16: the largest tile whose accumulators (12 ymm) leave room for B and the A
            // broadcast in 16 registers. KC = 256: the 16 KB B panel plus the 6 KB A panel fit the
            // 32 KB L1. MC = 120 (120×256×4 = 120 KB of A in L2, well inside 512 KB with B
            // panels streaming through). NC = 4080 = 255·16: B block ≤ 4 MB, in L3.
            mr = 6; nr = 16; mc = 120; kc = 256; nc = 4080
            microkernel = petrel_sgemm_ukernel_avx2_6x16
            microkernelRowA = petrel_sgemm_ukernel_rowa_avx2_6x16
            microkernelRowAEpilogue = petrel_sgemm_ukernel_rowa_epi_avx2_6x16
            gemv = petrel_sgemv_avx2
            gemvPanelPairs = petrel_sgemv_panel_pairs_avx2
            epilogue = petrel_gemm_epilogue_avx2
            epilogueComputesGelu = true
            peakLoop = petrel_peak_fma_avx2
        case .avx512:
            // 14×32: 28 zmm accumulators of 32. Blocking after the design note's 90 % of peak with
            // MC/KC/NC 96/384/4096 on a 6×32 kernel (MC rounded to a multiple of 14).
            mr = 14; nr = 32; mc = 98; kc = 384; nc = 4096
            microkernel = petrel_sgemm_ukernel_avx512_14x32
            microkernelRowA = nil
            microkernelRowAEpilogue = nil
            gemv = petrel_sgemv_avx2
            gemvPanelPairs = nil  // NR = 32 panels
            epilogue = petrel_gemm_epilogue_avx2
            epilogueComputesGelu = true
            peakLoop = petrel_peak_fma_avx512
        }
    }
}
