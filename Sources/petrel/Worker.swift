import ArgumentParser
import Foundation
import Logging
import PetrelHTTP2
import PetrelModel
import PetrelRuntime

struct Worker: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve one function as a worker process (spawned by `petrel serve`), or standalone in a container.",
        discussion: """
            Gateway mode: --socket PATH --artifact FILE --name NAME --report-fd 3 --lifeline-fd 4 (or no
            --artifact: a prewarmed worker, told its function by POST /petrel/specialise).
            Standalone (Knative, Kubernetes): --listen HOST:PORT --function DIR.
            """)

    @Option(help: "Unix socket to listen on.") var socket: String?
    @Option(help: "An inherited socket already listening on --socket (the gateway binds it before the spawn).") var listenFd: Int32?
    @Option(help: "HOST:PORT to listen on (standalone).") var listen: String?
    @Option(help: "Compiled artifact to map.") var artifact: String?
    @Option(help: "The function's name (with --artifact).") var name: String?
    @Option(help: "The revision number it answers as (model_version); any requested version is accepted: the gateway resolved it.") var version: String?
    @Option(help: "A function folder to compile and serve (standalone).") var function: String?
    @Option(help: "Dynamic batching's largest batch, in rows (function.yaml's batching.maxBatchSize; with --artifact).") var maxBatchSize: Int?
    @Option(help: "File descriptor to report phases on (`PHASE NANOS` lines).") var reportFd: Int32?
    @Option(help: "File descriptor whose end-of-file means the gateway is gone: exit.") var lifelineFd: Int32?
    @Flag(help: "Log one line per request.") var accessLog = false
    @Option(help: "Address-space limit (RLIMIT_AS) in bytes.") var memoryLimit: Int?
    @Option(help: "A prewarmed worker runs one request on this artifact first (warms code paths).") var warmArtifact: String?
    @Option(help: "Comma-separated artifacts a prewarmed worker maps ahead (handed over when specialised).") var premap: String?
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        if (socket == nil) == (listen == nil) { throw ValidationError("give exactly one of --socket and --listen") }
        if artifact != nil && name == nil { throw ValidationError("--artifact needs --name") }
        if artifact != nil && function != nil { throw ValidationError("give --artifact or --function, not both") }
        if listenFd != nil && socket == nil { throw ValidationError("--listen-fd needs --socket (the path it is bound to)") }
        if let n = maxBatchSize, !FunctionConfig.batchSizeRange.contains(n) {
            throw ValidationError("--max-batch-size \(n): must be in \(FunctionConfig.batchSizeRange)")
        }
    }

    func run() throws {
        try WorkerOptions(socket: socket, listenFd: listenFd, listen: listen, artifact: artifact, name: name, version: version,
                          maxBatchSize: maxBatchSize ?? 0, function: function,
                          reportFd: reportFd, lifelineFd: lifelineFd, accessLog: accessLog, memoryLimit: memoryLimit,
                          warmArtifact: warmArtifact, premap: premap, threads: threads.count).run()
    }
}

/// What a worker process runs, parsed without ArgumentParser on the spawned path: building an
/// ArgumentParser command (its property wrappers, name sets, reflection) cost 0.5–0.7 ms of every
/// cold start, as its first use walks the binary's protocol conformance records.
struct WorkerOptions {
    var socket: String?
    var listenFd: Int32?
    var listen: String?
    var artifact: String?
    var name: String?
    var version: String?
    var maxBatchSize = 0
    var function: String?
    var reportFd: Int32?
    var lifelineFd: Int32?
    var accessLog = false
    var memoryLimit: Int?
    var warmArtifact: String?
    var premap: String?
    /// Nil: one per core. Resolved only then: Foundation's processor count reads cgroup files
    /// through its first-use machinery, and a spawned worker is always told its count.
    var threads: Int?

    /// Set first thing in `main`: the cold start's "entered main" phase.
    nonisolated(unsafe) static var enteredMain: UInt64 = 0

    /// The spawned-worker form only (`--socket P [--listen-fd 5] --artifact A --name N --report-fd F
    /// --lifeline-fd L --threads T --memory-limit B`, or a prewarmed worker's `--warm-artifact`/`--premap`);
    /// anything else (or `--help`) goes through ArgumentParser.
    static func fastParse(_ args: [String]) -> WorkerOptions? {
        guard args.count % 2 == 0 else { return nil }
        var w = WorkerOptions()
        var i = 0
        while i < args.count {
            let v = args[i + 1]
            switch args[i] {
            case "--socket": w.socket = v
            case "--listen-fd": guard let n = Int32(v) else { return nil }; w.listenFd = n
            case "--artifact": w.artifact = v
            case "--name": w.name = v
            case "--version": w.version = v
            case "--max-batch-size": guard let n = Int(v), FunctionConfig.batchSizeRange.contains(n) else { return nil }; w.maxBatchSize = n
            case "--report-fd": guard let n = Int32(v) else { return nil }; w.reportFd = n
            case "--lifeline-fd": guard let n = Int32(v) else { return nil }; w.lifelineFd = n
            case "--threads": guard let n = Int(v), (1...256).contains(n) else { return nil }; w.threads = n
            case "--memory-limit": guard let n = Int(v) else { return nil }; w.memoryLimit = n
            case "--warm-artifact": w.warmArtifact = v
            case "--premap": w.premap = v
            default: return nil
            }
            i += 2
        }
        guard w.socket != nil, (w.artifact == nil) == (w.name == nil) else { return nil }
        return w
    }

    func run() throws {
        let entered = Self.enteredMain == 0 ? MonotonicClock.now() : Self.enteredMain
        let fd = reportFd
        let report: @Sendable (String) -> Void = { line in
            guard let fd else { return }
            let bytes = Array((line + "\n").utf8)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        }
        report(WorkerReport.main(entered).line)
        // Signals first: a drain (SIGTERM) that arrives while starting must still be graceful.
        let stop = StopSignals()
        if let memoryLimit {
            var rl = rlimit(rlim_cur: rlim_t(memoryLimit), rlim_max: rlim_t(memoryLimit))
            if setrlimit(__rlimit_resource_t(RLIMIT_AS.rawValue), &rl) != 0 {
                report(WorkerReport.error("cannot set RLIMIT_AS: \(String(cString: strerror(errno)))").line)
            }
        }
        ServerLogging.bootstrap(level: .info)
        if let lifeline = lifelineFd { watchLifeline(lifeline) }
        let threads = self.threads ?? ProcessInfo.processInfo.activeProcessorCount
        let logger = Logger(label: "petrel-worker")
        let service = WorkerService(threads: threads, logger: logger, accessLog: accessLog, followsGateway: socket != nil,
                                    report: report)

        var config = ServerConfiguration()
        if let socket {
            config.address = .unix(path: socket)
            config.inheritedListener = listenFd
        } else if let listen, let colon = listen.lastIndex(of: ":"), let port = Int(listen[listen.index(after: colon)...]) {
            config.address = .tcp(host: String(listen[..<colon]), port: port)
        } else {
            stderrLine("error: --listen \(listen ?? ""): expected HOST:PORT")
            throw ExitCode(2)
        }
        if let dir = function {
            do {
                // Compiled and checked here; the worker maps the artifact once, as a spawned one does.
                let config = try FunctionConfig.load(directory: dir)
                let (_, report, _) = try Deployer.compileChecked(config, threads: threads)
                service.load(name: config.name, artifactPath: report.artifactPath, maxBatchSize: config.maxBatchSize)
            } catch {
                stderrLine("error: \(error)")
                throw ExitCode(2)
            }
        }
        // Mapping starts before the server: on the load thread it overlaps the event loop's start.
        if let artifact, let name { service.load(name: name, artifactPath: artifact, version: version, maxBatchSize: maxBatchSize) }
        if socket != nil {   // one connection, the gateway's, always HTTP/2
            config.eventLoopThreads = 1
            config.http2Only = true
        }
        let server: HTTPServer
        do {
            server = try HTTPServer(configuration: config, service: service)
            try server.start()
        } catch {
            report(WorkerReport.error("cannot listen: \(error)").line)
            stderrLine("error: cannot listen: \(error)")
            throw ExitCode(3)
        }
        report(WorkerReport.ready(MonotonicClock.now()).line)
        if artifact == nil, let warmArtifact {
            service.prepare(warmArtifact: warmArtifact, premap: premap?.split(separator: ",").map(String.init) ?? [])
        }

        stop.wait()
        server.shutdownGracefully()
    }
}

/// Exits the process when the gateway's end of the lifeline pipe closes (the gateway died). A raw
/// pthread, not Foundation's `Thread`, whose first start does Foundation's first-use work on the
/// cold start's path.
private func watchLifeline(_ fd: Int32) {
    var thread = pthread_t()
    let rc = pthread_create(&thread, nil, { arg in
        let fd = Int32(Int(bitPattern: arg))
        var b: UInt8 = 0
        while true {
            let n = read(fd, &b, 1)
            if n == 0 || (n < 0 && errno != EINTR) { break }
        }
        Glibc.exit(0)
    }, UnsafeMutableRawPointer(bitPattern: Int(fd)))
    if rc == 0 { pthread_detach(thread) }
}
