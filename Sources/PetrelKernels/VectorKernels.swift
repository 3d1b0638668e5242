import CPetrelMicrokernels

/// Vector (elementwise / transcendental / row) entries of the dispatch table, filled once from the
/// ISA. `.reference` is portable C over libm; `.avx2` and above use the AVX2+FMA polynomials
/// (AVX-512 machines run the AVX2 family: these kernels are bound by the polynomial, not width).
public struct VectorKernels: Sendable {
    public typealias Unary = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int) -> Void
    public typealias RowReduce = @convention(c) (UnsafePointer<Float>?, Int) -> Float
    public typealias ExpShiftSum = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Float) -> Float
    public typealias ScaleShift = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Float, Float) -> Void
    public typealias Rows = @convention(c) (UnsafePointer<Float>?, UnsafeMutablePointer<Float>?, Int, Int) -> Void
    public typealias SoftmaxNumerators = @convention(c) (UnsafeMutablePointer<Float>?, Int, Int, UnsafePointer<Float>?, Int, Int,
                                                         UnsafeMutablePointer<Float>?) -> Void
    public typealias LayerNormRow = @convention(c) (UnsafePointer<Float>?, UnsafePointer<Float>?, UnsafePointer<Float>?,
                                                    UnsafeMutablePointer<Float>?, Int, Float,
                                                    UnsafeMutablePointer<Float>?, UnsafeMutablePointer<Float>?) -> Void

    public let exp, erf, tanh, sigmoid, gelu, geluTanh, log: Unary
    /// Row max (-inf for an empty or all -inf row) and row sum.
    public let max, sum: RowReduce
    /// y = exp(x - shift), returning Σy: the softmax numerator and denominator in one pass.
    public let expShiftSum: ExpShiftSum
    /// y = x·s + t.
    public let scaleShift: ScaleShift
    /// Softmax of (x, y, rows, n): `rows` contiguous rows of n.
    public let softmaxRows: Rows
    /// (scores, rows, n, mask, maskRowStride, maskKeyStride, invSum): see `petrel_vec.h`.
    public let softmaxNumerators: SoftmaxNumerators
    public let layerNormRow: LayerNormRow

    init(isa: ISA) {
        #if arch(x86_64)
        let fast = isa >= .avx2
        #else
        let fast = false
        #endif
        log = petrel_vec_log_ref
        if fast {
            #if arch(x86_64)
            exp = petrel_vec_exp_avx2; erf = petrel_vec_erf_avx2; tanh = petrel_vec_tanh_avx2
            sigmoid = petrel_vec_sigmoid_avx2; gelu = petrel_vec_gelu_avx2; geluTanh = petrel_vec_gelu_tanh_avx2
            max = petrel_vec_max_avx2; sum = petrel_vec_sum_avx2; expShiftSum = petrel_vec_exp_shift_sum_avx2
            scaleShift = petrel_vec_scale_shift_avx2; layerNormRow = petrel_vec_layernorm_row_avx2
            softmaxRows = petrel_vec_softmax_rows_avx2; softmaxNumerators = petrel_vec_softmax_numerators_avx2
            return
            #endif
        }
        exp = petrel_vec_exp_ref; erf = petrel_vec_erf_ref; tanh = petrel_vec_tanh_ref
        sigmoid = petrel_vec_sigmoid_ref; gelu = petrel_vec_gelu_ref; geluTanh = petrel_vec_gelu_tanh_ref
        max = petrel_vec_max_ref; sum = petrel_vec_sum_ref; expShiftSum = petrel_vec_exp_shift_sum_ref
        scaleShift = petrel_vec_scale_shift_ref; layerNormRow = petrel_vec_layernorm_row_ref
        softmaxRows = petrel_vec_softmax_rows_ref; softmaxNumerators = petrel_vec_softmax_numerators_ref
    }
}
