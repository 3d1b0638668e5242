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
}

/// B pre-packed in the layout of the current kernel table (see `Gemm.packB`).
/// Layout: ceil(N/NR) column panels, each K×NR row-major and zero-padded in N.
public struct PackedBLayout: Equatable, Sendable {
    public var k: Int, n: Int, nr: Int
    public init(k: Int, n: Int, nr: Int) { self.k = k; self.n = n; self.nr = nr }
    public var panels: Int { (n + nr - 1) / nr }
    public var floatCount: Int { panels * k * nr }
}
