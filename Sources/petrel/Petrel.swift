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
///
/// A plain handler that posts a semaphore (`sem_post` is async-signal-safe), installed before
/// `init` returns. A Dispatch signal source is not: `resume()` arms it later on Dispatch's manager
/// thread, and the SIG_IGN it needs meanwhile discarded a SIGTERM sent in that window (a server
/// killed right after it announced itself then never stopped; seen once in the e2e suite).
final class StopSignals {
    /// Made before the handler is installed, never freed: the handler only loads the pointer.
    private static let semaphore: UnsafeMutablePointer<sem_t> = {
        let s = UnsafeMutablePointer<sem_t>.allocate(capacity: 1)
        sem_init(s, 0, 0)
        return s
    }()

    init() {
        _ = Self.semaphore   // initialised here, not first in the handler
        var action = sigaction()
        action.__sigaction_handler.sa_handler = { _ in _ = sem_post(StopSignals.semaphore) }
        sigemptyset(&action.sa_mask)
        action.sa_flags = SA_RESTART
        for sig in [SIGINT, SIGTERM] { sigaction(sig, &action, nil) }
    }

    func wait() {
        while sem_wait(Self.semaphore) != 0 && errno == EINTR {}
    }
}
