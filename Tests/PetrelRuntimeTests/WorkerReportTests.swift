import Testing
@testable import PetrelRuntime

@Suite struct WorkerReportTests {
    @Test(arguments: [WorkerReport.main(12), .ready(1 << 40), .mapped(0), .warmed(7), .error("cannot listen: address in use")])
    func linesRoundTrip(_ r: WorkerReport) {
        #expect(WorkerReport(line: r.line) == r)
    }

    @Test func malformedLinesAreIgnored() {
        for line in ["", "main", "main x", "ready -1", "bogus 12", "mapped 1 2"] {
            #expect(WorkerReport(line: line) == nil, "\(line)")
        }
    }
}
