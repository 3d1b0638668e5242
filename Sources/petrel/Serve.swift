import ArgumentParser
import Foundation
import Logging
import Metrics
import NIOPosix
import Prometheus
import PetrelHTTP2
import PetrelModel
import PetrelRegistry
import PetrelRuntime

struct Serve: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Serve the registry's functions (deploying each folder under --functions first) over HTTP/2 and HTTP/1.1: Open Inference Protocol REST and gRPC, TF Serving REST.",
        discussion: "At the registry's first start, prints the admin key once (the CLI reads it from PETREL_ADMIN_KEY). --in-process serves the folder itself, without the registry or worker processes.")

    @Flag(help: "Run models inside the server process (the monolith / edge mode) instead of in worker processes.") var inProcess = false
    @Option(help: "Generic workers kept started and waiting for a function's cold start (worker mode).") var prewarm = 1
    @Option(help: "Intra-op threads per worker process (default: all cores).") var workerThreads: Int?
    @Option(help: "Folder with one sub-folder per function (each with function.yaml). In worker mode each is deployed into the registry unless it already holds that content (or the function was deleted).") var functions = "functions"
    @OptionGroup var registryOption: RegistryOption
    @Option(help: "Also write the admin key made at the registry's first start to this file (mode 0600).") var adminKeyFile: String?
    @Flag(help: "Answer the admin API from other machines too (it needs the admin key either way).") var adminRemote = false
    @Option(help: "Address to listen on.") var host = "127.0.0.1"
    @Option(help: "TCP port (0 picks a free one).") var port = 8080
    @Option(help: "Listen on this Unix socket instead of TCP.") var unixSocket: String?
    @Option(help: "TLS certificate chain (PEM); with --tls-key, serves HTTPS with ALPN h2.") var tlsCert: String?
    @Option(help: "TLS private key (PEM).") var tlsKey: String?
    @Option(help: "Largest REST request body in bytes (larger: 413).") var maxBodyBytes = 64 << 20
    @Option(help: "Largest gRPC message in bytes (larger: RESOURCE_EXHAUSTED).") var maxGrpcMessageBytes = 64 << 20
    @Option(help: "HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS.") var maxConcurrentStreams: UInt32 = 256
    @Option(help: "HTTP/2 SETTINGS_INITIAL_WINDOW_SIZE.") var initialWindowSize: UInt32 = 1 << 20
    @Option(help: "HTTP/2 SETTINGS_MAX_FRAME_SIZE.") var maxFrameSize: UInt32 = 16_384
    @Option(help: "HTTP/2 SETTINGS_MAX_HEADER_LIST_SIZE (larger header lists: 431).") var maxHeaderListSize: UInt32 = 16_384
    @Option(help: "Event loop threads (default: one per core).") var eventLoops: Int?
    @Flag(help: "No access log line per request.") var noAccessLog = false
    @Flag(help: "Never pin the gateway's event loop and its workers' loops to one CPU (by default they share one while requests do not overlap; see README).") var noColocate = false
    @Option(help: "Log level: trace, debug, info, notice, warning, error, critical.") var logLevel = "info"
    @OptionGroup var threads: ThreadsOption

    func validate() throws {
        if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together") }
        if !(0...65535).contains(port) { throw ValidationError("--port \(port): must be 0...65535") }
        if Logger.Level(rawValue: logLevel) == nil { throw ValidationError("--log-level \(logLevel): must be one of trace, debug, info, notice, warning, error, critical") }
        if maxFrameSize < 16_384 || maxFrameSize > 16_777_215 { throw ValidationError("--max-frame-size \(maxFrameSize): must be 16384...16777215 (RFC 9113)") }
        if initialWindowSize > UInt32(Int32.max) { throw ValidationError("--initial-window-size \(initialWindowSize): must be at most 2147483647") }
        if maxBodyBytes < 1 || maxGrpcMessageBytes < 1 { throw ValidationError("--max-body-bytes and --max-grpc-message-bytes must be positive") }
    }

    func run() throws {
        MallocTuning.reexecIfNeeded()
        let level = Logger.Level(rawValue: logLevel)!
        ServerLogging.bootstrap(level: level)
        let registry = PrometheusCollectorRegistry()
        MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
        let logger = Logger(label: "petrel")

        if !inProcess { return try runGateway(logger: logger, prometheus: registry) }
        let catalog = try reportingErrors { try FunctionCatalog.load(directory: functions, threads: threads.count, logger: logger) }
        if catalog.functions.isEmpty { logger.warning("no functions under \(functions) (folders with function.yaml)") }

        let config = serverConfiguration()
        let serving = ServingService(catalog: catalog, metrics: ServingMetrics(), prometheus: registry,
                                     logger: logger, accessLog: !noAccessLog)
        let router = GRPCRouter(maxMessageBytes: maxGrpcMessageBytes, fallback: serving)
        serving.registerGRPC(on: router)
        let (server, bound) = try listen(config) { try HTTPServer(configuration: config, service: router, events: serving) }
        let signals = StopSignals()   // before the announcement: a SIGTERM right after it must stop us gracefully
        logger.notice("serving \(catalog.functions.count) function(s) on \(bound): \(catalog.functions.map(\.name).joined(separator: ", "))")

        signals.wait()
        logger.notice("shutting down: GOAWAY sent, finishing in-flight requests")
        server.shutdownGracefully()
        logger.notice("stopped")
    }

    func serverConfiguration() -> ServerConfiguration {
        var config = ServerConfiguration()
        config.address = unixSocket.map { .unix(path: $0) } ?? .tcp(host: host, port: port)
        config.maxRequestBodyBytes = maxBodyBytes
        config.maxGRPCMessageBytes = maxGrpcMessageBytes
        config.settings.maxConcurrentStreams = maxConcurrentStreams
        config.settings.initialWindowSize = initialWindowSize
        config.settings.maxFrameSize = maxFrameSize
        config.settings.maxHeaderListSize = maxHeaderListSize
        if let n = eventLoops { config.eventLoopThreads = n }
        if let c = tlsCert, let k = tlsKey { config.tls = TLSConfiguration(certificatePath: c, privateKeyPath: k) }

        return config
    }

    /// Worker mode: functions come from the registry (seeded from `--functions`); the gateway
    /// serves them through worker processes started on demand and stopped when idle.
    func runGateway(logger: Logger, prometheus: PrometheusCollectorRegistry) throws {
        let registryPath = registryOption.path
        let registry: Registry
        do { registry = try Registry(path: registryPath) } catch {
            stderrLine("error: cannot open the registry \(registryPath): \(error)")
            throw ExitCode(3)
        }
        if let other = ServerFile.running(registry: registryPath), other.pid != getpid() {
            stderrLine("error: petrel serve (pid \(other.pid), \(other.url)) already serves the registry \(registryPath); stop it, or pass --registry")
            throw ExitCode(2)
        }
        try ensureAdminKey(registry, logger: logger)
        try reportingErrors { try seed(registry, logger: logger) }

        var config = serverConfiguration()
        // One gateway loop unless told otherwise: the gateway only proxies and the cores belong to
        // the workers. With more loops a request still stays on its connection's loop (each loop
        // has its own connection to a worker: see FunctionPool).
        if eventLoops == nil { config.eventLoopThreads = 1 }
        config.uploadPathPrefix = "/admin/v1/models/"
        config.uploadFromAnywhere = adminRemote
        let socketDir = Compiler.home + "/run/\(getpid())"
        try? FileManager.default.createDirectory(atPath: socketDir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: socketDir) }
        let group = MultiThreadedEventLoopGroup(numberOfThreads: config.eventLoopCount)
        let gateway = try reportingErrors {
            try Gateway(registry: registry, group: group, executable: SpawnedWorker.currentExecutable,
                        socketDirectory: socketDir, prewarmSize: max(0, prewarm), workerThreads: workerThreads ?? threads.count,
                        prometheus: prometheus, logger: logger, accessLog: !noAccessLog, adminFromAnywhere: adminRemote,
                        colocate: !noColocate)
        }
        let (server, bound) = try listen(config) { try HTTPServer(configuration: config, service: gateway, events: gateway, group: group) }
        try? ServerFile(pid: getpid(), url: bound).write(registry: registryPath)
        defer { ServerFile.remove(registry: registryPath) }
        gateway.start()
        let names = gateway.functionNames
        let signals = StopSignals()
        logger.notice("serving \(names.count) function(s) on \(bound) with worker processes (prewarm \(prewarm)): \(names.joined(separator: ", "))")
        signals.wait()
        logger.notice("shutting down: GOAWAY sent, finishing in-flight requests, draining workers")
        server.shutdownGracefully()
        gateway.stop()
        try? group.syncShutdownGracefully()
        logger.notice("stopped")
    }

    /// At the registry's first start: an admin key, printed once (only its hash is kept).
    private func ensureAdminKey(_ registry: Registry, logger: Logger) throws {
        guard try !registry.hasActiveAdminKey() else { return }
        let (record, key) = try registry.createKey(name: "admin", scope: .admin)
        stderrLine("""
            ---------------------------------------------------------------------------
            Admin key \(record.id), shown only this once (the registry keeps its hash):
              \(key)
            The CLI reads it from PETREL_ADMIN_KEY when it talks to this server.
            Lost it? Stop the server and run `petrel keys create --admin NAME`.
            ---------------------------------------------------------------------------
            """)
        if let adminKeyFile {
            // Created with mode 0600 (never readable by others, not even for a moment).
            let fd = open(adminKeyFile, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
            let line = Array((key + "\n").utf8)
            guard fd >= 0, fchmod(fd, 0o600) == 0, write(fd, line, line.count) == line.count else {
                let e = String(cString: strerror(errno))
                if fd >= 0 { close(fd) }
                stderrLine("error: cannot write the admin key to \(adminKeyFile): \(e)")
                throw ExitCode(3)
            }
            close(fd)
        }
    }

    /// Deploys each folder under `--functions` whose content the registry does not hold yet, so
    /// the bundled functions serve on a fresh machine and an edited folder becomes a new
    /// revision on restart. A function deleted with `petrel delete` stays deleted.
    private func seed(_ registry: Registry, logger: Logger) throws {
        guard FileManager.default.fileExists(atPath: functions) else { return }
        for config in try FunctionConfig.loadAll(directory: functions) {
            if try registry.wasDeleted(config.name) {
                logger.notice("\(config.name): deleted with `petrel delete`; not deployed again from \(config.directory) (`petrel deploy` brings it back)")
                continue
            }
            for source in try DeploySource.scan(config.directory) {
                let sha = try ModelStore.store(source.modelPath)
                if try registry.findRevision(function: source.config.name, config: source.configText, modelSHA256: sha) != nil { continue }
                let prepared = try Deployer.compile(config: source.config, configText: source.configText, modelSHA256: sha,
                                                    origin: source.origin, tag: source.tag,
                                                    progress: { logger.info("\(config.name): \($0)") })
                let (rev, _, _) = try Registration.deployOffline(prepared, function: source.config.name, registry: registry, traffic: 100)
                logger.notice("deployed \(config.directory) as \(rev.id) (100 % of traffic)")
            }
        }
    }

    /// Starts the server and names where it listens (the line the tests and scripts wait for).
    private func listen(_ config: ServerConfiguration, _ make: () throws -> HTTPServer) throws -> (HTTPServer, String) {
        do {
            let server = try make()
            let addr = try server.start()
            return (server, unixSocket.map { "unix:\($0)" } ?? "\(config.tls == nil ? "http" : "https")://\(host):\(addr.port ?? port)")
        } catch {
            stderrLine("error: cannot serve on \(unixSocket ?? "\(host):\(port)"): \(error)")
            throw ExitCode(3)
        }
    }

}
