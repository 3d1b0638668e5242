/// Vector (elementwise / transcendental) entries of the dispatch table. (Skeleton.)
public struct VectorKernels: Sendable {
    init(isa: ISA) {}
}
