import Testing
import Foundation
@testable import PetrelKernels

private func naiveConv(_ p: ConvParams, _ x: [Float], _ w: [Float], _ bias: [Float]?, _ act: Activation) -> [Float] {
    let oh = p.outH, ow = p.outW, cg = p.cin / p.group, mg = p.cout / p.group
    var y = [Float](repeating: 0, count: p.n * p.cout * oh * ow)
    for n in 0..<p.n { for co in 0..<p.cout { for oy in 0..<oh { for ox in 0..<ow {
        let g = co / mg
        var s = Double(bias?[co] ?? 0)
        for ci in 0..<cg { for ky in 0..<p.kh { for kx in 0..<p.kw {
            let iy = oy * p.strideH - p.padTop + ky * p.dilationH, ix = ox * p.strideW - p.padLeft + kx * p.dilationW
            if iy < 0 || iy >= p.h || ix < 0 || ix >= p.w { continue }
            s += Double(x[((n * p.cin + g * cg + ci) * p.h + iy) * p.w + ix]) * Double(w[((co * cg + ci) * p.kh + ky) * p.kw + kx])
        } } }
        y[((n * p.cout + co) * oh + oy) * ow + ox] = act.apply(Float(s))
    } } } }
    return y
}

private let convCases: [ConvParams] = [
    ConvParams(n: 1, cin: 3, h: 7, w: 9, cout: 5, kh: 3, kw: 3, pads: (1, 1, 1, 1)),
    ConvParams(n: 2, cin: 4, h: 6, w: 5, cout: 6, kh: 1, kw: 1),                                  // pointwise
    ConvParams(n: 1, cin: 4, h: 6, w: 5, cout: 3, kh: 1, kw: 1, strides: (2, 2)),                 // 1×1 strided
    ConvParams(n: 1, cin: 3, h: 11, w: 10, cout: 4, kh: 5, kw: 3, strides: (2, 3), pads: (2, 0, 1, 2)),
    ConvParams(n: 1, cin: 4, h: 9, w: 9, cout: 6, kh: 3, kw: 3, group: 2, pads: (2, 2, 2, 2), dilations: (2, 2)),
    ConvParams(n: 2, cin: 5, h: 8, w: 7, cout: 5, kh: 3, kw: 3, group: 5, pads: (1, 1, 1, 1)),   // depthwise
    ConvParams(n: 1, cin: 6, h: 9, w: 8, cout: 6, kh: 3, kw: 5, group: 6, strides: (2, 2), pads: (1, 2, 0, 2), dilations: (1, 2)),
    ConvParams(n: 1, cin: 2, h: 3, w: 3, cout: 2, kh: 5, kw: 5, group: 2, pads: (2, 2, 2, 2)),    // kernel wider than image
    ConvParams.conv1d(n: 2, cin: 3, length: 17, cout: 4, k: 3, stride: 2, padBegin: 1, padEnd: 1),
    ConvParams.conv1d(n: 1, cin: 8, length: 13, cout: 8, k: 4, group: 8, padBegin: 3, padEnd: 0, dilation: 2),
    ConvParams(n: 1, cin: 16, h: 20, w: 20, cout: 24, kh: 3, kw: 3, pads: (1, 1, 1, 1)),
    // Small images batched into shared GEMMs (4 per GEMM here), chunks spread over threads; an odd
    // count leaves a short last chunk.
    ConvParams(n: 9, cin: 3, h: 8, w: 8, cout: 5, kh: 3, kw: 3, pads: (1, 1, 1, 1)),
    ConvParams(n: 10, cin: 4, h: 8, w: 8, cout: 6, kh: 3, kw: 3, group: 2, pads: (1, 1, 1, 1)),
    // 35 and 12 pixels an image: images and output rows straddle the packed panels' edges.
    ConvParams(n: 5, cin: 3, h: 5, w: 7, cout: 4, kh: 3, kw: 3, pads: (1, 1, 1, 1)),
    ConvParams(n: 7, cin: 2, h: 7, w: 9, cout: 3, kh: 3, kw: 2, strides: (2, 2), pads: (1, 0, 1, 1)),
    // Direct convs past the parallel threshold: (image, channel block) items claimed by the
    // threads, each padding the images its items need (digits-cnn's first conv at batch 64; grouped).
    ConvParams(n: 64, cin: 1, h: 8, w: 8, cout: 16, kh: 3, kw: 3, pads: (1, 1, 1, 1)),
    ConvParams(n: 21, cin: 4, h: 12, w: 12, cout: 10, kh: 3, kw: 3, group: 2, pads: (1, 1, 1, 1)),
]

@Test func convMatchesNaive() {
    let pool = testPool
    var rng = TestRNG(seed: 31)
    for (i, p) in convCases.enumerated() {
        let x = rng.floats(p.n * p.cin * p.h * p.w), w = rng.floats(p.cout * p.kernelSize), bias = rng.floats(p.cout)
        for (withBias, act) in [(false, Activation.none), (true, .relu), (true, .gelu)] {
            var y = [Float](repeating: .nan, count: p.n * p.cout * p.outH * p.outW)
            let usePool = i % 2 == 0 || p.n > 2
            var ws = [Float](repeating: .nan, count: Conv2D.workspaceFloats(p, threads: usePool ? pool.threads : 1))
            bias.withUnsafeBufferPointer { b in
                ws.withUnsafeMutableBufferPointer { wsp in
                    Conv2D.run(p, input: x, weight: w, epilogue: GemmEpilogue(bias: withBias ? b.baseAddress : nil, activation: act),
                               output: &y, workspace: wsp.baseAddress, pool: usePool ? pool : nil)
                }
            }
            let want = naiveConv(p, x, w, withBias ? bias : nil, act)
            let r = worstError(y, want, atol: 1e-5, rtol: 1e-4)
            #expect(r.0 <= 1, "conv #\(i) \(p) bias=\(withBias) \(act) out \(p.outH)×\(p.outW): \(describe(y, want, r))")
            // Constant weights laid out once (what a plan does) give the same outputs.
            if let n = Conv2D.preparedWeightCount(p) {
                var laidOut = [Float](repeating: .nan, count: n), y2 = [Float](repeating: .nan, count: y.count)
                laidOut.withUnsafeMutableBufferPointer { Conv2D.prepareWeights(p, weight: w, into: $0.baseAddress!) }
                bias.withUnsafeBufferPointer { b in
                    ws.withUnsafeMutableBufferPointer { wsp in
                        Conv2D.run(p, input: x, weight: w, epilogue: GemmEpilogue(bias: withBias ? b.baseAddress : nil, activation: act),
                                   output: &y2, workspace: wsp.baseAddress, pool: usePool ? pool : nil, preparedWeights: laidOut)
                    }
                }
                #expect(y2 == y, "conv #\(i) with prepared weights")
            }
        }
    }
}

/// Naive pooling straight from the ONNX definition: taps at o·s − pb + t·d; max over taps in the
/// image; average over taps in the image, or (count_include_pad) over taps inside [−pb, in + pe).
private func naivePool(_ x: [Float], planes: Int, _ p: PoolParams, max: Bool, includePad: Bool) -> [Float] {
    let r = p.input.count, inCount = p.input.reduce(1, *), outCount = p.output.reduce(1, *)
    var y = [Float]()
    for plane in 0..<planes { for o in 0..<outCount {
        var oi = [Int](repeating: 0, count: r), rem = o
        for d in stride(from: r - 1, through: 0, by: -1) { oi[d] = rem % p.output[d]; rem /= p.output[d] }
        var vals = [Float](), padded = 0
        for t in 0..<p.kernel.reduce(1, *) {
            var ti = [Int](repeating: 0, count: r), tr = t
            for d in stride(from: r - 1, through: 0, by: -1) { ti[d] = tr % p.kernel[d]; tr /= p.kernel[d] }
            let pos = (0..<r).map { oi[$0] * p.strides[$0] - p.padsBegin[$0] + ti[$0] * p.dilations[$0] }
            if (0..<r).allSatisfy({ pos[$0] < p.input[$0] + p.padsEnd[$0] }) { padded += 1 }
            if (0..<r).allSatisfy({ pos[$0] >= 0 && pos[$0] < p.input[$0] }) {
                var idx = 0
                for d in 0..<r { idx = idx * p.input[d] + pos[d] }
                vals.append(x[plane * inCount + idx])
            }
        }
        y.append(max ? vals.max()! : vals.reduce(0, +) / Float(includePad ? padded : vals.count))
    } }
    return y
}

@Test func poolOutputShapesTheOnnxWay() {
    // ceil_mode: 5 wide, k 2, s 2 → 3 (the last window starts inside); with pad 1 end, the 4th would start in the pad.
    #expect(PoolParams(input: [5], kernel: [2], strides: [2], ceilMode: true).output == [3])
    #expect(PoolParams(input: [5], kernel: [2], strides: [2]).output == [2])
    #expect(PoolParams(input: [6], kernel: [2], strides: [2], pads: [0, 1], ceilMode: true).output == [3])
    #expect(PoolParams(input: [32], kernel: [3], strides: [2], pads: [1, 1], ceilMode: true).output == [17])
    // SAME: out = ceil(in/s); total pad (3·1 + 4 − 9 = 1 along W) goes to the end (UPPER) or begin (LOWER).
    let same = PoolParams(input: [7, 9], kernel: [3, 4], strides: [2, 3], autoPad: .sameUpper)
    #expect(same.output == [4, 3] && same.padsBegin == [1, 0] && same.padsEnd == [1, 1])
    let lower = PoolParams(input: [7, 9], kernel: [3, 4], strides: [2, 3], autoPad: .sameLower)
    #expect(lower.padsBegin == [1, 1] && lower.padsEnd == [1, 0])
    #expect(PoolParams(input: [7, 8], kernel: [3, 4], strides: [2, 3], autoPad: .valid).output == [3, 2])
}

@Test func poolingMatchesNaive() {
    let pool = testPool
    var rng = TestRNG(seed: 41)
    let cases: [PoolParams] = [
        PoolParams(input: [9], kernel: [3], strides: [2], pads: [1, 1]),
        PoolParams(input: [10], kernel: [3], strides: [3], pads: [0, 1], ceilMode: true),
        PoolParams(input: [7, 9], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        PoolParams(input: [8, 8], kernel: [2, 3], strides: [2, 2], pads: [0, 1, 1, 1], ceilMode: true),
        PoolParams(input: [11, 10], kernel: [3, 2], strides: [3, 2], pads: [1, 0, 2, 1], dilations: [2, 2], ceilMode: true),
        PoolParams(input: [7, 8], kernel: [3, 4], strides: [2, 3], autoPad: .sameUpper),
        PoolParams(input: [7, 9], kernel: [3, 4], strides: [2, 3], autoPad: .sameLower),
        PoolParams(input: [5, 6, 7], kernel: [2, 3, 2], strides: [2, 1, 2], pads: [0, 1, 1, 1, 1, 0], ceilMode: true),
        PoolParams(input: [1, 1], kernel: [1, 1]),
        PoolParams(input: [56, 56], kernel: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1]),
        // 2×2 stride 2 (the vector path): whole steps of four outputs, then a tail; odd sizes.
        PoolParams(input: [8, 8], kernel: [2, 2], strides: [2, 2]),
        PoolParams(input: [9, 13], kernel: [2, 2], strides: [2, 2]),
        PoolParams(input: [6, 26], kernel: [2, 2], strides: [2, 2]),
    ]
    for (i, p) in cases.enumerated() {
        let planes = 3, x = rng.floats(planes * p.input.reduce(1, *))
        for (isMax, inc) in [(true, false), (false, false), (false, true)] {
            var y = [Float](repeating: .nan, count: planes * p.output.reduce(1, *))
            if isMax { Pooling.maxPool(x: x, y: &y, n: 1, c: planes, p, pool: pool) }
            else { Pooling.averagePool(x: x, y: &y, n: 1, c: planes, p, countIncludePad: inc, pool: pool) }
            let want = naivePool(x, planes: planes, p, max: isMax, includePad: inc)
            let r = worstError(y, want, atol: 1e-6, rtol: 1e-5)
            #expect(r.0 <= 1, "pool #\(i) max=\(isMax) includePad=\(inc) \(p): \(describe(y, want, r))")
        }
    }
    let x = rng.floats(6 * 49)
    var gavg = [Float](repeating: 0, count: 6), gmax = gavg
    Pooling.globalAveragePool(x: x, y: &gavg, n: 2, c: 3, spatial: 49)
    Pooling.globalMaxPool(x: x, y: &gmax, n: 2, c: 3, spatial: 49)
    for i in 0..<6 {
        let plane = x[(i * 49)..<((i + 1) * 49)]
        #expect(Swift.abs(gavg[i] - plane.reduce(0, +) / 49) < 1e-6, "global average plane \(i)")
        #expect(gmax[i] == plane.max()!, "global max plane \(i)")
    }
}

/// The direct stride-1 kernel on random geometry: widths around its 8-pixel vectors (masked
/// tails), channel counts around its 4-channel blocks, odd heights (a last single row), groups,
/// asymmetric pads, kernels from 1×2 to 5×5, with and without the pool.
@Test func directConvOnRandomShapes() {
    var rng = TestRNG(seed: 77)
    func pick(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.float(0, 0.9999) * Float(r.count)) }
    for i in 0..<40 {
        let group = [1, 1, 1, 2, 3][pick(0...4)]
        let kh = pick(1...5), kw = pick(2...5)
        let p = ConvParams(n: pick(1...3), cin: group * pick(1...5), h: pick(1...11), w: pick(1...19), cout: group * pick(1...9),
                           kh: kh, kw: kw, group: group,
                           pads: (pick(0...2), pick(0...2), pick(0...2), pick(0...2)))
        guard p.outH > 0, p.outW > 0 else { continue }
        #expect((Conv2D.usesDirect(p) && !Conv2D.usesWinograd(p)) || KernelTable.current.convDirect == nil)
        let x = rng.floats(p.n * p.cin * p.h * p.w), w = rng.floats(p.cout * p.kernelSize), bias = rng.floats(p.cout)
        var y = [Float](repeating: .nan, count: p.n * p.cout * p.outH * p.outW)
        let pool: ThreadPool? = i % 2 == 0 ? testPool : nil
        var ws = [Float](repeating: .nan, count: Conv2D.workspaceFloats(p, threads: pool?.threads ?? 1))
        bias.withUnsafeBufferPointer { b in
            ws.withUnsafeMutableBufferPointer { wsp in
                Conv2D.run(p, input: x, weight: w, epilogue: GemmEpilogue(bias: b.baseAddress, activation: .relu),
                           output: &y, workspace: wsp.baseAddress, pool: pool)
            }
        }
        let want = naiveConv(p, x, w, bias, .relu)
        let r = worstError(y, want, atol: 1e-5, rtol: 1e-4)
        #expect(r.0 <= 1, "direct conv #\(i) \(p): \(describe(y, want, r))")
    }
}

/// Winograd F(2×2, 3×3) on random geometry: odd output sizes (tiles cut by the edge), widths that
/// are and are not multiples of 8 (the kernel's whole-row stores), output channels around its
/// 4-channel blocks, tile counts around its 16-tile chunks, pads from 0 to 2 on each side, batch 1
/// with two threads (weight blocks split) and batches over threads; bias or none, each activation;
/// weights prepared once or transformed per call.
@Test func winogradConvOnRandomShapes() {
    var rng = TestRNG(seed: 91)
    func pick(_ r: ClosedRange<Int>) -> Int { r.lowerBound + Int(rng.float(0, 0.9999) * Float(r.count)) }
    let acts: [Activation] = [.none, .relu, .clip(min: -0.5, max: 0.5), .leakyRelu(alpha: 0.1), .gelu]
    var cases = [ConvParams(n: 64, cin: 16, h: 8, w: 8, cout: 32, kh: 3, kw: 3, pads: (1, 1, 1, 1))]  // digits-cnn
    for _ in 0..<40 {
        cases.append(ConvParams(n: pick(1...3), cin: pick(8...20), h: pick(1...19), w: pick(1...19), cout: pick(1...13),
                                kh: 3, kw: 3, pads: (pick(0...2), pick(0...2), pick(0...2), pick(0...2))))
    }
    var pooledCases = 0
    for (i, p) in cases.enumerated() where p.outH > 0 && p.outW > 0 {
        #expect(Conv2D.usesWinograd(p) || KernelTable.current.convWinograd == nil)
        let x = rng.floats(p.n * p.cin * p.h * p.w), w = rng.floats(p.cout * p.kernelSize), bias = rng.floats(p.cout)
        let act = acts[i % acts.count], withBias = i % 3 != 1
        let pool: ThreadPool? = i % 2 == 0 ? testPool : nil
        var ws = [Float](repeating: .nan, count: Conv2D.workspaceFloats(p, threads: pool?.threads ?? 1))
        var prepared = [Float](repeating: .nan, count: Conv2D.preparedWeightCount(p) ?? 0)
        prepared.withUnsafeMutableBufferPointer { Conv2D.prepareWeights(p, weight: w, into: $0.baseAddress!) }
        var outputs: [[Float]] = []
        for usePrepared in [false, true] {
            var y = [Float](repeating: .nan, count: p.n * p.cout * p.outH * p.outW)
            bias.withUnsafeBufferPointer { b in
                ws.withUnsafeMutableBufferPointer { wsp in
                    prepared.withUnsafeBufferPointer { u in
                        Conv2D.run(p, input: x, weight: w, epilogue: GemmEpilogue(bias: withBias ? b.baseAddress : nil, activation: act),
                                   output: &y, workspace: wsp.baseAddress, pool: pool, preparedWeights: usePrepared ? u.baseAddress : nil)
                    }
                }
            }
            outputs.append(y)
        }
        let want = naiveConv(p, x, w, withBias ? bias : nil, act)
        // The transforms add rounding: a tolerance scaled to the sum's size (cin·9 terms ≤ 1).
        let r = worstError(outputs[0], want, atol: 2e-6 * Float(p.kernelSize).squareRoot(), rtol: 1e-4)
        #expect(r.0 <= 1, "winograd conv #\(i) \(p) bias=\(withBias) \(act): \(describe(outputs[0], want, r))")
        #expect(outputs[1] == outputs[0], "winograd conv #\(i) with prepared weights")
        // The 2×2 MaxPool taken in the kernel equals pooling the conv's own output.
        if Conv2D.fusesMaxPool2x2(p, act) {
            let (ph, pw) = (p.outH / 2, p.outW / 2)
            var pooled = [Float](repeating: .nan, count: p.n * p.cout * ph * pw)
            bias.withUnsafeBufferPointer { b in
                ws.withUnsafeMutableBufferPointer { wsp in
                    Conv2D.run(p, input: x, weight: w, epilogue: GemmEpilogue(bias: withBias ? b.baseAddress : nil, activation: act),
                               output: &pooled, workspace: wsp.baseAddress, pool: pool, maxPool2x2: true)
                }
            }
            var want = [Float](repeating: 0, count: pooled.count)
            for plane in 0..<(p.n * p.cout) {
                for oy in 0..<ph {
                    for ox in 0..<pw {
                        let at = { (dy: Int, dx: Int) in outputs[0][(plane * p.outH + 2 * oy + dy) * p.outW + 2 * ox + dx] }
                        want[(plane * ph + oy) * pw + ox] = Swift.max(Swift.max(at(0, 0), at(0, 1)), Swift.max(at(1, 0), at(1, 1)))
                    }
                }
            }
            #expect(pooled == want, "winograd conv #\(i) \(p) with its 2×2 max pool")
            pooledCases += 1
        }
    }
    #expect(pooledCases >= 5 || KernelTable.current.convWinograd == nil, "only \(pooledCases) cases pooled")
}
