import PetrelKernels

// MatMul, Gemm and Petrel's fused Dense (constant weights pre-packed at compile time).

extension Activation {
    /// The activation a fused node carries in its attributes (`activation`, `alpha`, `min`, `max`).
    init(attributes a: [String: Attribute]) {
        switch a.string("activation") ?? "" {
        case "Relu": self = .relu
        case "LeakyRelu": self = .leakyRelu(alpha: a.float("alpha") ?? 0.01)
        case "Clip": self = .clip(min: a.float("min") ?? -.infinity, max: a.float("max") ?? .infinity)
        case "Sigmoid": self = .sigmoid
        case "Tanh": self = .tanh
        case "Gelu": self = .gelu
        default: self = .none
        }
    }
}


extension OpImpl {
    /// MatMul, numpy semantics. Fusion may add `perm_a`/`perm_b` (the operand is the input of a
    /// Transpose that was folded in: read with permuted strides, no copy) and `alpha` (a scalar
    /// Mul of the result). ONNX's MatMul has no attributes, so a model file may not carry them.
    static let matMul = OpImpl(
        validate: { node in
            if let name = node.attributes.keys.sorted().first {
                throw ModelError(.invalidGraph, "node '\(node.name)' (MatMul): '\(name)' is not an attribute of MatMul")
            }
        },
        infer: { ctx in
            try requireFloat32(ctx, [0, 1])
            let a = try StridedOperand(shape: ctx.shape(0), perm: ctx.attrs.ints("perm_a"))
            let b = try StridedOperand(shape: ctx.shape(1), perm: ctx.attrs.ints("perm_b"))
            return Inferred(.float32, try matMulShape(ctx, a.shape, b.shape).out)
        },
        prepare: { ctx, bound in
            let a = try StridedOperand(shape: bound.input(0).shape, perm: ctx.attrs.ints("perm_a"))
            let b = try StridedOperand(shape: bound.input(1).shape, perm: ctx.attrs.ints("perm_b"))
            let y = bound.outputs[0], pool = bound.pool, alpha = ctx.attrs.float("alpha") ?? 1
            let g = try matMulShape(ctx, a.shape, b.shape)
            let pa = bound.input(0).pointer(Float.self), pb = bound.input(1).pointer(Float.self), py = y.pointer(Float.self)
            let (m, k, n) = (g.m, g.k, g.n)
            let (ta, lda) = a.matrix(right: false), (tb, ldb) = b.matrix(right: true)
            let count = g.batch.product
            let offA = a.batchOffsets(g.batch), offB = b.batchOffsets(g.batch)
            let strideA = count > 1 ? offA[1] - offA[0] : 0, strideB = count > 1 ? offB[1] - offB[0] : 0
            let uniform = (0..<count).allSatisfy { offA[$0] == $0 * strideA && offB[$0] == $0 * strideB }
            if uniform {
                return { Gemm.sgemmBatched(batch: count, m: m, n: n, k: k, alpha: alpha, a: pa, strideA: strideA, lda: lda, transA: ta,
                                           b: pb, strideB: strideB, ldb: ldb, transB: tb, c: py, strideC: m * n, ldc: n, pool: pool) }
            }
            return { Gemm.sgemmBatched(batch: count, m: m, n: n, k: k, alpha: alpha, a: pa, offsetsA: offA, lda: lda, transA: ta,
                                       b: pb, offsetsB: offB, ldb: ldb, transB: tb, c: py, strideC: m * n, ldc: n, pool: pool) }
        })

    /// numpy matmul shapes: 1-D operands are promoted (and the added dim dropped from the result).
    static func matMulShape(_ ctx: NodeContext, _ sa: [Int], _ sb: [Int]) throws
        -> (m: Int, k: Int, n: Int, batch: [Int], aBatch: [Int], bBatch: [Int], out: [Int]) {
        guard !sa.isEmpty, !sb.isEmpty else { throw ctx.fail("MatMul operands must have rank ≥ 1, got \(sa) and \(sb)") }
        let a = sa.count == 1 ? [1] + sa : sa, b = sb.count == 1 ? sb + [1] : sb
        let m = a[a.count - 2], k = a[a.count - 1], n = b[b.count - 1]
        guard b[b.count - 2] == k else { throw ctx.fail("shapes \(sa) and \(sb) cannot be multiplied (inner dims \(k) and \(b[b.count - 2]))") }
        let aBatch = Array(a.dropLast(2)), bBatch = Array(b.dropLast(2))
        let batch = try broadcastShape(ctx, [aBatch, bBatch])
        var out = batch
        if sa.count > 1 { out.append(m) }
        if sb.count > 1 { out.append(n) }
        return (m, k, n, batch, aBatch, bBatch, out)
    }

    static let gemm = OpImpl(
        infer: { ctx in
            try requireFloat32(ctx, [0, 1, 2])
            let g = try gemmShape(ctx)
            if ctx.has(2) { _ = try broadcastShape(ctx, [try ctx.shape(2), [g.m, g.n]]) }
            return Inferred(.float32, [g.m, g.n])
        },
        prepare: { ctx, b in
            let g = try gemmShape(ctx)
            let alpha = ctx.attrs.float("alpha") ?? 1, beta = ctx.attrs.float("beta") ?? 1
            let a = b.input(0), w = b.input(1), y = b.outputs[0], pool = b.pool
            let pa = a.pointer(Float.self), pb = w.pointer(Float.self), py = y.pointer(Float.self)
            let (m, n, k, ta, tb) = (g.m, g.n, g.k, g.transA, g.transB)
            let lda = ta ? m : k, ldb = tb ? k : n
            guard let c = b.inputs.count > 2 ? b.inputs[2] : nil, beta != 0 else {
                return { Gemm.sgemm(m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda, transA: ta, b: pb, ldb: ldb, transB: tb, c: py, ldc: n, pool: pool) }
            }
            let pc = c.pointer(Float.self)
            if beta == 1 && c.count == n && (c.shape.count < 2 || c.shape[0] == 1) {
                let e = GemmEpilogue(bias: UnsafePointer(pc), biasPerRow: false)
                return { Gemm.sgemm(m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda, transA: ta, b: pb, ldb: ldb, transB: tb, c: py, ldc: n, epilogue: e, pool: pool) }
            }
            let fill = broadcastCopy(c, y, pool: pool)
            return {
                try fill()
                Gemm.sgemm(m: m, n: n, k: k, alpha: alpha, a: pa, lda: lda, transA: ta, b: pb, ldb: ldb, transB: tb, beta: beta, c: py, ldc: n, pool: pool)
            }
        })

    static func gemmShape(_ ctx: NodeContext) throws -> (m: Int, n: Int, k: Int, transA: Bool, transB: Bool) {
        let sa = try ctx.shape(0), sb = try ctx.shape(1)
        guard sa.count == 2, sb.count == 2 else { throw ctx.fail("Gemm takes 2-D operands, got \(sa) and \(sb)") }
        let ta = (ctx.attrs.int("transA") ?? 0) != 0, tb = (ctx.attrs.int("transB") ?? 0) != 0
        let m = ta ? sa[1] : sa[0], k = ta ? sa[0] : sa[1]
        let kb = tb ? sb[1] : sb[0], n = tb ? sb[0] : sb[1]
        guard k == kb else { throw ctx.fail("shapes \(sa)\(ta ? "ᵀ" : "") and \(sb)\(tb ? "ᵀ" : "") cannot be multiplied (inner dims \(k) and \(kb))") }
        return (m, n, k, ta, tb)
    }

    /// Dense: y[..., N] = activation(x[..., K] · W + bias), W pre-packed for the GEMM microkernel.
    /// Attributes: k, n, nr (the packing's panel width), activation (+ alpha/min/max).
    static let dense = OpImpl(
        infer: { ctx in
            let s = try ctx.shape(0)
            guard let k = ctx.attrs.int("k"), let n = ctx.attrs.int("n"), s.last == k else {
                throw ctx.fail("input \(s) does not end in K = \(ctx.attrs.int("k") ?? -1)")
            }
            return Inferred(.float32, s.dropLast() + [n])
        },
        prepare: { ctx, b in
            let k = ctx.attrs.int("k")!, n = ctx.attrs.int("n")!, nr = ctx.attrs.int("nr")!
            guard nr == Gemm.packedLayout(k: k, n: n).nr else {
                throw ModelError(.badArtifact, "weights were packed for panels of \(nr) columns; this CPU's kernels use \(Gemm.packedLayout(k: k, n: n).nr): recompile the model")
            }
            let x = b.input(0), y = b.outputs[0], m = x.count / k, pool = b.pool
            let px = x.pointer(Float.self), pw = UnsafePointer(b.input(1).pointer(Float.self)), py = y.pointer(Float.self)
            let bias = b.inputs.count > 2 ? b.inputs[2].map { UnsafePointer($0.pointer(Float.self)) } : nil
            let e = GemmEpilogue(bias: bias, biasPerRow: false, activation: Activation(attributes: ctx.attrs))
            return { Gemm.sgemmPacked(m: m, n: n, k: k, a: px, lda: k, packedB: pw, c: py, ldc: n, epilogue: e, pool: pool) }
        })
}

/// A MatMul operand as stored (contiguous `stored` shape) and as MatMul sees it (`shape`, after an
/// optional folded transpose): its strides, how each 2-D matrix is addressed, and where each
/// batch's matrix starts.
struct StridedOperand {
    let shape: [Int]
    let strides: [Int]

    init(shape stored: [Int], perm: [Int]?) throws {
        let base = Broadcast.contiguousStrides(stored)
        guard let perm else { shape = stored; strides = base; return }
        guard perm.sorted() == Array(stored.indices) else {
            throw ModelError(.invalidGraph, "folded transpose perm \(perm) does not fit shape \(stored)")
        }
        shape = perm.map { stored[$0] }
        strides = perm.map { base[$0] }
    }

    /// (transposed, leading dimension) of the 2-D matrices. A 1-D operand is a row [1 × k] as the
    /// left operand and a column [k × 1] as the right one (numpy's promotion).
    func matrix(right: Bool) -> (Bool, Int) {
        guard shape.count >= 2 else { return (false, right ? 1 : Swift.max(1, shape.last ?? 1)) }
        let sr = strides[shape.count - 2], sc = strides[shape.count - 1]
        if sc == 1 || shape[shape.count - 1] == 1 { return (false, Swift.max(sr, shape[shape.count - 1])) }
        return (true, sc)  // sr == 1: fusion only folds perms that keep one of the two axes contiguous
    }

    /// Element offset of the matrix for each index of the broadcast batch shape `batch`.
    func batchOffsets(_ batch: [Int]) -> [Int] {
        let own = Swift.max(0, shape.count - 2)
        let count = batch.product
        var offsets = [Int](repeating: 0, count: Swift.max(count, 1))
        var idx = [Int](repeating: 0, count: batch.count)
        for i in 0..<count {
            var o = 0
            for d in 0..<own {
                let bd = batch.count - own + d
                if shape[d] != 1 { o += idx[bd] * strides[d] }
            }
            offsets[i] = o
            var d = batch.count - 1
            while d >= 0 { idx[d] += 1; if idx[d] < batch[d] { break }; idx[d] = 0; d -= 1 }
        }
        return offsets
    }
}
