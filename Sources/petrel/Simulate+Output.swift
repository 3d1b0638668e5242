import Foundation
import PetrelRuntime

extension Simulate {
    func printTable(_ results: [Simulation.Result], settings s: SimulationSettings, traffic: String, elapsed: Double) {
        let c = s.scaling
        let cc = c.containerConcurrency == 0 ? "unlimited" : String(c.containerConcurrency)
        print("traffic   \(traffic)")
        print("workers   start \(s.coldStart), request \(s.service); containerConcurrency \(cc), "
              + "target \(Self.format(c.targetConcurrency))/worker, queue \(s.queueLimit), "
              + "scale \(c.minScale)...\(c.maxScale == 0 ? "∞" : String(c.maxScale))")
        print("")
        let header = ["function", "requests", "served", "rejected", "timed out", "cold", "cold %",
                      "wait p50 ms", "p90", "p99", "max", "worker-s", "peak", "at zero s", "panic s"]
        var rows = [header]
        for r in results {
            let p = r.report
            func ms(_ x: Double) -> String { String(format: "%.1f", x * 1000) }
            rows.append([r.function, "\(p.requests)", "\(p.served)", "\(p.rejected)", "\(p.timedOut)", "\(p.coldStarts)",
                         String(format: "%.3f", p.coldStartRate * 100), ms(p.delayP50), ms(p.delayP90), ms(p.delayP99),
                         ms(p.maxDelay), String(format: "%.0f", p.workerSeconds), "\(p.peakWorkers)",
                         String(format: "%.0f", p.secondsAtZero), String(format: "%.0f", p.panicSeconds)])
        }
        let widths = header.indices.map { i in rows.map { $0[i].count }.max()! }
        for row in rows {
            print(row.enumerated().map { i, cell in
                let pad = String(repeating: " ", count: widths[i] - cell.count)
                return i == 0 ? cell + pad : pad + cell
            }.joined(separator: "  "))
        }
        let simulated = results.map(\.report.duration).max() ?? 0
        print("")
        print("simulated \(Self.format(simulated)) s (until the pool was back at minScale) in "
              + String(format: "%.2f s", elapsed))
    }

    func printJSON(_ results: [Simulation.Result], settings s: SimulationSettings, traffic: String, elapsed: Double) {
        let c = s.scaling
        let config: [String: Any] = [
            "traffic": traffic, "cold_start": s.coldStart.description, "service": s.service.description,
            "container_concurrency": c.containerConcurrency, "target_concurrency": c.targetConcurrency,
            "queue_limit": s.queueLimit, "min_scale": c.minScale, "max_scale": c.maxScale, "seed": s.seed,
        ]
        let functions: [[String: Any]] = results.map { r in
            var f: [String: Any] = ["function": r.function]
            for (k, v) in r.report.fields { f[k] = v }
            return f
        }
        let doc: [String: Any] = ["settings": config, "functions": functions, "elapsed_s": elapsed]
        let data = try! JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys, .prettyPrinted, .withoutEscapingSlashes])
        print(String(decoding: data, as: UTF8.self))
    }

    static func format(_ x: Double) -> String {
        x == x.rounded() && abs(x) < 1e15 ? String(Int64(x)) : String(format: "%.3g", x)
    }
}
