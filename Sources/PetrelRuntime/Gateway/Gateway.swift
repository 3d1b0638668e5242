import Foundation
import Logging
import Metrics
import NIOCore
import PetrelHTTP2
import PetrelModel
import PetrelProtocol
import Prometheus

/// One deployable function as the gateway knows it: its compiled artifact and signature (the
/// gateway maps the artifact to read the signature, never to run it) and its pool settings.
public struct GatewayFunction: Sendable {
    public var name: String
    public var artifactPath: String
    public var signature: ModelSignature
    public var settings: PoolSettings
    public init(name: String, artifactPath: String, signature: ModelSignature, settings: PoolSettings) {
        self.name = name; self.artifactPath = artifactPath; self.signature = signature; self.settings = settings
    }
}

/// The serverless front: a protocol-aware proxy. It reads only routing fields (the REST path, the
/// `model_name` field of a gRPC ModelInferRequest), answers health and metadata itself, and
/// forwards inference bodies untouched to the function's workers through its pool.
public final class Gateway: HTTPService, ConnectionEvents, @unchecked Sendable {
    let functions: [String: GatewayFunction]
    let pools: [String: FunctionPool]
    let prewarm: PrewarmPool?
    let prometheus: PrometheusCollectorRegistry?
    let logger: Logger
    let accessLog: Bool
    let metrics: ServingMetrics
    let answers: MetadataAnswers
    /// Per-function metric handles, fixed at start: read unlocked on every request.
    let functionMetrics: [String: FunctionMetrics]
    private var timers: [RepeatedTask] = []

    public init(functions: [GatewayFunction], group: EventLoopGroup, executable: String, socketDirectory: String,
                prewarmSize: Int, prewarmThreads: Int, prometheus: PrometheusCollectorRegistry?, logger: Logger, accessLog: Bool) {
        self.functions = Dictionary(functions.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        self.prometheus = prometheus
        self.logger = logger
        self.accessLog = accessLog
        let byName = self.functions
        answers = MetadataAnswers { name, version in
            guard let f = byName[name] else { return .failure(.notFound("unknown model '\(name)'")) }
            if let version, version != "1" { return .failure(.notFound("model '\(name)' has no version '\(version)' (versions: 1)")) }
            return .success(f.signature)
        }
        let metrics = ServingMetrics()
        self.metrics = metrics
        functionMetrics = Dictionary(functions.map { ($0.name, metrics.function($0.name)) }, uniquingKeysWith: { a, _ in a })
        prewarm = prewarmSize > 0 ? PrewarmPool(size: prewarmSize, eventLoop: group.next(), executable: executable,
                                                socketDirectory: socketDirectory, threads: prewarmThreads, logger: logger,
                                                warmArtifact: Self.smallestArtifact(functions),
                                                premap: functions.map(\.artifactPath).filter { !$0.contains(",") }) : nil
        var pools: [String: FunctionPool] = [:]
        for f in functions {
            pools[f.name] = FunctionPool(name: f.name, artifactPath: f.artifactPath, settings: f.settings, eventLoop: group.next(),
                                         group: group, executable: executable, socketDirectory: socketDirectory,
                                         logger: logger, prewarm: prewarm)
        }
        self.pools = pools
    }

    static func smallestArtifact(_ functions: [GatewayFunction]) -> String? {
        functions.map(\.artifactPath).min {
            ((try? FileManager.default.attributesOfItem(atPath: $0)[.size] as? Int) ?? .max) ?? .max
                < ((try? FileManager.default.attributesOfItem(atPath: $1)[.size] as? Int) ?? .max) ?? .max
        }
    }

    /// Starts the per-pool sampling (1 s) and autoscaler ticks, and fills the prewarm pool.
    public func start() {
        prewarm?.refill()
        for pool in pools.values {
            pool.eventLoop.execute { pool.startInitialWorkers() }
            timers.append(pool.eventLoop.scheduleRepeatedTask(initialDelay: .seconds(1), delay: .seconds(1)) { _ in pool.sample() })
            let tick = TimeAmount.nanoseconds(Int64(pool.settings.scaling.tickInterval.components.seconds) * 1_000_000_000
                                              + pool.settings.scaling.tickInterval.components.attoseconds / 1_000_000_000)
            timers.append(pool.eventLoop.scheduleRepeatedTask(initialDelay: tick, delay: tick) { _ in pool.tick() })
        }
    }

    /// Stops scaling and drains every worker (called on shutdown, after the server stopped taking requests).
    public func stop() {
        timers.forEach { $0.cancel() }
        prewarm?.stop()
        for pool in pools.values { try? pool.eventLoop.submit { pool.drainAll() }.wait() }
        // Wait (briefly) for workers to exit, so none outlives the gateway mid-request; the
        // lifeline pipe ends any that are left when the gateway exits.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let left = pools.values.reduce(0) { n, pool in n + ((try? pool.eventLoop.submit { pool.workers.count }.wait()) ?? 0) }
            if left == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    public func refused(status: Int) {
        metrics.finished(function: ServingMetrics.unknownFunction, proto: .http, status: String(status), nanos: 0, wasInFlight: false)
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        if request.path.hasPrefix("/admin/v1/") { return handleAdmin(request, responder) }
        if let ct = request.contentType, ct.hasPrefix("application/grpc") {
            return handleGRPC(request, responder)
        }
        if request.path == "/metrics" || request.path.hasPrefix("/metrics?") {
            return responder.respond(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metricsText()))
        }
        let route = OIPRest.route(method: request.method, path: request.path)
        if let (r, _) = answers.rest(route) { return responder.respond(r) }
        switch route {
        case .modelInfer(let name, let version):
            guard let pool = find(name, version, responder, grpc: false) else { return }
            forward(pool, request, responder, grpc: false, deadline: nil)
        case .tfsPredict(let name, let version, let label):
            switch answers.resolve(name, version, label: label) {
            case .success: forward(pools[name]!, request, responder, grpc: false, deadline: nil)
            case .failure(let e): json(responder, e.httpStatus, OIPRest.encodeError(e))
            }
        case .methodNotAllowed(let allow):
            var r = HTTPResponse(status: 405, contentType: "application/json",
                                 body: OIPRest.encodeError(message: "method \(request.method) not allowed; allowed: \(allow)"))
            r.headers.add("allow", allow)
            responder.respond(r)
        default:
            json(responder, 404, OIPRest.encodeError(message: "no route for \(request.method) \(request.path)"))
        }
    }

    /// The operational part of the admin API (its authentication and the registry arrive with
    /// the registry issue; the server listens on loopback by default):
    /// `GET /admin/v1/functions/{f}` (workers, queue, autoscaler, cold-start percentiles),
    /// `POST /admin/v1/functions/{f}/scale-to-zero` (answers once no worker is left),
    /// `GET|PUT /admin/v1/prewarm` (`{"size": N}`).
    private func handleAdmin(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let parts = request.path.split(separator: "?")[0].split(separator: "/").map(String.init)   // admin v1 ...
        func reply(_ status: Int, _ obj: Any) {
            let body = (try? JSONSerialization.data(withJSONObject: obj, options: [.sortedKeys])) ?? Data("{}".utf8)
            responder.respond(HTTPResponse(status: status, contentType: "application/json", body: Array(body)))
        }
        if parts.count == 3, parts[2] == "prewarm" {
            if request.method == "PUT" {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                      let size = obj["size"] as? Int, size >= 0, size <= 64 else {
                    return reply(400, ["error": "expected {\"size\": N} with N in 0...64"])
                }
                guard let prewarm else { return reply(409, ["error": "the server was started with --prewarm 0; restart with --prewarm N to resize"]) }
                prewarm.resize(size)
            }
            return reply(200, ["size": prewarm?.size ?? 0, "idle": prewarm?.idleCount ?? 0])
        }
        guard parts.count >= 4, parts[2] == "functions", let pool = pools[parts[3]] else {
            return reply(404, ["error": "no admin route for \(request.method) \(request.path)"])
        }
        if parts.count == 5, parts[4] == "scale-to-zero", request.method == "POST" {
            return pool.eventLoop.execute { pool.scaleToZero { reply(200, ["function": pool.name, "workers": 0]) } }
        }
        guard parts.count == 4, request.method == "GET" else {
            return reply(404, ["error": "no admin route for \(request.method) \(request.path)"])
        }
        pool.eventLoop.execute {
            let s = pool.snapshot
            reply(200, ["function": pool.name, "workers": s.states, "queued": s.queued, "desired": s.desired ?? -1,
                        "panicking": s.panicking, "cold_starts": pool.coldStartSummary])
        }
    }

    private func handleGRPC(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let svc = "/" + ServingService.grpcService + "/"
        guard request.path.hasPrefix(svc) else {
            let service = request.path.split(separator: "/").first.map(String.init) ?? request.path
            return responder.respond(GRPCWire.response(.failure(.unimplemented, "unknown service \(service)")))
        }
        let method = String(request.path.dropFirst(svc.count))
        let message: [UInt8]
        switch GRPCWire.unaryMessage(request.body, maxBytes: .max) {
        case .success(let m): message = m
        case .failure(let e): return responder.respond(GRPCWire.response(.failure(e.status, e.message)))
        }
        let reply = { (r: Result<[UInt8], ProtocolError>) in
            switch r {
            case .success(let bytes): responder.respond(GRPCWire.response(.ok(bytes)))
            case .failure(let e): responder.respond(GRPCWire.response(.failure(GRPCStatus(rawValue: e.grpcStatus) ?? .unknown, e.message)))
            }
        }
        switch method {
        case "ModelInfer":
            guard let (name, version) = OIPGrpc.peekModelName(message) else {
                return reply(.failure(.invalidArgument("ModelInferRequest has no model_name")))
            }
            guard let pool = find(name, version, responder, grpc: true) else { return }
            var deadline: NIODeadline?
            if let t = request.headers["grpc-timeout"], let amount = GRPCWire.timeout(t) { deadline = .now() + amount }
            forward(pool, request, responder, grpc: true, deadline: deadline)
        default:
            if let answer = answers.grpc(method: method, message: message) { return reply(answer) }
            responder.respond(GRPCWire.response(.failure(.unimplemented, "unknown method \(method) in service \(ServingService.grpcService)")))
        }
    }

    private func forward(_ pool: FunctionPool, _ request: HTTPRequest, _ responder: HTTPResponder, grpc: Bool, deadline: NIODeadline?) {
        let start = DispatchTime.now().uptimeNanoseconds
        let handles = functionMetrics[pool.name]!
        handles.started()
        let proto: ServingMetrics.WireProtocol = grpc ? .grpc : (request.path.hasPrefix("/v1/") ? .tfserving : .rest)
        let accessLog = self.accessLog, logger = self.logger
        let wrapped = responder.transformed { r in
            let nanos = DispatchTime.now().uptimeNanoseconds - start
            let status = grpc ? (r.grpcStatus.flatMap { Int32($0) }.flatMap { GRPCStatus(rawValue: $0) }.map { "\($0)" } ?? "http_\(r.status)") : String(r.status)
            handles.finished(proto: proto, status: status, nanos: nanos, wasInFlight: true)
            if accessLog {
                logger.info("\(request.method) \(request.path) \(status) \(String(format: "%.3f", Double(nanos) / 1e6))ms",
                            metadata: ["function": "\(pool.name)", "protocol": "\(proto.rawValue)"])
            }
            return r
        }
        pool.submit(request, wrapped, isGRPC: grpc, deadline: deadline)
    }

    private func find(_ name: String, _ version: String?, _ responder: HTTPResponder, grpc: Bool) -> FunctionPool? {
        switch answers.lookup(name, version) {
        case .success: return pools[name]
        case .failure(let e):
            if grpc { responder.respond(GRPCWire.response(.failure(.notFound, e.message))) }
            else { json(responder, 404, OIPRest.encodeError(e)) }
            return nil
        }
    }

    private func json(_ responder: HTTPResponder, _ status: Int, _ body: [UInt8]) {
        responder.respond(HTTPResponse(status: status, contentType: "application/json", body: body))
    }

    /// Prometheus text, with pool gauges refreshed first (workers by state, autoscaler figures).
    private func metricsText() -> [UInt8] {
        for (name, pool) in pools {
            let s = pool.latestSnapshot
            for (state, n) in s.states {
                Gauge(label: "petrel_workers", dimensions: [("function", name), ("state", state)]).record(n)
            }
            Gauge(label: "petrel_activator_queued_requests", dimensions: [("function", name)]).record(s.queued)
            Gauge(label: "petrel_autoscaler_desired_workers", dimensions: [("function", name)]).record(s.desired ?? 0)
            Gauge(label: "petrel_autoscaler_actual_workers", dimensions: [("function", name)]).record(s.states["ready"] ?? 0)
            Gauge(label: "petrel_autoscaler_panic", dimensions: [("function", name)]).record(s.panicking ? 1 : 0)
        }
        if let prewarm { Gauge(label: "petrel_prewarm_idle_workers").record(prewarm.idleCount) }
        var out: [UInt8] = []
        prometheus?.emit(into: &out)
        return out
    }
}

extension GatewayFunction {
    /// Compiles (or finds in the cache) a function's model and reads its signature; the gateway
    /// never runs it.
    public static func load(_ config: FunctionConfig, workerThreads: Int, progress: ((String) -> Void)? = nil) throws -> GatewayFunction {
        let (model, report) = try Compiler.compile(path: config.modelPath, threads: 1, progress: progress)
        let sig = ModelSignature(name: config.name, versions: ["1"], platform: "petrel_onnx",
                                 inputs: model.graph.inputSignature.map(TensorBridge.spec),
                                 outputs: model.graph.outputSignature.map(TensorBridge.spec))
        try LoadedFunction.check(config, against: sig)
        var settings = PoolSettings()
        settings.scaling = config.scaling
        settings.containerConcurrency = config.limits.containerConcurrency
        settings.timeout = .nanoseconds(Int64(config.limits.timeoutSeconds * 1e9))
        settings.memoryLimitBytes = config.limits.memoryBytes
        settings.queueLimit = config.limits.queue
        settings.threads = workerThreads
        return GatewayFunction(name: config.name, artifactPath: report.artifactPath, signature: sig, settings: settings)
    }
}
