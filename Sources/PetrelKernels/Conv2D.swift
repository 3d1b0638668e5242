import CPetrelMicrokernels
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
    var isPadded: Bool { padTop != 0 || padLeft != 0 || padBottom != 0 || padRight != 0 }
}

/// Convolution by one of four paths, picked per shape in `run`: Winograd F(2×2, 3×3) for 3×3
/// stride-1 convs from 8 input channels (`runWinograd`), a direct kernel for the other stride-1
/// ones (`runDirect`), a direct loop for depthwise ones, and otherwise im2col + GEMM: weights
/// [Cout/g × K] are A (read in place), the im2col matrix is B, written directly in the GEMM's
/// packed-panel layout (`im2colPacked`), so the output comes out
/// channel-major and the bias is per row (`biasPerRow`) in the GEMM epilogue, fused
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
        if usesWinograd(p) {
            return winogradWeightFloats(p) + winogradScratchFloats(p) * winogradWorkers(p, threads: threads).workers
        }
        if usesDirect(p) { return directWeightFloats(p) + paddedFloats(p) * directWorkers(p, threads: threads) }
        let g = imagesPerGemm(p), cols = g * p.outH * p.outW
        let one = (p.isPointwise ? 0 : packedFloats(p, columns: cols) + paddedFloats(p)) + (g > 1 ? p.cout / p.group * cols : 0)
        return one * workers(p, threads: threads)
    }

    /// The im2col matrix of `columns` output pixels in the GEMM's packed-B layout.
    static func packedFloats(_ p: ConvParams, columns: Int) -> Int {
        PackedBLayout(k: p.kernelSize, n: columns, nr: KernelTable.current.gemm.nr).floatCount
    }

    /// A group's input channels copied into zero-bordered planes (`paddedPlane`), when the conv pads.
    static func paddedFloats(_ p: ConvParams) -> Int {
        guard p.isPadded else { return 0 }
        let (hp, wp) = paddedPlane(p)
        // Whole cache lines: each thread pads into its own slot, and slots sharing a line made
        // the threads invalidate each other's reads (a 10×10 plane is 400 bytes).
        return roundUp(p.cin / p.group * hp * wp, 16)
    }

    /// Height and width of an input plane with its pads around it: every tap of every output
    /// pixel falls inside, so im2col copies without bounds checks.
    static func paddedPlane(_ p: ConvParams) -> (h: Int, w: Int) {
        (Swift.max(p.h + p.padTop + p.padBottom, (p.outH - 1) * p.strideH + (p.kh - 1) * p.dilationH + 1),
         Swift.max(p.w + p.padLeft + p.padRight, (p.outW - 1) * p.strideW + (p.kw - 1) * p.dilationW + 1))
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
    /// `preparedWeights`: the weights as `prepareWeights` lays them out (constant weights,
    /// prepared once per plan); without them a direct or Winograd conv lays them out in
    /// `workspace` per call.
    public static func run(_ p: ConvParams, input: UnsafePointer<Float>, weight: UnsafePointer<Float>,
                           epilogue: GemmEpilogue = .none, output: UnsafeMutablePointer<Float>,
                           workspace: UnsafeMutablePointer<Float>?, pool: ThreadPool? = nil,
                           preparedWeights: UnsafePointer<Float>? = nil, maxPool2x2: Bool = false) {
        let oh = p.outH, ow = p.outW
        precondition(oh > 0 && ow > 0, "conv: empty output for \(p)")
        precondition(!maxPool2x2 || fusesMaxPool2x2(p, epilogue.activation), "conv: cannot pool in the kernel for \(p)")
        if p.isDepthwise { depthwise(p, input: input, weight: weight, epilogue: epilogue, output: output, pool: pool); return }
        if usesWinograd(p), let kernel = KernelTable.current.convWinograd {
            return runWinograd(p, kernel, input: input, weight: weight, prepared: preparedWeights, epilogue: epilogue,
                               output: output, workspace: workspace!, pool: pool, maxPool2x2: maxPool2x2)
        }
        if usesDirect(p), let kernel = KernelTable.current.convDirect {
            return runDirect(p, kernel, input: input, weight: weight, prepared: preparedWeights, epilogue: epilogue,
                             output: output, workspace: workspace!, pool: pool)
        }
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

    // MARK: direct convolution

    /// Stride 1, no dilation, groups of several channels, not 1×1: the direct kernel
    /// (`petrel_conv_direct_fn`), which needs no im2col. digits-cnn, one thread (3×3 convs of 1→16
    /// and 16→32 channels on 8×8): batch 64 1.16 → 0.56 ms, batch 1 20 → 16 µs against im2col into
    /// packed panels + GEMM, whose copies cost as much as the multiply-adds at these sizes.
    static func usesDirect(_ p: ConvParams) -> Bool {
        KernelTable.current.convDirect != nil && p.strideH == 1 && p.strideW == 1 && p.dilationH == 1 && p.dilationW == 1
            && !p.isPointwise && !p.isDepthwise
    }

    /// One group's weights in blocks of 4 output channels, `[block][ci][ky][kx][4]`.
    static func directWeightFloats(_ p: ConvParams) -> Int {
        (p.cout / p.group + 3) / 4 * 4 * p.kernelSize
    }

    /// Floats `prepareWeights` writes, or nil when this conv reads its weights as they are
    /// (im2col + GEMM, depthwise).
    public static func preparedWeightCount(_ p: ConvParams) -> Int? {
        if usesWinograd(p) { return winogradWeightFloats(p) }
        return usesDirect(p) ? p.group * directWeightFloats(p) : nil
    }

    /// Lays out weight[cout][cin/g][kh][kw] for the Winograd or direct kernel (group after group).
    /// Done per call it was 40 % of a batch-1 digits-cnn inference, so constant weights are laid
    /// out once per plan.
    public static func prepareWeights(_ p: ConvParams, weight: UnsafePointer<Float>, into: UnsafeMutablePointer<Float>) {
        if usesWinograd(p) { return petrel_conv_winograd_weights(weight, p.cin, p.cout, into) }
        for g in 0..<p.group { layOutDirect(p, group: g, weight: weight, into: into + g * directWeightFloats(p)) }
    }

    static func layOutDirect(_ p: ConvParams, group g: Int, weight: UnsafePointer<Float>, into w4: UnsafeMutablePointer<Float>) {
        let cg = p.cin / p.group, mg = p.cout / p.group, taps = p.kh * p.kw
        for b in 0..<(mg + 3) / 4 {
            for ci in 0..<cg {
                for t in 0..<taps {
                    let d = w4 + ((b * cg + ci) * taps + t) * 4
                    for j in 0..<4 {
                        let co = b * 4 + j
                        d[j] = co < mg ? weight[((g * mg + co) * cg + ci) * taps + t] : 0
                    }
                }
            }
        }
    }

    /// Work items are (image, block of 4 channels); threads take contiguous runs of them.
    static func directWorkers(_ p: ConvParams, threads: Int) -> Int {
        let macs = p.n * p.cout * p.outH * p.outW * p.kernelSize
        let items = p.n * ((p.cout / p.group + 3) / 4)
        return threads > 1 && items >= threads && macs >= directParallelMACs ? threads : 1
    }
    /// Below this a parallel region (1–3 µs with spinning workers) costs more than half the conv.
    static let directParallelMACs = 1 << 18
    /// Winograd does ~2.25× fewer multiply-adds than its `macs` count, so a conv of 2^18–2^20 of
    /// them is a few µs: digits-cnn's second conv at batch 1 (295 k) took 4.1 µs on one thread and
    /// no less split over two (each split redoes the input transform, and the region costs 1–3 µs).
    static let winogradParallelMACs = 1 << 20

    static func runDirect(_ p: ConvParams, _ kernel: petrel_conv_direct_fn, input: UnsafePointer<Float>,
                          weight: UnsafePointer<Float>, prepared: UnsafePointer<Float>?, epilogue: GemmEpilogue,
                          output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, pool: ThreadPool?) {
        let cg = p.cin / p.group, mg = p.cout / p.group, blocks = (mg + 3) / 4
        let (oh, ow) = (p.outH, p.outW)
        let (hp, wp) = p.isPadded ? paddedPlane(p) : (p.h, p.w)
        let padFloats = paddedFloats(p), pads = workspace + directWeightFloats(p)
        let workers = directWorkers(p, threads: pool?.threads ?? 1)
        // Piecewise-linear activations in the kernel's store; the others as a pass afterwards.
        let code = epilogue.activation.kernelCode
        let (act, lo, hi) = code ?? (0, 0, 0)
        for g in 0..<p.group {
            let w4: UnsafePointer<Float>
            if let prepared { w4 = prepared + g * directWeightFloats(p) } else {
                layOutDirect(p, group: g, weight: weight, into: workspace)
                w4 = UnsafePointer(workspace)
            }
            let bias = epilogue.bias.map { $0 + g * mg }
            let items = p.n * blocks
            // Items claimed (`parallelClaim`: own share first, then the others' from their ends), so
            // a vCPU the host slows down does less instead of holding the region up; each slot pads
            // an image into its own plane when its next item needs another image.
            withUnsafeTemporaryAllocation(of: Int.self, capacity: workers) { padded in
                for t in 0..<workers { padded[t] = -1; fillZero(pads + t * padFloats, padFloats) }
                func run(_ t: Int, _ item: Int) {
                    let i = item / blocks, pad = pads + t * padFloats
                    var src = input + (i * p.cin + g * cg) * p.h * p.w
                    if p.isPadded {
                        if padded[t] != i { Conv2D.pad(p, src, into: pad, channels: cg); padded[t] = i }
                        src = UnsafePointer(pad)
                    }
                    kernel(src, cg, hp, wp, w4, item % blocks, 1, mg, p.kh, p.kw,
                           output + (i * p.cout + g * mg) * oh * ow, oh, ow, bias, act, lo, hi)
                }
                if workers == 1 { for item in 0..<items { run(0, item) } } else { pool!.parallelClaim(items, slots: workers, run) }
            }
        }
        if code == nil { Elementwise.unaryRange(UnaryOp(epilogue.activation), x: output, y: output, count: p.n * p.cout * oh * ow) }
    }

    // MARK: Winograd F(2×2, 3×3)

    /// 3×3, stride 1, no dilation, one group, from 8 input channels: Winograd
    /// (`petrel_conv_winograd_fn`). digits-cnn's second conv (16 → 32 channels on 8×8, batch 64,
    /// one thread): direct 0.39 → 0.28 ms; 64 → 64 on 56×56: 3.1 → 1.9 ms. With 4 input channels
    /// the transforms outweigh the saved multiply-adds (0.073 → 0.094 ms), so small ones stay direct.
    /// Its error is a few ulps of the sum's magnitude more than the direct conv's.
    static func usesWinograd(_ p: ConvParams) -> Bool {
        KernelTable.current.convWinograd != nil && p.kh == 3 && p.kw == 3 && p.strideH == 1 && p.strideW == 1
            && p.dilationH == 1 && p.dilationW == 1 && p.group == 1 && p.cin >= 8
    }

    /// Whether `run(maxPool2x2: true)` can apply a following 2×2, stride-2 MaxPool in the kernel:
    /// Winograd's 2×2 output tiles are exactly the pooling windows when the output's sides are
    /// even, and the activation must run in the kernel (before the max). digits-cnn (batch 64):
    /// the 0.5 MB conv output is never written and the separate MaxPool (0.024 ms) is gone.
    public static func fusesMaxPool2x2(_ p: ConvParams, _ activation: Activation) -> Bool {
        usesWinograd(p) && p.outH % 2 == 0 && p.outW % 2 == 0 && activation.kernelCode != nil
    }

    static func winogradWeightFloats(_ p: ConvParams) -> Int { petrel_conv_winograd_weight_floats(p.cin, p.cout) }
    /// Weight blocks of `PETREL_WINOGRAD_BLOCK` output channels.
    static func winogradBlocks(_ p: ConvParams) -> Int {
        (p.cout + Int(PETREL_WINOGRAD_BLOCK) - 1) / Int(PETREL_WINOGRAD_BLOCK)
    }
    static func winogradScratchFloats(_ p: ConvParams) -> Int { petrel_conv_winograd_scratch_floats(p.cin, p.outH, p.outW) }

    /// Work items are (image, share of the weight blocks): whole images per thread when there are
    /// enough of them, else each image's blocks split between threads (each redoing the input
    /// transform, a small part of the work).
    static func winogradWorkers(_ p: ConvParams, threads: Int) -> (workers: Int, splits: Int) {
        let macs = p.n * p.cout * p.outH * p.outW * p.kernelSize
        guard threads > 1, macs >= winogradParallelMACs else { return (1, 1) }
        if p.n >= threads { return (threads, 1) }
        let splits = Swift.min(winogradBlocks(p), (threads + p.n - 1) / p.n)
        return splits > 1 || p.n > 1 ? (Swift.min(threads, p.n * splits), splits) : (1, 1)
    }

    static func runWinograd(_ p: ConvParams, _ kernel: petrel_conv_winograd_fn, input: UnsafePointer<Float>,
                            weight: UnsafePointer<Float>, prepared: UnsafePointer<Float>?, epilogue: GemmEpilogue,
                            output: UnsafeMutablePointer<Float>, workspace: UnsafeMutablePointer<Float>, pool: ThreadPool?,
                            maxPool2x2: Bool) {
        let u: UnsafePointer<Float>
        if let prepared { u = prepared } else {
            petrel_conv_winograd_weights(weight, p.cin, p.cout, workspace)
            u = UnsafePointer(workspace)
        }
        let scratch = workspace + winogradWeightFloats(p), scratchFloats = winogradScratchFloats(p)
        let (workers, splits) = winogradWorkers(p, threads: pool?.threads ?? 1)
        let blocks = winogradBlocks(p)
        let code = epilogue.activation.kernelCode
        let (act, lo, hi) = code ?? (0, 0, 0)
        let (oh, ow, items) = (p.outH, p.outW, p.n * splits)
        let outPlane = maxPool2x2 ? (oh / 2) * (ow / 2) : oh * ow
        func run(_ t: Int, _ item: Int) {
            let i = item / splits, s = item % splits
            let b0 = blocks * s / splits, b1 = blocks * (s + 1) / splits
            kernel(input + i * p.cin * p.h * p.w, p.cin, p.h, p.w, p.padTop, p.padLeft, u, b0, b1 - b0, p.cout,
                   output + i * p.cout * outPlane, oh, ow, epilogue.bias, act, lo, hi, maxPool2x2 ? 1 : 0,
                   scratch + t * scratchFloats)
        }
        if workers == 1 { for item in 0..<items { run(0, item) } } else { pool!.parallelClaim(items, slots: workers, run) }
        if code == nil { Elementwise.unaryRange(UnaryOp(epilogue.activation), x: output, y: output, count: p.n * p.cout * oh * ow) }
    }

    // MARK: im2col + GEMM

    /// Images [first, first + imagesPerGemm) of the batch: im2col side by side straight into the
    /// GEMM's packed-B panels, one GEMM per group (weights read in place), rows copied out to NCHW.
    static func chunk(_ p: ConvParams, _ first: Int, _ input: UnsafePointer<Float>, _ weight: UnsafePointer<Float>,
                      _ epilogue: GemmEpilogue, _ output: UnsafeMutablePointer<Float>,
                      _ col: UnsafeMutablePointer<Float>?, _ pool: ThreadPool?) {
        let cg = p.cin / p.group, mg = p.cout / p.group, k = p.kernelSize, npix = p.outH * p.outW
        let images = Swift.min(imagesPerGemm(p), p.n - first), cols = images * npix
        let nr = KernelTable.current.gemm.nr
        for g in 0..<p.group {
            let e = GemmEpilogue(bias: epilogue.bias.map { $0 + g * mg }, biasPerRow: true, activation: epilogue.activation)
            if p.isPointwise {  // col is nil: never batched
                Gemm.sgemm(m: mg, n: npix, k: k, a: weight + g * mg * k, lda: k, b: input + (first * p.cin + g * cg) * npix, ldb: npix,
                           c: output + (first * p.cout + g * mg) * npix, ldc: npix, epilogue: e, pool: pool)
                continue
            }
            let padded = col! + packedFloats(p, columns: cols)
            let (hp, wp) = p.isPadded ? paddedPlane(p) : (p.h, p.w)
            if p.isPadded { fillZero(padded, paddedFloats(p)) }
            for i in 0..<images {
                var src = input + ((first + i) * p.cin + g * cg) * p.h * p.w
                if p.isPadded { pad(p, src, into: padded, channels: cg); src = UnsafePointer(padded) }
                im2colPacked(p, src, planeH: hp, planeW: wp, into: col!, nr: nr, column0: i * npix, pool: pool)
            }
            zeroPanelTail(col!, k: k, columns: cols, nr: nr)
            if images == 1 {
                Gemm.sgemmPacked(m: mg, n: npix, k: k, a: weight + g * mg * k, lda: k, packedB: col!,
                                 c: output + (first * p.cout + g * mg) * npix, ldc: npix, epilogue: e, pool: pool)
                continue
            }
            let staged = padded + paddedFloats(p)
            Gemm.sgemmPacked(m: mg, n: cols, k: k, a: weight + g * mg * k, lda: k, packedB: col!,
                             c: staged, ldc: cols, epilogue: e, pool: pool)
            for i in 0..<images {
                for r in 0..<mg {
                    (output + ((first + i) * p.cout + g * mg + r) * npix).update(from: staged + r * cols + i * npix, count: npix)
                }
            }
        }
    }

    /// One image's im2col columns [column0, column0 + outH·outW) written straight into packed-B
    /// panels (`nr` columns each, panel q at q·K·nr, row p at p·nr inside it): no im2col matrix,
    /// no separate packing pass. Row `(c·kh + ky)·kw + kx` holds input[c][iy][ix]; `src` planes
    /// (planeH × planeW) already carry the pads, so each output row is one plain copy, split only
    /// where it crosses a panel. For digits-cnn (batch 64) im2col and packing were 43 % of the run
    /// (per-row divisions, bounds and zero fills on 8-float rows) against 28 % in the microkernel.
    static func im2colPacked(_ p: ConvParams, _ src: UnsafePointer<Float>, planeH: Int, planeW: Int,
                             into packed: UnsafeMutablePointer<Float>, nr: Int, column0: Int, pool: ThreadPool?) {
        let oh = p.outH, ow = p.outW, npix = oh * ow, panelStride = p.kernelSize &* nr
        let (kh, kw, cg) = (p.kh, p.kw, p.cin / p.group)
        let (sh, sw, dh, dw) = (p.strideH, p.strideW, p.dilationH, p.dilationW)
        let q0 = column0 / nr, off0 = column0 - q0 * nr, rowStep = sh &* planeW
        parallelRanges(cg, grain: Swift.max(1, parallelGrain / (npix * kh * kw)), pool: pool) { channels in
            for c in channels {
                var row = c &* kh &* kw
                for ky in 0..<kh {
                    for kx in 0..<kw {
                        let rowBase = packed + row &* nr
                        var s = src + (c &* planeH &* planeW &+ ky &* dh &* planeW &+ kx &* dw)
                        var q = q0, off = off0
                        for _ in 0..<oh {
                            if off &+ ow <= nr {
                                let d = rowBase + (q &* panelStride &+ off)
                                if sw == 1 { copyFloats(d, s, ow) } else { for ox in 0..<ow { d[ox] = s[ox &* sw] } }
                                off &+= ow
                                if off == nr { off = 0; q &+= 1 }
                            } else {
                                for ox in 0..<ow {
                                    rowBase[q &* panelStride &+ off] = s[ox &* sw]
                                    off &+= 1
                                    if off == nr { off = 0; q &+= 1 }
                                }
                            }
                            s += rowStep
                        }
                        row &+= 1
                    }
                }
            }
        }
    }

    /// `channels` planes of `src` (h × w) into zero-bordered planes of `paddedPlane(p)`. Only the
    /// image is written: the caller zeroes `dst` once, and the border stays zero across images.
    static func pad(_ p: ConvParams, _ src: UnsafePointer<Float>, into dst: UnsafeMutablePointer<Float>, channels: Int) {
        let (hp, wp) = paddedPlane(p)
        for c in 0..<channels {
            let plane = src + c * p.h * p.w, out = dst + c * hp * wp + p.padTop * wp + p.padLeft
            for y in 0..<p.h { copyFloats(out + y * wp, plane + y * p.w, p.w) }
        }
    }

    /// Zeroes the columns past `columns` in the last packed panel (the microkernel reads whole panels).
    static func zeroPanelTail(_ packed: UnsafeMutablePointer<Float>, k: Int, columns: Int, nr: Int) {
        let used = columns % nr
        if used == 0 { return }
        let last = packed + (columns / nr) * k * nr
        for row in 0..<k { fillZero(last + row * nr + used, nr - used) }
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
