import Foundation
import Testing

/// End-to-end: the real `petrel` binary on the bundled functions.
let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
}()

func petrel(_ args: [String], home: String? = nil) throws -> (code: Int32, out: String, err: String) {
    let bin = ["debug", "release"].map { "\(root)/.build/\($0)/petrel" }.first { FileManager.default.isExecutableFile(atPath: $0) }!
    let p = Process()
    p.executableURL = URL(fileURLWithPath: bin)
    p.arguments = args
    p.currentDirectoryURL = URL(fileURLWithPath: root)
    var env = ProcessInfo.processInfo.environment
    env["PETREL_HOME"] = home ?? NSTemporaryDirectory() + "petrel-cli-tests-\(getpid())"
    p.environment = env
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite struct CLITests {
    @Test func compileReportsDigestPassesAndArena() throws {
        // A fresh cache: other tests compile the same model concurrently, and a cache hit runs no passes.
        let r = try petrel(["compile", "functions/digits-cnn/model.onnx"], home: NSTemporaryDirectory() + "petrel-cli-fresh-\(UUID().uuidString)")
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("digest"))
        #expect(r.out.contains("Conv+BatchNorm folding: 2"))
        #expect(r.out.contains("arena"))
    }

    @Test func checkONNXPrintsSummaryAndFailsOnMismatch() throws {
        let ok = try petrel(["check-onnx", "functions/digits-mlp", "--atol", "1e-4", "--rtol", "0"])
        #expect(ok.code == 0)
        #expect(ok.out.hasSuffix("1 passed, 0 failed\n"))
        // An impossible tolerance must fail: the check is real.
        let strict = try petrel(["check-onnx", "functions/digits-cnn", "--atol", "0", "--rtol", "0"])
        #expect(strict.code == 1)
        #expect(strict.out.contains("0 passed, 1 failed"))
    }

    @Test func runWithJSONInput() throws {
        let dir = NSTemporaryDirectory() + "petrel-run-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let input = dir + "/x.json"
        try Data("[[\((0..<64).map { String($0 % 16) }.joined(separator: ","))]]".utf8).write(to: URL(fileURLWithPath: input))
        let r = try petrel(["run", "functions/digits-mlp/model.onnx", "--input", "input=\(input)", "--json"])
        #expect(r.code == 0, "\(r.err)")
        let obj = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: [[Double]]]
        let probs = try #require(obj?["probabilities"]?.first)
        #expect(probs.count == 10)
        #expect(abs(probs.reduce(0, +) - 1) < 1e-4)
    }

    @Test func badInputsGiveClearErrorsAndExitCodes() throws {
        let dir = NSTemporaryDirectory() + "petrel-bad-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        try Data("garbage, not protobuf".utf8).write(to: URL(fileURLWithPath: dir + "/bad.onnx"))
        let bad = try petrel(["compile", dir + "/bad.onnx"])
        #expect(bad.code == 2)
        #expect(bad.err.contains("error: not a valid ONNX model"))
        let missing = try petrel(["compile", dir + "/nope.onnx"])
        #expect(missing.code == 3)
        try Data("[[1, 2, 3]]".utf8).write(to: URL(fileURLWithPath: dir + "/short.json"))
        let shape = try petrel(["run", "functions/digits-mlp/model.onnx", "--input", "input=\(dir)/short.json"])
        #expect(shape.code == 2)
        #expect(shape.err.contains("input 'input' dim 1 must be 64"))
    }

    @Test func benchSGEMMReportsShapesAndRejectsBadOnes() throws {
        let r = try petrel(["bench", "sgemm", "--sizes", "48", "--shapes", "7x40x33,1x16x5"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("measured peak"))
        for shape in ["7x40x33 (packed B)", "1x16x5 (packed B)", "7x40x33 (cold B)", "1x16x5 (cold B)"] {
            #expect(r.out.contains(shape))
        }
        let j = try petrel(["bench", "sgemm", "--sizes", "48", "--shapes", "7x40x33", "--json"])
        #expect(j.code == 0, "\(j.err)")
        let shape = (try JSONSerialization.jsonObject(with: Data(j.out.utf8)) as? [String: Any])?["shapes"] as? [[String: Any]]
        #expect(shape?.count == 1)
        for key in ["microseconds", "gflops", "cold_microseconds", "cold_gflops", "cold_percent_of_peak"] {
            #expect((shape?.first?[key] as? Double ?? 0) > 0, "\(key) in \(j.out)")
        }
        for shapes in ["128x384", "128xfoox384x384", "1xx2x3", "4x4x4,", ""] {
            let bad = try petrel(["bench", "sgemm", "--shapes", shapes])
            #expect(bad.code != 0, "--shapes '\(shapes)' was accepted")
            #expect(bad.err.contains("--shapes must be a comma-separated list of MxNxK"))
        }
    }

    @Test func opsListsClaimedOps() throws {
        let r = try petrel(["ops"])
        #expect(r.code == 0)
        for op in ["Conv", "LayerNormalization", "Gather", "Where"] { #expect(r.out.contains(op)) }
    }
}
