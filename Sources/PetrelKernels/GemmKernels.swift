/// GEMM entries of the dispatch table. (Skeleton: reference path only; the SGEMM work replaces it.)
public struct GemmKernels: Sendable {
    public let nr: Int
    init(isa: ISA) { nr = 16 }
}
