import Foundation
import Testing
@testable import PetrelRuntime

/// A worker maps its artifact without warm-up runs; its first offloaded runs decide whether later
/// requests run on the event loop. The first one plans and faults pages in, so it must not decide alone.
@Suite struct InlineCalibrationTests {
    func workerStyleFunction() throws -> LoadedFunction {
        setenv("PETREL_HOME", NSTemporaryDirectory() + "petrel-runtime-tests-\(getpid())", 1)
        let config = try FunctionConfig.load(directory: ServingTests.functionsDir + "/digits-mlp")
        let (_, report, _) = try Deployer.compileChecked(config, threads: 1)
        return try LoadedFunction(name: "mlp", artifactPath: report.artifactPath, threads: 1, warm: false)
    }

    @Test func fastestOfTheFirstRunsDecides() throws {
        let f = try workerStyleFunction()
        #expect(!f.runsInline(batch: 1), "nothing measured yet: offload")
        f.noteRun(nanos: 64_000, batch: 64)   // 1 µs a row, but a batch says little about one row alone
        #expect(!f.runsInline(batch: 1))
        f.noteRun(nanos: 600_000, batch: 1)   // the first run: planning, page faults
        #expect(!f.runsInline(batch: 1))
        f.noteRun(nanos: 6_000, batch: 1)
        #expect(f.runsInline(batch: 1))
        #expect(!f.runsInline(batch: 64), "64 rows of 6 µs exceed the inline budget")
        f.noteRun(nanos: 900_000, batch: 1)   // a slow run later (a busy machine) does not undo it
        #expect(f.runsInline(batch: 1))
    }

    @Test func calibrationStopsAfterItsRuns() throws {
        let f = try workerStyleFunction()
        for _ in 0..<LoadedFunction.calibrationRuns { f.noteRun(nanos: 400_000, batch: 1) }
        f.noteRun(nanos: 1_000, batch: 1)
        #expect(!f.runsInline(batch: 1))
        #expect(f.warmNanos == 400_000)
    }
}
