#if canImport(Glibc)
import Glibc
#endif

/// SGEMM throughput against the machine's measured FMA peak (`petrel bench sgemm`).
public enum GemmBenchmark {
    public struct Result: Sendable {
        public var size: Int
        public var gflops: Double
        public var percentOfPeak: Double
        /// GFLOP per second of process CPU time, i.e. per busy thread (median run; includes spinning): on a machine shared with other jobs
        /// this shows the kernel's own efficiency where wall-clock figures show the contention.
        public var gflopsPerCPUSecond: Double = 0
    }
    public struct Report: Sendable {
        public var isa: ISA
        public var threads: Int
        /// Measured peak of all `threads` threads together (GFLOP/s).
        public var peakGflops: Double
        public var results: [Result]
    }

    static func now() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    static func threadCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Peak FMA throughput (GFLOP/s) of `threads` threads running the ISA's peak loop at once
    /// (best of 5 runs of ~20 ms per thread, summed).
    public static func measurePeak(isa: ISA, threads: Int) -> Double {
        let kern = KernelTable(isa: isa).gemm
        let pool = ThreadPool.shared(threads: threads)
        let iters = 2_000_000
        // Each thread times its own loop in thread CPU time, so a time slice lost to another process
        // on a shared machine does not lower the peak (it still lowers the GEMM figures: honest).
        var best = [Double](repeating: 0, count: threads)
        var sink = [Float](repeating: 0, count: threads)
        for _ in 0..<5 {
            best.withUnsafeMutableBufferPointer { f in
                sink.withUnsafeMutableBufferPointer { s in
                    let fp = f.baseAddress!, sp = s.baseAddress!
                    pool.parallelFor(threads) { t in
                        let t0 = threadCPUTime()
                        let flops = kern.peakLoop(iters, sp + t)
                        fp[t] = max(fp[t], flops / (threadCPUTime() - t0) / 1e9)
                    }
                }
            }
        }
        return best.reduce(0, +)
    }

    /// GFLOP/s of C = A·B for square `size`, median of up to 7 timed runs (at least 3, bounded to
    /// ~3 s per size) after one warm-up run.
    public static func measure(size: Int, isa: ISA, pool: ThreadPool) -> Double {
        measureBoth(size: size, isa: isa, pool: pool).wall
    }

    static func processCPUTime() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) * 1e-9
    }

    /// Wall-clock GFLOP/s and GFLOP per CPU-second (each the median run).
    static func measureBoth(size: Int, isa: ISA, pool: ThreadPool) -> (wall: Double, cpu: Double) {
        let kern = KernelTable(isa: isa).gemm
        let count = size * size
        let a = alignedFloats(count, 0), b = alignedFloats(count, 0), c = alignedFloats(count, 0)
        defer { a.deallocate(); b.deallocate(); c.deallocate() }
        var seed: UInt32 = 12345
        for i in 0..<count {
            seed = seed &* 1664525 &+ 1013904223
            a[i] = Float(seed >> 8) / Float(1 << 24) - 0.5
            b[i] = Float((seed >> 4) & 0xFFFF) / 65536 - 0.5
        }
        let run = {
            Gemm.sgemm(kernels: kern, m: size, n: size, k: size, a: a, lda: size, b: b, ldb: size,
                       c: c, ldc: size, pool: pool)
        }
        run()
        var times: [Double] = [], cpu: [Double] = []
        let start = now()
        while times.count < 7 && (times.count < 3 || now() - start < 3) {
            let t0 = now(), c0 = processCPUTime()
            run()
            times.append(now() - t0); cpu.append(processCPUTime() - c0)
        }
        times.sort(); cpu.sort()
        let flops = 2 * Double(size) * Double(size) * Double(size)
        return (flops / times[times.count / 2] / 1e9, flops / cpu[cpu.count / 2] / 1e9)
    }

    /// Floats 64-byte aligned, as a compiled model's weights and arena are: from a 16-byte aligned
    /// array every other 32-byte load of a B panel splits a cache line (measured: −10 % at 1024 rows).
    static func alignedFloats(_ count: Int, _ value: Float) -> UnsafeMutablePointer<Float> {
        let p = UnsafeMutableRawPointer.allocate(byteCount: max(count, 1) * MemoryLayout<Float>.size, alignment: 64)
            .bindMemory(to: Float.self, capacity: max(count, 1))
        p.initialize(repeating: value, count: count)
        return p
    }

    /// Nanoseconds per call (median of 9 batches of `reps` calls) of M×N×K, with pre-packed B (the
    /// MatMul-with-constant-weights path) when `packed`. `copies` > 1 rotates the calls over that
    /// many packed copies of B, so each call finds its weights cold.
    static func timeProduct(m: Int, n: Int, k: Int, packed: Bool, copies: Int, reps: Int, isa: ISA,
                            pool: ThreadPool?) -> Double {
        let kern = KernelTable(isa: isa).gemm
        let layout = PackedBLayout(k: k, n: n, nr: kern.nr)
        let a = alignedFloats(m * k, 0.5), b = alignedFloats(k * n, 0.25), c = alignedFloats(m * n, 0)
        let pb = alignedFloats(layout.floatCount * copies, 0)
        defer { a.deallocate(); b.deallocate(); c.deallocate(); pb.deallocate() }
        for i in 0..<copies { Gemm.packB(kernels: kern, k: k, n: n, b: b, ldb: n, into: pb + i * layout.floatCount) }
        var samples: [Double] = []
        for _ in 0..<10 {
            let t0 = now()
            for r in 0..<reps {
                if packed {
                    Gemm.sgemmPacked(kernels: kern, m: m, n: n, k: k, a: a, lda: k,
                                     packedB: pb + r % copies * layout.floatCount, c: c, ldc: n, pool: pool)
                } else {
                    Gemm.sgemm(kernels: kern, m: m, n: n, k: k, a: a, lda: k, b: b, ldb: n, c: c, ldc: n, pool: pool)
                }
            }
            samples.append((now() - t0) / Double(reps) * 1e9)
        }
        samples.removeFirst()
        samples.sort()
        return samples[samples.count / 2]
    }

    /// Nanoseconds per call of a small product that must run inline (B hot in cache).
    public static func latency(m: Int, n: Int, k: Int, packed: Bool, isa: ISA, pool: ThreadPool?) -> Double {
        timeProduct(m: m, n: n, k: k, packed: packed, copies: 1, reps: max(1, 20_000_000 / max(1, m * n * k)),
                    isa: isa, pool: pool)
    }

    /// Nanoseconds per call of M×N×K with pre-packed B whose weights are cold, as a model's are: a
    /// transformer's layers do not fit L3, so each Dense streams its weights from memory. Calls
    /// rotate over copies of B totalling ≥ 96 MB; A (the activation the previous op just wrote)
    /// stays hot.
    public static func coldLatency(m: Int, n: Int, k: Int, isa: ISA, pool: ThreadPool?) -> Double {
        let bytes = PackedBLayout(k: k, n: n, nr: KernelTable(isa: isa).gemm.nr).floatCount * MemoryLayout<Float>.size
        let copies = max(2, (96 << 20) / bytes + 1)
        return timeProduct(m: m, n: n, k: k, packed: true, copies: copies, reps: copies, isa: isa, pool: pool)
    }

    public static func run(sizes: [Int], threads: Int, isa: ISA = KernelTable.current.isa) -> Report {
        let isa = min(isa, ISA.detected)
        let peak = measurePeak(isa: isa, threads: threads)
        let pool = ThreadPool.shared(threads: threads)
        let results = sizes.map { s -> Result in
            let (g, gc) = measureBoth(size: s, isa: isa, pool: pool)
            return Result(size: s, gflops: g, percentOfPeak: 100 * g / peak, gflopsPerCPUSecond: gc)
        }
        return Report(isa: isa, threads: threads, peakGflops: peak, results: results)
    }
}
