import ArgumentParser
import Foundation
import PetrelKernels

/// `petrel bench sgemm`: single-precision GEMM throughput against the measured FMA peak.
struct BenchSGEMM: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sgemm",
        abstract: "Measure SGEMM GFLOP/s (square sizes) and the percentage of the machine's FMA peak.")

    @Option(help: "Comma-separated square sizes M = N = K.")
    var sizes: String = "256,1024,4096"

    @Option(help: "Comma-separated MxNxK products with B pre-packed, as a model's MatMul/Gemm weights run (e.g. 128x384x384); each timed with B hot and with B cold (rotating over 96 MB of copies).")
    var shapes: String?

    @Option(help: "Threads (the peak is measured with the same number of threads).")
    var threads: Int = 1

    @Option(help: "Kernel ISA: reference, avx2 or avx512 (default: the best this CPU runs).")
    var isa: String?

    @Flag(help: "Print one JSON object instead of a table.")
    var json = false

    func validate() throws {
        guard threads >= 1 else { throw ValidationError("--threads must be at least 1") }
        guard !parsedSizes.isEmpty, parsedSizes.allSatisfy({ $0 > 0 }) else {
            throw ValidationError("--sizes must be a comma-separated list of positive integers")
        }
        guard parsedShapes != nil else {
            throw ValidationError("--shapes must be a comma-separated list of MxNxK products of positive integers, e.g. 128x384x384")
        }
        if let isa, ISA(rawValue: isa) == nil {
            throw ValidationError("--isa must be one of: \(ISA.allCases.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// `--shapes`, or nil when one is not MxNxK with positive sides.
    var parsedShapes: [(m: Int, n: Int, k: Int)]? {
        guard let shapes else { return [] }
        var out: [(m: Int, n: Int, k: Int)] = []
        for s in shapes.split(separator: ",", omittingEmptySubsequences: false) {
            let d = s.split(separator: "x", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard d.count == 3, let m = d[0], let n = d[1], let k = d[2], m > 0, n > 0, k > 0 else { return nil }
            out.append((m, n, k))
        }
        return out
    }

    var parsedSizes: [Int] {
        sizes.split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    }

    func run() throws {
        let want = isa.flatMap(ISA.init(rawValue:)) ?? KernelTable.current.isa
        let report = GemmBenchmark.run(sizes: parsedSizes, threads: threads, isa: want)
        let pool = ThreadPool.shared(threads: threads)
        // Weight-shaped products: B pre-packed as a compiled model holds it (the `Dense` path).
        // Each with its weights hot in cache, and cold as a transformer's layers are.
        let shaped = (parsedShapes ?? []).map { s -> (m: Int, n: Int, k: Int, ns: Double, coldNs: Double) in
            (s.m, s.n, s.k, GemmBenchmark.latency(m: s.m, n: s.n, k: s.k, packed: true, isa: report.isa, pool: pool),
             GemmBenchmark.coldLatency(m: s.m, n: s.n, k: s.k, isa: report.isa, pool: pool))
        }
        func gflops(_ s: (m: Int, n: Int, k: Int, ns: Double, coldNs: Double), _ ns: Double) -> Double {
            2 * Double(s.m * s.n * s.k) / ns
        }
        if json {
            let rs = report.results.map {
                "{\"size\": \($0.size), \"gflops\": \(fmt($0.gflops)), \"percent_of_peak\": \(fmt($0.percentOfPeak))}"
            }
            let ss = shaped.map {
                "{\"m\": \($0.m), \"n\": \($0.n), \"k\": \($0.k), \"microseconds\": \(fmt($0.ns / 1000)), "
                    + "\"gflops\": \(fmt(gflops($0, $0.ns))), \"percent_of_peak\": \(fmt(100 * gflops($0, $0.ns) / report.peakGflops)), "
                    + "\"cold_microseconds\": \(fmt($0.coldNs / 1000)), \"cold_gflops\": \(fmt(gflops($0, $0.coldNs))), "
                    + "\"cold_percent_of_peak\": \(fmt(100 * gflops($0, $0.coldNs) / report.peakGflops))}"
            }
            print("{\"peak_gflops\": \(fmt(report.peakGflops)), \"threads\": \(report.threads), "
                  + "\"isa\": \"\(report.isa.rawValue)\", \"results\": [\(rs.joined(separator: ", "))], \"shapes\": [\(ss.joined(separator: ", "))]}")
        } else {
            print("isa \(report.isa.rawValue), \(report.threads) thread(s), measured peak \(fmt(report.peakGflops)) GFLOP/s")
            print("  size     GFLOP/s   % of peak   GFLOP/s per thread-CPU-second")
            for r in report.results {
                print(String(format: "%6d  %10.1f  %9.1f   %10.1f", r.size, r.gflops, r.percentOfPeak, r.gflopsPerCPUSecond))
            }
            for s in shaped {
                for (label, ns) in [("(packed B)", s.ns), ("(cold B)  ", s.coldNs)] {
                    let g = gflops(s, ns)
                    print(String(format: "%dx%dx%d %@  %10.1f GFLOP/s  %5.1f %% of peak  %.1f µs",
                                 s.m, s.n, s.k, label, g, 100 * g / report.peakGflops, ns / 1000))
                }
            }
            // Batch-1 MLP layer and an attention-head-sized product: these run inline, no threads.
            for (m, n, k, packed) in [(1, 256, 64, true), (1, 256, 64, false), (128, 128, 32, false)] {
                let ns = GemmBenchmark.latency(m: m, n: n, k: k, packed: packed, isa: report.isa, pool: pool)
                print(String(format: "latency M=%d N=%d K=%d%@: %.0f ns", m, n, k, packed ? " (packed B)" : "", ns))
            }
        }
    }

    private func fmt(_ x: Double) -> String { String(format: "%.2f", x) }
}
