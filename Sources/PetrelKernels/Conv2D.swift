/// Geometry of an NCHW convolution (1-D conv: h = 1, kh = 1, padTop = padBottom = 0).
public struct ConvParams: Equatable, Sendable {
    public var n, cin, h, w, cout, kh, kw, group: Int
    public var strideH, strideW: Int
    public var padTop, padLeft, padBottom, padRight: Int
    public var dilationH, dilationW: Int

    public init(n: Int, cin: Int, h: Int, w: Int, cout: Int, kh: Int, kw: Int, group: Int = 1,
                strides: (Int, Int) = (1, 1), pads: (top: Int, left: Int, bottom: Int, right: Int) = (0, 0, 0, 0),
                dilations: (Int, Int) = (1, 1)) {
        self.n = n; self.cin = cin; self.h = h; self.w = w; self.cout = cout; self.kh = kh; self.kw = kw
        self.group = group
        (strideH, strideW) = strides
        (padTop, padLeft, padBottom, padRight) = pads
        (dilationH, dilationW) = dilations
        precondition(group > 0 && cin % group == 0 && cout % group == 0,
                     "conv: group \(group) must divide cin \(cin) and cout \(cout)")
    }

    /// A 1-D conv over `length` as the H = 1 case of the 2-D one.
    public static func conv1d(n: Int, cin: Int, length: Int, cout: Int, k: Int, group: Int = 1,
                              stride: Int = 1, padBegin: Int = 0, padEnd: Int = 0, dilation: Int = 1) -> ConvParams {
        ConvParams(n: n, cin: cin, h: 1, w: length, cout: cout, kh: 1, kw: k, group: group,
                   strides: (1, stride), pads: (0, padBegin, 0, padEnd), dilations: (1, dilation))
    }

    public var outH: Int { (h + padTop + padBottom - dilationH * (kh - 1) - 1) / strideH + 1 }
    public var outW: Int { (w + padLeft + padRight - dilationW * (kw - 1) - 1) / strideW + 1 }
    /// Rows of the im2col matrix (= GEMM K): one per (input channel of the group, ky, kx).
    public var kernelSize: Int { cin / group * kh * kw }

    /// 1×1, stride 1, unpadded: the input plane already is the im2col matrix.
    var isPointwise: Bool {
        kh == 1 && kw == 1 && strideH == 1 && strideW == 1 && padTop == 0 && padLeft == 0 && padBottom == 0 && padRight == 0
    }
    var isDepthwise: Bool { group == cin && group == cout && group > 1 }
}

/// Convolution as im2col + `Gemm.sgemm`: weights [Cout/g × K] are A, the im2col matrix is B, so the
/// output comes out channel-major and the bias is per row (`biasPerRow`) in the GEMM epilogue, fused
/// with the activation. Small images are batched: the im2col columns of several images sit side by
/// side in one matrix so one GEMM of useful width runs instead of many tiny ones (64 digits of 8×8:
/// 16 GEMMs of 256 columns instead of 64 of 64; 256 keeps the im2col matrix in L2 — 1,024 columns
/// spilled it and was slower), then each image's rows are copied to NCHW. With several threads,
/// whole batches of images go to different threads. Depthwise convolution (MobileNet) has K = kh·kw, far too small for GEMM, so it runs a
/// direct loop instead.
public enum Conv2D {
    /// Columns one GEMM should have at least before batching stops paying (GEMM packing overhead).
    static let targetColumns = 256
    /// Cap on the batched scratch (floats): 4 MiB.
    static let maxBatchedFloats = 1 << 20

    /// Images whose im2col matrices share one GEMM.
    static func imagesPerGemm(_ p: ConvParams) -> Int {
        let npix = p.outH * p.outW
        if p.isPointwise || p.isDepthwise || p.n == 1 { return 1 }
        var g = Swift.min(p.n, Swift.max(1, (targetColumns + npix - 1) / npix))
        while g > 1 && g * npix * (p.kernelSize + p.cout / p.group) > maxBatchedFloats { g -= 1 }
        return g
    }

    /// Scratch floats `run` needs: per worker (`threads` when batches of images run in parallel), the
    /// im2col matrix of a batch of images plus their GEMM output when several share a GEMM.
    public static func workspaceFloats(_ p: ConvParams, threads: Int = 1) -> Int {
        if p.isDepthwise { return 0 }
        let g = imagesPerGemm(p), cols = g * p.outH * p.outW
        let one = (p.isPointwise ? 0 : p.kernelSize * cols) + (g > 1 ? p.cout / p.group * cols : 0)
        return one * workers(p, threads: threads)
    }

    /// Batches of images run on separate threads (each GEMM single-threaded) when there are enough
    /// of them: one parallel region per conv instead of several per small GEMM and im2col.
    static func workers(_ p: ConvParams, threads: Int) -> Int {
        let chunks = (p.n + imagesPerGemm(p) - 1) / imagesPerGemm(p)
        return threads > 1 && chunks >= threads && !p.isPointwise ? threads : 1
    }

    /// output[n, cout, outH, outW] = conv(input[n, cin, h, w], weight[cout, cin/group, kh, kw]),
    /// then + bias[cout] and the activation of `epilogue` (`biasPerRow` is implied). `workspace`
    /// holds `workspaceFloats(p, threads: pool?.threads ?? 1)` floats.
    public static func run(_ p: ConvParams, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           epilogue: GemmEpilogue = .none, output: UnsafeMutablePointer<Float>,
                           workspace: UnsafeMutablePointer<Float>?, pool: ThreadPool? = nil) {
        let oh = p.outH, ow = p.outW
        precondition(oh > 0 && ow > 0, "conv: empty output for \(p)")
        if p.isDepthwise { depthwise(p, input: input, weight: weight, epilogue: epilogue, output: output, pool: pool); return }
        precondition(p.isPointwise || workspace != nil, "conv: needs workspaceFloats(\(p)) floats of workspace")
        let batch = imagesPerGemm(p), chunks = (p.n + batch - 1) / batch
        let workers = workers(p, threads: pool?.threads ?? 1)
        if workers == 1 {
            for c in 0..<chunks { chunk(p, c * batch, input, weight, epilogue, output, workspace, pool) }
            return
        }
        let per = workspaceFloats(p)
        pool!.parallelFor(workers) { t in
            for c in stride(from: t, to: chunks, by: workers) {
                chunk(p, c * batch, input, weight, epilogue, output, workspace! + t * per, nil)
            }
        }
    }

    /// Images [first, first + imagesPerGemm) of the batch: im2col side by side, one GEMM per group,
    /// rows copied out to NCHW.
    static func chunk(_ p: ConvParams, _ first: Int, _ input: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                      _ epilogue: GemmEpilogue, _ output: UnsafeMutablePointer<Float>,
                      _ col: UnsafeMutablePointer<Float>?, _ pool: ThreadPool?) {
        let cg = p.cin / p.group, mg = p.cout / p.group, k = p.kernelSize, npix = p.outH * p.outW
        let images = Swift.min(imagesPerGemm(p), p.n - first), cols = images * npix
        for g in 0..<p.group {
            let b: UnsafePointer<Float>
            if p.isPointwise { b = input + (first * p.cin + g * cg) * npix }  // col is nil: never batched
            else {
                for i in 0..<images {
                    im2col(p, input + ((first + i) * p.cin + g * cg) * p.h * p.w, col! + i * npix, ld: cols, pool: pool)
                }
                b = UnsafePointer(col!)
            }
            let e = GemmEpilogue(bias: epilogue.bias.map { $0 + g * mg }, biasPerRow: true, activation: epilogue.activation)
            if images == 1 {
                Gemm.sgemm(m: mg, n: npix, k: k, a: weight + g * mg * k, lda: k, b: b, ldb: npix,
                           c: output + (first * p.cout + g * mg) * npix, ldc: npix, epilogue: e, pool: pool)
                continue
            }
            let staged = col! + k * cols
            Gemm.sgemm(m: mg, n: cols, k: k, a: weight + g * mg * k, lda: k, b: b, ldb: cols,
                       c: staged, ldc: cols, epilogue: e, pool: pool)
            for i in 0..<images {
                for r in 0..<mg {
                    (output + ((first + i) * p.cout + g * mg + r) * npix).update(from: staged + r * cols + i * npix, count: npix)
                }
            }
        }
    }

    /// col[(c·kh + ky)·kw + kx][oy·outW + ox] = input[c][iy][ix] (0 outside the image), rows `ld`
    /// floats apart. Each row's in-image column range is computed once, so the inner loop is a plain
    /// (strided) copy.
    static func im2col(_ p: ConvParams, _ src: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, ld: Int, pool: ThreadPool?) {
        let oh = p.outH, ow = p.outW, npix = oh * ow, rows = p.kernelSize
        let (kh, kw, h, w) = (p.kh, p.kw, p.h, p.w)
        let (sh, sw, dh, dw, pt, pl) = (p.strideH, p.strideW, p.dilationH, p.dilationW, p.padTop, p.padLeft)
        parallelRanges(rows, grain: Swift.max(1, parallelGrain / npix), pool: pool) { r in
            for row in r {
                let kx = row % kw, ky = (row / kw) % kh, c = row / (kw * kh)
                let plane = src + c &* h &* w, dst = col + row &* ld
                let xOff = kx &* dw &- pl
                let (oxLo, oxHi) = validRange(offset: xOff, stride: sw, size: w, count: ow)
                // Rows are short (8 floats for digits): SIMD moves with wrapping arithmetic, because
                // the libc memcpy/memset that plain loops compile to cost more than the copy.
                for oy in 0..<oh {
                    let iy = oy &* sh &- pt &+ ky &* dh
                    let d = dst + oy &* ow
                    if iy < 0 || iy >= h { fillZero(d, ow); continue }
                    let s = plane + (iy &* w &+ xOff)
                    fillZero(d, oxLo)
                    if sw == 1 { copyFloats(d + oxLo, s + oxLo, oxHi &- oxLo) }
                    else { for ox in oxLo..<oxHi { d[ox] = s[ox &* sw] } }
                    fillZero(d + oxHi, ow &- oxHi)
                }
            }
        }
    }

    @inline(__always) static func copyFloats(_ d: UnsafeMutablePointer<Float>, _ s: UnsafePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ 8 <= n {
            UnsafeMutableRawPointer(d + i).storeBytes(of: UnsafeRawPointer(s + i).loadUnaligned(as: SIMD8<Float>.self), as: SIMD8<Float>.self)
            i &+= 8
        }
        if i &+ 4 <= n {
            UnsafeMutableRawPointer(d + i).storeBytes(of: UnsafeRawPointer(s + i).loadUnaligned(as: SIMD4<Float>.self), as: SIMD4<Float>.self)
            i &+= 4
        }
        if i < n { d[i] = s[i]; i &+= 1 }
        if i < n { d[i] = s[i]; i &+= 1 }
        if i < n { d[i] = s[i] }
    }

    @inline(__always) static func fillZero(_ d: UnsafeMutablePointer<Float>, _ n: Int) {
        var i = 0
        while i &+ 8 <= n { UnsafeMutableRawPointer(d + i).storeBytes(of: SIMD8<Float>(), as: SIMD8<Float>.self); i &+= 8 }
        while i < n { d[i] = 0; i &+= 1 }
    }

    /// Outputs o in [lo, hi) with 0 <= o·stride + offset < size, clamped to [0, count].
    @inline(__always) static func validRange(offset: Int, stride: Int, size: Int, count: Int) -> (Int, Int) {
        let lo = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let hi = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride
        let l = Swift.min(lo, count), h = Swift.min(hi, count)
        return (l, Swift.max(l, h))
    }

    /// Direct depthwise conv: per output row, each kernel tap adds w·(input row segment), over the
    /// precomputed in-image column range, so the inner loop has no bounds checks (and vectorises at
    /// stride 1).
    static func depthwise(_ p: ConvParams, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                          epilogue: GemmEpilogue, output: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let oh = p.outH, ow = p.outW, planes = p.n * p.cin
        let act = UnaryOp(epilogue.activation)
        parallelRanges(planes, grain: Swift.max(1, parallelGrain / (oh * ow * p.kh * p.kw)), pool: pool) { r in
            for plane in r {
                let c = plane % p.cin
                let src = input + plane * p.h * p.w, dst = output + plane * oh * ow, wt = weight + c * p.kh * p.kw
                let b0 = epilogue.bias?[c] ?? 0
                for oy in 0..<oh {
                    let d = dst + oy * ow
                    d.update(repeating: b0, count: ow)
                    for ky in 0..<p.kh {
                        let iy = oy * p.strideH - p.padTop + ky * p.dilationH
                        if iy < 0 || iy >= p.h { continue }
                        for kx in 0..<p.kw {
                            let xOff = kx * p.dilationW - p.padLeft
                            let (lo, hi) = validRange(offset: xOff, stride: p.strideW, size: p.w, count: ow)
                            let wv = wt[ky * p.kw + kx], s = src + iy * p.w + xOff
                            if p.strideW == 1 { for ox in lo..<hi { d[ox] += wv * s[ox] } }
                            else { for ox in lo..<hi { d[ox] += wv * s[ox * p.strideW] } }
                        }
                    }
                }
                if act != .identity { Elementwise.unaryRange(act, x: dst, y: dst, count: oh * ow) }
            }
        }
    }
}
