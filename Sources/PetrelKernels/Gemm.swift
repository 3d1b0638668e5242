/// Fused activation applied by GEMM (and other kernels) to each output element after the bias.
public enum Activation: Equatable, Sendable {
    case none
    case relu
    case leakyRelu(alpha: Float)
    case clip(min: Float, max: Float)
    case sigmoid
    case tanh
    /// GELU with the exact erf form: 0.5·x·(1 + erf(x/√2)).
    case gelu
}

/// What GEMM does to C after the product: C = alpha·A·B + beta·C, then + bias, then activation.
public struct GemmEpilogue {
    public var bias: UnsafePointer<Float>?
    /// true: bias[i] is added to row i (conv, output channel per row); false: bias[j] to column j.
    public var biasPerRow: Bool
    public var activation: Activation
    public init(bias: UnsafePointer<Float>? = nil, biasPerRow: Bool = false, activation: Activation = .none) {
        self.bias = bias; self.biasPerRow = biasPerRow; self.activation = activation
    }
    public static let none = GemmEpilogue()

    /// The bias of the tile whose top-left element is (row0, col0), as the C kernels take it:
    /// per row or per column, the other nil.
    func biasPointers(row0: Int, col0: Int) -> (col: UnsafePointer<Float>?, row: UnsafePointer<Float>?) {
        guard let bias else { return (nil, nil) }
        return biasPerRow ? (nil, bias + row0) : (bias + col0, nil)
    }
}

extension Activation {
    /// The C kernels' code for a piecewise-linear activation (0 none, 1 relu, 2 clip to [p0, p1],
    /// 3 leaky relu with slope p0); nil for the transcendental ones, which run as a vector pass.
    var kernelCode: (act: Int32, p0: Float, p1: Float)? {
        switch self {
        case .none: (0, 0, 0)
        case .relu: (1, 0, 0)
        case .clip(let lo, let hi): (2, lo, hi)
        case .leakyRelu(let a): (3, a, 0)
        case .sigmoid, .tanh, .gelu: nil
        }
    }
}

extension GemmKernels {
    /// `kernelCode`, plus GELU (4) where this table's GEMM epilogues compute it in registers: the
    /// separate vector pass over each tile (one call per 16-float row) cost MiniLM's FFN about
    /// 3 % of the model at batch 8. Convolutions keep `kernelCode`.
    func epilogueCode(_ a: Activation) -> (act: Int32, p0: Float, p1: Float)? {
        if case .gelu = a, epilogueComputesGelu { return (4, 0, 0) }
        return a.kernelCode
    }
}

/// B pre-packed in the layout of the current kernel table (see `Gemm.packB`).
/// Layout: ceil(N/NR) column panels, each K×NR row-major and zero-padded in N.
public struct PackedBLayout: Equatable, Sendable {
    public var k: Int, n: Int, nr: Int
    public init(k: Int, n: Int, nr: Int) { self.k = k; self.n = n; self.nr = nr }
    public var panels: Int { (n + nr - 1) / nr }
    public var floatCount: Int { panels * k * nr }
}
