import Foundation
import Testing

/// `petrel simulate` end to end: output shapes and the error contract (one line, exit 2 for bad
/// input, 3 for an unreadable file).
@Suite struct SimulateCLITests {
    func file(_ text: String) throws -> String {
        let path = NSTemporaryDirectory() + "petrel-simulate-\(UUID().uuidString).csv"
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    @Test func traceToJSON() throws {
        let trace = try file("timestamp_seconds,function\n0,a\n0.5,b\n1,a\n")
        let r = try petrel(["simulate", "--trace", trace, "--json", "--scaling", "initialScale=0"])
        #expect(r.code == 0, "\(r.err)")
        let doc = try JSONSerialization.jsonObject(with: Data(r.out.utf8)) as? [String: Any]
        let functions = doc?["functions"] as? [[String: Any]] ?? []
        #expect(functions.map { $0["function"] as? String } == ["a", "b"])
        #expect(functions.map { $0["cold_starts"] as? Int } == [1, 1])
        #expect(functions.map { $0["requests"] as? Int } == [2, 1])
    }

    @Test func patternToTable() throws {
        let r = try petrel(["simulate", "--pattern", "poisson", "--rate", "50", "--duration", "1m", "--function", "demo"])
        #expect(r.code == 0, "\(r.err)")
        #expect(r.out.contains("poisson 50/s over 60 s (seed 1)"))
        #expect(r.out.split(separator: "\n").contains { $0.hasPrefix("demo ") })
    }

    @Test func errorsAreOneLineWithTheRightCode() throws {
        let bad = try file("0,a\n1,a\nsoon,a\n")
        let r = try petrel(["simulate", "--trace", bad])
        #expect(r.code == 2 && r.err == "error: \(bad): line 3: timestamp \"soon\" is not a number of seconds\n")
        let missing = try petrel(["simulate", "--trace", "/nonexistent/trace.csv"])
        #expect(missing.code == 3 && missing.err == "error: cannot read /nonexistent/trace.csv\n")
        let scaling = try petrel(["simulate", "--pattern", "poisson", "--rate", "1", "--scaling", "maxScaleDownRate=0.9"])
        #expect(scaling.code == 2 && scaling.err.contains("scaling.maxScaleDownRate = 0.9: must be greater than 1.0"))
    }
}
