#if canImport(Glibc)
import Glibc
#endif

/// Elementwise fp32 kernels. Transcendentals go through the dispatch table's C kernels (AVX2
/// polynomials: MiniLM's GELU on 128×1536 per layer is decided here); cheap ops are Swift loops the
/// optimiser vectorises. Every kernel runs in place when x == y.
public enum Elementwise {}

/// Unary fp32 ops (ONNX names; parameters as the ONNX attributes).
public enum UnaryOp: Equatable, Sendable {
    case identity, relu, leakyRelu(alpha: Float), clip(min: Float, max: Float)
    case sigmoid, hardSigmoid(alpha: Float, beta: Float), hardSwish
    case tanh, erf, gelu, geluTanh, exp, log, sqrt, reciprocal, neg, abs, floor, ceil, round, sign
    case softplus, softsign, elu(alpha: Float), selu(alpha: Float, gamma: Float), celu(alpha: Float)
    case mish, silu, sin, cos
}

extension UnaryOp {
    /// Scalar reference semantics (ONNX); the vector paths must match it.
    public func apply(_ x: Float) -> Float {
        switch self {
        case .identity: return x
        case .relu: return x > 0 ? x : 0
        case .leakyRelu(let a): return x >= 0 ? x : a * x
        case .clip(let lo, let hi): return Swift.min(Swift.max(x, lo), hi)
        case .sigmoid: return 1 / (1 + expf(-x))
        case .hardSigmoid(let a, let b): return Swift.max(0, Swift.min(1, a * x + b))
        case .hardSwish: return x * Swift.max(0, Swift.min(1, x / 6 + 0.5))
        case .tanh: return tanhf(x)
        case .erf: return erff(x)
        case .gelu: return 0.5 * x * (1 + erff(x * 0.70710678118654752))
        case .geluTanh: return 0.5 * x * (1 + tanhf(0.79788456080286536 * (x + 0.044715 * x * x * x)))
        case .exp: return expf(x)
        case .log: return logf(x)
        case .sqrt: return sqrtf(x)
        case .reciprocal: return 1 / x
        case .neg: return -x
        case .abs: return Swift.abs(x)
        case .floor: return floorf(x)
        case .ceil: return ceilf(x)
        case .round: return x.rounded(.toNearestOrEven)
        case .sign: return x > 0 ? 1 : (x < 0 ? -1 : (x.isNaN ? x : 0))
        case .softplus: return x > 20 ? x : log1pf(expf(x))
        case .softsign: return x / (1 + Swift.abs(x))
        case .elu(let a): return x >= 0 ? x : a * (expf(x) - 1)
        case .selu(let a, let g): return x > 0 ? g * x : g * (a * expf(x) - a)
        case .celu(let a): return Swift.max(0, x) + Swift.min(0, a * (expf(x / a) - 1))
        case .mish: return x * tanhf(x > 20 ? x : log1pf(expf(x)))
        case .silu: return x / (1 + expf(-x))
        case .sin: return sinf(x)
        case .cos: return cosf(x)
        }
    }
}

extension Elementwise {
    /// y[i] = op(x[i]) for i in 0..<count. Parallel over chunks when large.
    public static func unary(_ op: UnaryOp, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                             count: Int, pool: ThreadPool? = nil) {
        parallelRanges(count, grain: op.isCheap ? parallelGrain : parallelGrain / 8, pool: pool) { r in
            unaryRange(op, x: x + r.lowerBound, y: y + r.lowerBound, count: r.count)
        }
    }

    /// y = activation(x): the GEMM epilogue's semantics (`Activation.apply`) for whole tensors.
    public static func apply(_ a: Activation, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>,
                             count: Int, pool: ThreadPool? = nil) {
        unary(UnaryOp(a), x: x, y: y, count: count, pool: pool)
    }

    static func unaryRange(_ op: UnaryOp, x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, count n: Int) {
        let v = KernelTable.current.vector
        switch op {
        case .identity: if UnsafePointer(y) != x { y.update(from: x, count: n) }
        case .relu: for i in 0..<n { let t = x[i]; y[i] = t > 0 ? t : 0 }
        case .leakyRelu(let a): for i in 0..<n { let t = x[i]; y[i] = t >= 0 ? t : a * t }
        case .clip(let lo, let hi): for i in 0..<n { y[i] = Swift.min(Swift.max(x[i], lo), hi) }
        case .hardSigmoid(let a, let b): for i in 0..<n { y[i] = Swift.max(0, Swift.min(1, a * x[i] + b)) }
        case .hardSwish: for i in 0..<n { let t = x[i]; y[i] = t * Swift.max(0, Swift.min(1, t / 6 + 0.5)) }
        case .sigmoid: v.sigmoid(x, y, n)
        case .tanh: v.tanh(x, y, n)
        case .erf: v.erf(x, y, n)
        case .gelu: v.gelu(x, y, n)
        case .geluTanh: v.geluTanh(x, y, n)
        case .exp: v.exp(x, y, n)
        case .log: v.log(x, y, n)
        case .sqrt: for i in 0..<n { y[i] = x[i].squareRoot() }
        case .reciprocal: for i in 0..<n { y[i] = 1 / x[i] }
        case .neg: for i in 0..<n { y[i] = -x[i] }
        case .abs: for i in 0..<n { y[i] = Swift.abs(x[i]) }
        case .silu:
            // x·sigmoid(x): the vector sigmoid, then a multiply (y may alias x, so keep x first).
            var i = 0
            withUnsafeTemporaryAllocation(of: Float.self, capacity: 256) { t in
                while i < n {
                    let m = Swift.min(256, n - i)
                    v.sigmoid(x + i, t.baseAddress!, m)
                    for j in 0..<m { y[i + j] = x[i + j] * t[j] }
                    i += m
                }
            }
        default: for i in 0..<n { y[i] = op.apply(x[i]) }
        }
    }
}

extension UnaryOp {
    /// Ops a few cycles per element: worth a pool only for bigger arrays than transcendentals.
    var isCheap: Bool {
        switch self {
        case .identity, .relu, .leakyRelu, .clip, .hardSigmoid, .hardSwish, .neg, .abs, .reciprocal, .sqrt: return true
        default: return false
        }
    }

    /// The unary op with the same semantics as a fused activation.
    public init(_ a: Activation) {
        switch a {
        case .none: self = .identity
        case .relu: self = .relu
        case .leakyRelu(let alpha): self = .leakyRelu(alpha: alpha)
        case .clip(let lo, let hi): self = .clip(min: lo, max: hi)
        case .sigmoid: self = .sigmoid
        case .tanh: self = .tanh
        case .gelu: self = .gelu
        }
    }
}
