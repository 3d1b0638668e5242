/// Geometry of an ONNX MaxPool / AveragePool over 1, 2 or 3 spatial dims (NC + spatial, contiguous).
public struct PoolParams: Equatable, Sendable {
    public enum AutoPad: String, Sendable { case notSet = "NOTSET", sameUpper = "SAME_UPPER", sameLower = "SAME_LOWER", valid = "VALID" }

    public var input: [Int], output: [Int]
    public var kernel: [Int], strides: [Int], padsBegin: [Int], padsEnd: [Int], dilations: [Int]

    /// Explicit everything (output sizes from the caller).
    public init(input: [Int], output: [Int], kernel: [Int], strides: [Int], padsBegin: [Int], padsEnd: [Int], dilations: [Int]) {
        let r = input.count
        precondition((1...3).contains(r) && [output, kernel, strides, padsBegin, padsEnd, dilations].allSatisfy { $0.count == r },
                     "pool: spatial rank \(r) with kernel \(kernel), strides \(strides), pads \(padsBegin)/\(padsEnd), dilations \(dilations)")
        self.input = input; self.output = output; self.kernel = kernel; self.strides = strides
        self.padsBegin = padsBegin; self.padsEnd = padsEnd; self.dilations = dilations
    }

    /// Output sizes and pads the ONNX way (onnxruntime's pool_attributes.h): with explicit pads,
    /// floor or (ceil_mode) ceil of (in + pads − dilated kernel)/stride + 1, dropping a last window
    /// that would start in the end padding; SAME_* pads to out = ceil(in/stride), the odd pad at
    /// the end (UPPER) or begin (LOWER); VALID pads nothing.
    public init(input: [Int], kernel: [Int], strides: [Int]? = nil, pads: [Int]? = nil, dilations: [Int]? = nil,
                ceilMode: Bool = false, autoPad: AutoPad = .notSet) {
        let r = input.count
        let s = strides ?? Array(repeating: 1, count: r), d = dilations ?? Array(repeating: 1, count: r)
        var pb = pads.map { Array($0[0..<r]) } ?? Array(repeating: 0, count: r)
        var pe = pads.map { Array($0[r..<2 * r]) } ?? Array(repeating: 0, count: r)
        var out = [Int](repeating: 0, count: r)
        for i in 0..<r {
            let dk = d[i] * (kernel[i] - 1) + 1
            switch autoPad {
            case .notSet:
                let span = input[i] + pb[i] + pe[i] - dk
                if ceilMode {
                    out[i] = (span + s[i] - 1).floorDiv(s[i]) + 1
                    if (out[i] - 1) * s[i] >= input[i] + pb[i] { out[i] -= 1 }
                } else {
                    out[i] = span.floorDiv(s[i]) + 1
                }
            case .valid:
                out[i] = (input[i] - dk).floorDiv(s[i]) + 1; pb[i] = 0; pe[i] = 0
            case .sameUpper, .sameLower:
                out[i] = (input[i] + s[i] - 1) / s[i]
                let total = Swift.max(0, (out[i] - 1) * s[i] + dk - input[i])
                pb[i] = autoPad == .sameUpper ? total / 2 : total - total / 2
                pe[i] = total - pb[i]
            }
        }
        self.init(input: input, output: out, kernel: kernel, strides: s, padsBegin: pb, padsEnd: pe, dilations: d)
    }

    var spatialCount: Int { input.reduce(1, *) }
    var outputCount: Int { output.reduce(1, *) }
}

extension Int {
    @inline(__always) func floorDiv(_ d: Int) -> Int { (self >= 0 ? self : self - d + 1) / d }
}

/// ONNX pooling on [n, c, spatial...] fp32, one (image, channel) plane per task. Padding never
/// contributes to max; average divides by the in-image taps unless `countIncludePad`, then by the
/// taps inside the padded extent (a ceil-mode window hanging past the end padding counts only up
/// to it, as onnxruntime does).
public enum Pooling {
    public static func maxPool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int, c: Int,
                               _ p: PoolParams, pool: ThreadPool? = nil) {
        run(x: x, y: y, planes: n * c, p, max: true, countIncludePad: false, pool: pool)
    }

    public static func averagePool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int, c: Int,
                                   _ p: PoolParams, countIncludePad: Bool = false, pool: ThreadPool? = nil) {
        run(x: x, y: y, planes: n * c, p, max: false, countIncludePad: countIncludePad, pool: pool)
    }

    /// y[n·c] = mean over each plane of `spatial` elements.
    public static func globalAveragePool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int, c: Int,
                                         spatial: Int, pool: ThreadPool? = nil) {
        let v = KernelTable.current.vector
        parallelRanges(n * c, grain: Swift.max(1, parallelGrain / Swift.max(1, spatial)), pool: pool) { r in
            for i in r { y[i] = v.sum(x + i * spatial, spatial) / Float(spatial) }
        }
    }

    /// y[n·c] = max over each plane of `spatial` elements.
    public static func globalMaxPool(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, n: Int, c: Int,
                                     spatial: Int, pool: ThreadPool? = nil) {
        let v = KernelTable.current.vector
        parallelRanges(n * c, grain: Swift.max(1, parallelGrain / Swift.max(1, spatial)), pool: pool) { r in
            for i in r { y[i] = v.max(x + i * spatial, spatial) }
        }
    }

    /// Lifts 1-D/2-D to 3-D with unit leading dims so one loop nest serves all ranks.
    struct Dim { var inSize, outSize, k, s, pb, pe, d: Int }

    static func run(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, _ p: PoolParams,
                    max: Bool, countIncludePad: Bool, pool: ThreadPool?) {
        let lead = 3 - p.input.count
        let dims = (0..<3).map { i -> Dim in
            if i < lead { return Dim(inSize: 1, outSize: 1, k: 1, s: 1, pb: 0, pe: 0, d: 1) }
            let j = i - lead
            return Dim(inSize: p.input[j], outSize: p.output[j], k: p.kernel[j], s: p.strides[j],
                       pb: p.padsBegin[j], pe: p.padsEnd[j], d: p.dilations[j])
        }
        let (D, H, W) = (dims[0], dims[1], dims[2])
        let inPlane = p.spatialCount, outPlane = p.outputCount
        if D.inSize == 1, p.padsBegin.allSatisfy({ $0 == 0 }), p.padsEnd.allSatisfy({ $0 == 0 }),
           H.d == 1, W.d == 1, (H.outSize - 1) * H.s + H.k <= H.inSize, (W.outSize - 1) * W.s + W.k <= W.inSize {
            unpadded2D(x: x, y: y, planes: planes, H: H, W: W, max: max, pool: pool)
            return
        }
        let work = outPlane * p.kernel.reduce(1, *)
        // Tap ranges depend only on the output index per axis: computed once here, they keep the
        // integer divisions of `taps` out of the per-plane loops (2×2 pooling was 4× slower with them).
        let tapsD = (0..<D.outSize).map { taps($0, D, countIncludePad) }
        let tapsH = (0..<H.outSize).map { taps($0, H, countIncludePad) }
        let tapsW = (0..<W.outSize).map { taps($0, W, countIncludePad) }
        tapsD.withUnsafeBufferPointer { tD in tapsH.withUnsafeBufferPointer { tH in tapsW.withUnsafeBufferPointer { tW in
            parallelRanges(planes, grain: Swift.max(1, parallelGrain / Swift.max(1, work)), pool: pool) { r in
                for plane in r {
                    if max {
                        poolPlane(x + plane * inPlane, y + plane * outPlane, D, H, W, tD, tH, tW, countIncludePad: false) { a, v in a > v ? a : v }
                    } else {
                        poolPlane(x + plane * inPlane, y + plane * outPlane, D, H, W, tD, tH, tW, countIncludePad: countIncludePad, average: true) { a, v in a + v }
                    }
                }
            }
        } } }
    }

    /// 2-D windows that never leave the image (the common 2×2/2 and 3×3/2 pooling of CNNs): no tap
    /// ranges, no divisor per output.
    static func unpadded2D(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, H: Dim, W: Dim,
                           max: Bool, pool: ThreadPool?) {
        let (ih, iw, oh, ow, kh, kw, sh, sw) = (H.inSize, W.inSize, H.outSize, W.outSize, H.k, W.k, H.s, W.s)
        let scale = 1 / Float(kh * kw)
        if kh == 2 && kw == 2 && sh == 2 && sw == 2 {
            return pool2x2(x: x, y: y, planes: planes, ih: ih, iw: iw, oh: oh, ow: ow, max: max, pool: pool)
        }
        parallelRanges(planes, grain: Swift.max(1, parallelGrain / Swift.max(1, oh * ow * kh * kw)), pool: pool) { r in
            for plane in r {
                let src = x + plane &* ih &* iw
                var dst = y + plane &* oh &* ow
                for oyi in 0..<oh {
                    for oxi in 0..<ow {
                        let base = src + (oyi &* sh &* iw &+ oxi &* sw)
                        var acc: Float = max ? base[0] : 0
                        for ky in 0..<kh {
                            let row = base + ky &* iw
                            if max { for kx in 0..<kw { let v = row[kx]; acc = v > acc ? v : acc } }
                            else { for kx in 0..<kw { acc += row[kx] } }
                        }
                        dst.pointee = max ? acc : acc * scale
                        dst += 1
                    }
                }
            }
        }
    }

    /// 2×2 windows, stride 2 (CNNs' usual pooling), four outputs per step: each pair of input
    /// rows is loaded as vectors and split into even and odd columns. Taps combine in the scalar
    /// loop's order (row 0 left, right, row 1 left, right; max as `v > acc ? v : acc`), so results,
    /// NaNs included, are the same (averages up to the sign of a zero). digits-cnn's MaxPool (64×32 planes of 8×8): 0.20 → 0.03 ms.
    static func pool2x2(x: UnsafePointer<Float>, y: UnsafeMutablePointer<Float>, planes: Int, ih: Int, iw: Int, oh: Int, ow: Int,
                        max: Bool, pool: ThreadPool?) {
        parallelRanges(planes, grain: Swift.max(1, parallelGrain / Swift.max(1, oh * ow * 4)), pool: pool) { r in
            for plane in r {
                let src = x + plane &* ih &* iw, dst = y + plane &* oh &* ow
                for oyi in 0..<oh {
                    let r0 = src + oyi &* 2 &* iw, r1 = r0 + iw, d = dst + oyi &* ow
                    var ox = 0
                    while ox &+ 4 <= ow {
                        let a = UnsafeRawPointer(r0 + 2 &* ox).loadUnaligned(as: SIMD8<Float>.self)
                        let b = UnsafeRawPointer(r1 + 2 &* ox).loadUnaligned(as: SIMD8<Float>.self)
                        var acc: SIMD4<Float>
                        if max {
                            acc = a.evenHalf
                            let a1 = a.oddHalf, b0 = b.evenHalf, b1 = b.oddHalf
                            acc.replace(with: a1, where: a1 .> acc)
                            acc.replace(with: b0, where: b0 .> acc)
                            acc.replace(with: b1, where: b1 .> acc)
                        } else {
                            acc = (((a.evenHalf + a.oddHalf) + b.evenHalf) + b.oddHalf) * 0.25
                        }
                        UnsafeMutableRawPointer(d + ox).storeBytes(of: acc, as: SIMD4<Float>.self)
                        ox &+= 4
                    }
                    while ox < ow {
                        let t = (r0[2 &* ox], r0[2 &* ox &+ 1], r1[2 &* ox], r1[2 &* ox &+ 1])
                        if max {
                            var acc = t.0
                            if t.1 > acc { acc = t.1 }
                            if t.2 > acc { acc = t.2 }
                            if t.3 > acc { acc = t.3 }
                            d[ox] = acc
                        } else {
                            d[ox] = (((t.0 + t.1) + t.2) + t.3) * 0.25
                        }
                        ox &+= 1
                    }
                }
            }
        }
    }

    /// One (image, channel) plane. `combine` is max or +, inlined into the tap loop.
    @inline(__always)
    static func poolPlane(_ src: UnsafePointer<Float>, _ out: UnsafeMutablePointer<Float>, _ D: Dim, _ H: Dim, _ W: Dim,
                          _ tD: UnsafeBufferPointer<(Int, Int, Int)>, _ tH: UnsafeBufferPointer<(Int, Int, Int)>,
                          _ tW: UnsafeBufferPointer<(Int, Int, Int)>, countIncludePad: Bool, average: Bool = false,
                          _ combine: (Float, Float) -> Float) {
        var dst = out
        let rowStride = W.inSize, planeStride = H.inSize * W.inSize
        for od in 0..<D.outSize {
            let (d0, d1, dc) = tD[od]
            for oh in 0..<H.outSize {
                let (h0, h1, hc) = tH[oh]
                for ow in 0..<W.outSize {
                    let (w0, w1, wc) = tW[ow]
                    let sd = od * D.s - D.pb, sh = oh * H.s - H.pb, sw = ow * W.s - W.pb
                    var acc: Float = average ? 0 : -.greatestFiniteMagnitude
                    for td in d0..<d1 {
                        let zd = src + (sd + td * D.d) * planeStride
                        for th in h0..<h1 {
                            let row = zd + (sh + th * H.d) * rowStride + sw
                            for tw in w0..<w1 { acc = combine(row[tw * W.d], acc) }
                        }
                    }
                    if average {
                        let count = countIncludePad ? dc * hc * wc : (d1 - d0) * (h1 - h0) * (w1 - w0)
                        acc /= Float(count)
                    }
                    dst.pointee = acc
                    dst += 1
                }
            }
        }
    }

    /// Taps [t0, t1) of output o that land in the image, and the number of taps inside the padded
    /// extent [−pb, in + pe) (the count_include_pad divisor).
    @inline(__always) static func taps(_ o: Int, _ d: Dim, _ wantPadded: Bool) -> (Int, Int, Int) {
        let start = o * d.s - d.pb
        let t0 = start >= 0 ? 0 : Swift.min(d.k, (-start + d.d - 1) / d.d)
        let t1 = Swift.max(t0, Swift.min(d.k, (d.inSize - start + d.d - 1).floorDiv(d.d)))
        let padded = wantPadded ? Swift.max(0, Swift.min(d.k, (d.inSize + d.pe - start + d.d - 1).floorDiv(d.d))) : 0
        return (t0, t1, padded)
    }
}
