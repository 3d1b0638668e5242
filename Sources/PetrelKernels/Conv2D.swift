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

/// Convolution as im2col + `Gemm.sgemm` per (image, group): weights [Cout/g × K] are A, the im2col
/// matrix [K × outH·outW] is B, so the output plane comes out in NCHW directly and the bias is
/// per row (`biasPerRow`) in the GEMM epilogue, fused with the activation. Depthwise convolution
/// (MobileNet) has K = kh·kw, far too small for GEMM, so it runs a direct loop instead.
public enum Conv2D {
    /// Scratch floats `run` needs: one im2col matrix (reused across images and groups).
    public static func workspaceFloats(_ p: ConvParams) -> Int {
        p.isPointwise || p.isDepthwise ? 0 : p.kernelSize * p.outH * p.outW
    }

    /// output[n, cout, outH, outW] = conv(input[n, cin, h, w], weight[cout, cin/group, kh, kw]),
    /// then + bias[cout] and the activation of `epilogue` (`biasPerRow` is implied).
    public static func run(_ p: ConvParams, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           epilogue: GemmEpilogue = .none, output: UnsafeMutablePointer<Float>,
                           workspace: UnsafeMutablePointer<Float>?, pool: ThreadPool? = nil) {
        let oh = p.outH, ow = p.outW
        precondition(oh > 0 && ow > 0, "conv: empty output for \(p)")
        if p.isDepthwise { depthwise(p, input: input, weight: weight, epilogue: epilogue, output: output, pool: pool); return }
        let cg = p.cin / p.group, mg = p.cout / p.group, k = p.kernelSize, npix = oh * ow
        precondition(p.isPointwise || workspace != nil, "conv: needs workspaceFloats(\(p)) floats of workspace")
        for img in 0..<p.n {
            for g in 0..<p.group {
                let src = input + (img * p.cin + g * cg) * p.h * p.w
                let b: UnsafePointer<Float>
                if p.isPointwise { b = src } else { im2col(p, src, workspace!, pool: pool); b = UnsafePointer(workspace!) }
                let e = GemmEpilogue(bias: epilogue.bias.map { $0 + g * mg }, biasPerRow: true, activation: epilogue.activation)
                Gemm.sgemm(m: mg, n: npix, k: k, a: weight + g * mg * k, lda: k, b: b, ldb: npix,
                           c: output + (img * p.cout + g * mg) * npix, ldc: npix, epilogue: e, pool: pool)
            }
        }
    }

    /// col[(c·kh + ky)·kw + kx][oy·outW + ox] = input[c][iy][ix] (0 outside the image). Each row's
    /// in-image column range is computed once, so the inner loop is a plain (strided) copy.
    static func im2col(_ p: ConvParams, _ src: UnsafePointer<Float>, _ col: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let oh = p.outH, ow = p.outW, npix = oh * ow, rows = p.kernelSize
        parallelRanges(rows, grain: Swift.max(1, parallelGrain / npix), pool: pool) { r in
            for row in r {
                let kx = row % p.kw, ky = (row / p.kw) % p.kh, c = row / (p.kw * p.kh)
                let plane = src + c * p.h * p.w, dst = col + row * npix
                let xOff = kx * p.dilationW - p.padLeft
                let (oxLo, oxHi) = validRange(offset: xOff, stride: p.strideW, size: p.w, count: ow)
                for oy in 0..<oh {
                    let iy = oy * p.strideH - p.padTop + ky * p.dilationH
                    let d = dst + oy * ow
                    if iy < 0 || iy >= p.h { d.update(repeating: 0, count: ow); continue }
                    let s = plane + iy * p.w + xOff
                    if oxLo > 0 { d.update(repeating: 0, count: oxLo) }
                    if p.strideW == 1 { if oxHi > oxLo { (d + oxLo).update(from: s + oxLo, count: oxHi - oxLo) } }
                    else { for ox in oxLo..<Swift.max(oxLo, oxHi) { d[ox] = s[ox * p.strideW] } }
                    if oxHi < ow { (d + Swift.max(oxHi, 0)).update(repeating: 0, count: ow - Swift.max(oxHi, 0)) }
                }
            }
        }
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
