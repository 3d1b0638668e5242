import ArgumentParser
import Foundation
import PetrelHTTP2
import PetrelRuntime

/// `petrel bench cold-start`: measures cold starts against a running `petrel serve`, phase by
/// phase, as the server reports them in `Server-Timing`.
struct BenchColdStart: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "cold-start",
        abstract: "Cold starts of one function on a running server: forced to zero, then one request, repeated.",
        discussion: "Writes OUT.json (raw samples) and OUT.svg (phase breakdown per run).")

    @Argument(help: "The function.") var function: String
    @Option(help: "Server URL (default $PETREL_URL or http://127.0.0.1:8080).") var url: String?
    @Option(help: "Cold starts to measure.") var runs = 20
    @Option(help: "Set the server's prewarm pool to N for the run (0: every cold start spawns a process).") var prewarm: Int?
    @Option(help: "Also send N concurrent requests at the cold function and time them.") var burst: Int?
    @Option(help: "The infer request JSON, or @FILE (default: zeros shaped by the model's metadata).") var data: String?
    @Option(help: "Output path prefix for .json and .svg.") var output: String?
    @Option(help: "The admin key (default: $PETREL_ADMIN_KEY): forcing a function to zero is an admin call.") var adminKey: String?

    func validate() throws {
        if runs < 1 || runs > 10_000 { throw ValidationError("--runs \(runs): must be 1...10000") }
        if let b = burst, b < 1 || b > 10_000 { throw ValidationError("--burst \(b): must be 1...10000") }
        if let p = prewarm, p < 0 || p > 64 { throw ValidationError("--prewarm \(p): must be 0...64") }
    }

    func run() throws {
        let target = url ?? ProcessInfo.processInfo.environment["PETREL_URL"] ?? "http://127.0.0.1:8080"
        guard let address = serverAddress(target) else {
            stderrLine("error: --url \(target): expected http://HOST:PORT or unix:/path")
            throw ExitCode(2)
        }
        let client: HTTP2Client
        do { client = try HTTP2Client.connect(to: address) } catch {
            stderrLine("error: cannot connect to \(target): \(error)")
            throw ExitCode(3)
        }
        defer { client.close() }
        let key = adminKey ?? ProcessInfo.processInfo.environment["PETREL_ADMIN_KEY"] ?? ""
        func call(_ method: String, _ path: String, _ body: [UInt8] = []) throws -> HTTPResponse {
            var headers: HTTPHeaders = ["content-type": "application/json"]
            if path.hasPrefix("/admin/") { headers.add("authorization", "Bearer \(key)") }
            let r = try client.send(HTTPRequest(method: method, path: path, headers: headers, body: body)).wait()
            if r.status == 401 || r.status == 403 {
                stderrLine("error: \(path): \(String(decoding: r.body, as: UTF8.self)) — pass --admin-key or set PETREL_ADMIN_KEY")
                throw ExitCode(6)
            }
            return r
        }
        func json(_ r: HTTPResponse) -> [String: Any] { (try? JSONSerialization.jsonObject(with: Data(r.body))) as? [String: Any] ?? [:] }

        let body = try requestBody { try call("GET", "/v2/models/\(function)") }
        if let n = prewarm {
            let r = try call("PUT", "/admin/v1/prewarm", Array("{\"size\":\(n)}".utf8))
            guard r.status == 200 else { return fail("cannot set the prewarm pool: \(String(decoding: r.body, as: UTF8.self))") }
        }
        let wantIdle = (json(try call("GET", "/admin/v1/prewarm"))["size"] as? Int) ?? 0

        var samples: [[String: Double]] = []
        for i in 1...runs {
            let z = try call("POST", "/admin/v1/functions/\(function)/scale-to-zero")
            guard z.status == 200 else { return fail("cannot scale \(function) to zero: \(String(decoding: z.body, as: UTF8.self))") }
            try waitForPrewarm(wantIdle) { try call("GET", "/admin/v1/prewarm") }
            let t0 = MonotonicClock.now()
            let r = try call("POST", "/v2/models/\(function)/infer", body)
            let t1 = MonotonicClock.now()
            guard r.status == 200 else { return fail("infer answered \(r.status): \(String(decoding: r.body, as: UTF8.self))") }
            guard let timing = r.headers["server-timing"] else { return fail("the response was not a cold start (no Server-Timing)") }
            var sample = Self.phases(timing)
            sample["client total"] = Double(t1 - t0) / 1e6
            samples.append(sample)
            progress(i, runs)
        }
        FileHandle.standardError.write(Data("\n".utf8))

        let order = ["spawn", "main", "ready", "mapped", "inference", "client total"]
        print("cold starts of \(function): \(runs) runs, prewarm pool \(wantIdle)")
        print("| phase | p50 ms | p90 ms | p99 ms | max ms |")
        print("|---|---:|---:|---:|---:|")
        for phase in order {
            let v = samples.compactMap { $0[phase] }.sorted()
            guard !v.isEmpty else { continue }
            func pct(_ p: Double) -> Double { v[min(v.count - 1, max(0, Int((p / 100 * Double(v.count)).rounded(.up)) - 1))] }
            print(String(format: "| %@ | %.3f | %.3f | %.3f | %.3f |", phase, pct(50), pct(90), pct(99), v.last!))
        }

        var burstResult: [String: Any]?
        if let n = burst {
            _ = try call("POST", "/admin/v1/functions/\(function)/scale-to-zero")
            try waitForPrewarm(wantIdle) { try call("GET", "/admin/v1/prewarm") }
            let t0 = MonotonicClock.now()
            let futures = (0..<n).map { _ in
                client.send(HTTPRequest(method: "POST", path: "/v2/models/\(function)/infer", headers: ["content-type": "application/json"], body: body))
            }
            var ok = 0, cold = 0
            for f in futures {
                if let r = try? f.wait(), r.status == 200 { ok += 1; if r.headers["server-timing"] != nil { cold += 1 } }
            }
            let ms = Double(MonotonicClock.now() - t0) / 1e6
            let view = try AdminJSON.decoder().decode(FunctionView.self, from: Data(try call("GET", "/admin/v1/functions/\(function)").body))
            let started = view.revisions.compactMap(\.runtime).reduce(0) { $0 + $1.workers.values.reduce(0, +) }
            print(String(format: "burst of %d at zero: all answered in %.1f ms, %d ok, %d waited on a cold start, %d worker(s) running after", n, ms, ok, cold, started))
            burstResult = ["requests": n, "ok": ok, "cold": cold, "all_answered_ms": ms, "workers_after": started]
        }

        let prefix = output ?? "bench-results/cold-start-\(function)"
        try? FileManager.default.createDirectory(atPath: (prefix as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        var doc: [String: Any] = ["function": function, "runs": runs, "prewarm": wantIdle, "samples_ms": samples]
        if let burstResult { doc["burst"] = burstResult }
        try JSONSerialization.data(withJSONObject: doc, options: [.prettyPrinted, .sortedKeys]).write(to: URL(fileURLWithPath: prefix + ".json"))
        try Data(Self.svg(samples, title: "\(function) cold starts (prewarm \(wantIdle))").utf8).write(to: URL(fileURLWithPath: prefix + ".svg"))
        print("wrote \(prefix).json and \(prefix).svg")
    }

    private func fail(_ message: String) {
        stderrLine("error: \(message)")
        Foundation.exit(4)
    }

    private func waitForPrewarm(_ n: Int, _ get: () throws -> HTTPResponse) throws {
        guard n > 0 else { return }
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let obj = (try? JSONSerialization.jsonObject(with: Data(try get().body))) as? [String: Any]
            if (obj?["idle"] as? Int ?? 0) >= n { return }
            Thread.sleep(forTimeInterval: 0.005)
        }
    }

    private func requestBody(_ metadata: () throws -> HTTPResponse) throws -> [UInt8] {
        if let data { return try reportingErrors { try readDataArgument(data) } }
        let meta = try metadata()
        guard meta.status == 200, let obj = try JSONSerialization.jsonObject(with: Data(meta.body)) as? [String: Any],
              let inputs = obj["inputs"] as? [[String: Any]] else {
            stderrLine("error: no metadata for \(function): \(String(decoding: meta.body, as: UTF8.self))")
            throw ExitCode(2)
        }
        // Zeros; a dynamic dim is 1 (batch) or 8 (any later one, e.g. a sequence).
        let tensors: [[String: Any]] = inputs.map { i in
            let shape = ((i["shape"] as? [Int]) ?? []).enumerated().map { $0.element >= 0 ? $0.element : ($0.offset == 0 ? 1 : 8) }
            return ["name": i["name"] ?? "", "datatype": i["datatype"] ?? "FP32", "shape": shape,
                    "data": [Int](repeating: 0, count: shape.reduce(1, *))]
        }
        return Array(try JSONSerialization.data(withJSONObject: ["inputs": tensors]))
    }

    private func progress(_ i: Int, _ n: Int) {
        let width = 30, done = i * width / n
        let bar = String(repeating: "#", count: done) + String(repeating: " ", count: width - done)
        FileHandle.standardError.write(Data("\r[\(bar)] \(i)/\(n)".utf8))
    }

    /// `Server-Timing: cold;desc="...", spawn;dur=0.1, main;dur=2.3, ...` → phase → ms.
    static func phases(_ header: String) -> [String: Double] {
        var out: [String: Double] = [:]
        for part in header.split(separator: ",") {
            let fields = part.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
            guard let name = fields.first, let dur = fields.first(where: { $0.hasPrefix("dur=") }) else { continue }
            out[name] = Double(dur.dropFirst(4))
        }
        return out
    }

    /// One stacked bar per run: the time spent in each phase.
    static func svg(_ samples: [[String: Double]], title: String) -> String {
        let phases = ["spawn", "main", "ready", "mapped", "inference"]
        let colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f"]
        let maxMs = max(0.001, samples.map { s in phases.reduce(0) { $0 + (s[$1] ?? 0) } }.max() ?? 1)
        let rowH = 14, left = 60, width = 640, top = 40
        let height = top + samples.count * rowH + 50
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(left + width + 20)\" height=\"\(height)\" font-family=\"sans-serif\" font-size=\"11\">\n"
        svg += "<text x=\"10\" y=\"20\" font-size=\"14\">\(title)</text>\n"
        for (i, s) in samples.enumerated() {
            var x = Double(left)
            let y = top + i * rowH
            svg += "<text x=\"10\" y=\"\(y + 10)\">run \(i + 1)</text>"
            for (p, c) in zip(phases, colors) {
                let w = (s[p] ?? 0) / maxMs * Double(width)
                svg += String(format: "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" height=\"%d\" fill=\"%@\"><title>%@ %.3f ms</title></rect>", x, y, w, rowH - 2, c, p, s[p] ?? 0)
                x += w
            }
            svg += "\n"
        }
        let axisY = top + samples.count * rowH + 14
        svg += String(format: "<text x=\"%d\" y=\"%d\">0</text><text x=\"%d\" y=\"%d\" text-anchor=\"end\">%.2f ms</text>\n", left, axisY, left + width, axisY, maxMs)
        for (i, (p, c)) in zip(phases, colors).enumerated() {
            svg += "<rect x=\"\(left + i * 110)\" y=\"\(axisY + 10)\" width=\"10\" height=\"10\" fill=\"\(c)\"/><text x=\"\(left + i * 110 + 14)\" y=\"\(axisY + 19)\">\(p)</text>"
        }
        return svg + "\n</svg>\n"
    }
}
