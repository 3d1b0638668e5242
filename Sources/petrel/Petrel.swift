import ArgumentParser
import PetrelRuntime
import Foundation
import PetrelModel

@main
struct Petrel: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "petrel",
        abstract: "Serverless model serving: compile, run and benchmark ONNX models.",
        version: petrelCompilerVersion,
        subcommands: [Serve.self, Worker.self, Deploy.self, Traffic.self, Rollback.self, List.self, Describe.self, Delete.self, Keys.self, Invoke.self, Compile.self, Run.self, CheckONNX.self, Ops.self, Bench.self, Simulate.self])

    /// `petrel worker` is parsed by hand (`WorkerOptions`): ArgumentParser's reflection walks the
    /// binary's protocol conformance records on first use, which costs milliseconds of every cold start.
    static func main() {
        WorkerOptions.enteredMain = MonotonicClock.now()
        let args = Array(CommandLine.arguments.dropFirst())
        if args.first == "worker", let worker = WorkerOptions.fastParse(Array(args.dropFirst())) {
            do { try worker.run() } catch { Self.exit(withError: error) }
            return
        }
        Self.main(args)
    }
}


struct ThreadsOption: ParsableArguments {
    @Option(name: .long, help: "Threads for intra-op parallelism (default: all cores).")
    var threads: Int?

    var count: Int { threads ?? ProcessInfo.processInfo.activeProcessorCount }

    func validate() throws {
        if let t = threads, t < 1 || t > 256 { throw ValidationError("--threads \(t): must be between 1 and 256") }
    }
}

/// Loads MODEL.onnx (compiling into the cache when needed) or a digest from the cache.
func loadModel(_ ref: String, threads: Int, progress: Bool = false) throws -> CompiledModel {
    let isDigest = ref.count == 64 && ref.allSatisfy(\.isHexDigit) && !FileManager.default.fileExists(atPath: ref)
    if isDigest { return try Compiler.load(digest: ref) }
    guard FileManager.default.fileExists(atPath: ref) else {
        throw ModelError(.io, "\(ref): no such file (give a model .onnx file or a digest printed by `petrel compile`)")
    }
    return try Compiler.compile(path: ref, threads: threads, progress: progress ? { stderrLine($0) } : nil).0
}

func stderrLine(_ s: String) { FileHandle.standardError.write(Data((s + "\n").utf8)) }

func formatBytes(_ n: Int) -> String {
    if n >= 1 << 20 { return String(format: "%.1f MiB", Double(n) / Double(1 << 20)) }
    if n >= 1 << 10 { return String(format: "%.1f KiB", Double(n) / 1024) }
    return "\(n) B"
}

/// SIGINT and SIGTERM, caught from the moment this is made (so a signal during start-up is not
/// lost or fatal) until `wait()` returns on the first of them.
final class StopSignals {
    private let stop = DispatchSemaphore(value: 0)
    private var sources: [DispatchSourceSignal] = []

    init() {
        for sig in [SIGINT, SIGTERM] {
            signal(sig, SIG_IGN)
            let s = DispatchSource.makeSignalSource(signal: sig, queue: .global())
            s.setEventHandler { [stop] in stop.signal() }
            s.resume()
            sources.append(s)
        }
    }

    func wait() { stop.wait() }
}
