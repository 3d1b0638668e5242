import Foundation
import Logging
import Metrics
import NIOCore
import PetrelHTTP2
import PetrelModel
import PetrelProtocol
import PetrelRegistry
import Prometheus

/// The serverless front: a protocol-aware proxy. It reads only routing fields (the REST path, the
/// `model_name` and `model_version` of a gRPC ModelInferRequest, the `authorization` header),
/// picks a revision by version, tag or traffic split, answers health and metadata itself, and
/// forwards inference bodies untouched to that revision's workers through its pool.
public final class Gateway: HTTPService, ConnectionEvents, @unchecked Sendable {
    let deployments: Deployments
    let prewarm: PrewarmPool?
    let prometheus: PrometheusCollectorRegistry?
    let logger: Logger
    let accessLog: Bool
    /// Admin routes from peers not on this machine are refused unless this is set.
    let adminFromAnywhere: Bool
    let metrics = ServingMetrics()
    private(set) var answers: MetadataAnswers!

    public init(registry: Registry, group: EventLoopGroup, executable: String, socketDirectory: String,
                prewarmSize: Int, workerThreads: Int, prometheus: PrometheusCollectorRegistry?, logger: Logger,
                accessLog: Bool, adminFromAnywhere: Bool = false, colocate: Bool = true) throws {
        self.prometheus = prometheus
        self.logger = logger
        self.accessLog = accessLog
        self.adminFromAnywhere = adminFromAnywhere
        // The prewarm pool needs the artifacts to map ahead, which need the revisions loaded; it
        // is attached once they are (workers are only spawned from `start`).
        deployments = Deployments(registry: registry, group: group, executable: executable, socketDirectory: socketDirectory,
                                  prewarm: nil, workerThreads: workerThreads, logger: logger)
        try deployments.loadAll()
        if prewarmSize > 0 {
            let paths = deployments.artifactPaths
            let smallest = paths.min { Self.size($0) < Self.size($1) }
            prewarm = PrewarmPool(size: prewarmSize, eventLoop: group.next(), executable: executable,
                                  socketDirectory: socketDirectory, threads: workerThreads, logger: logger,
                                  warmArtifact: smallest, premap: paths.filter { !$0.contains(",") })
        } else {
            prewarm = nil
        }
        deployments.prewarm = prewarm
        // One gateway loop only: with several, each would want its workers on its own CPU.
        if colocate, Array(group.makeIterator()).count == 1 { deployments.colocation = Colocation(loop: group.next()) }
        let deployments = self.deployments
        var answers = MetadataAnswers { name, version in
            deployments.table.resolve(name, version: version, roll: nil).map(\.signature)
        }
        answers.labelLookup = { name, label in deployments.table.resolve(name, version: nil, label: label, roll: nil).map(\.signature) }
        self.answers = answers
    }

    static let roll: () -> Int = { Int.random(in: 0..<100) }

    static func size(_ path: String) -> Int {
        ((try? FileManager.default.attributesOfItem(atPath: path)[.size] as? Int) ?? nil) ?? .max
    }

    /// The functions served, for the start-up line.
    public var functionNames: [String] { deployments.table.functions.keys.sorted() }

    /// Fills the prewarm pool and starts the pools of revisions that take traffic (so their
    /// initial scale applies); other pools start on their first request.
    public func start() {
        deployments.colocation?.start()
        prewarm?.refill()
        for f in deployments.table.functions.values {
            for t in f.state.traffic { if let rev = f.revisions[t.revision] { _ = deployments.pool(for: rev) } }
        }
    }

    /// Stops scaling and drains every worker (called on shutdown, after the server stopped taking requests).
    public func stop() {
        let pools = deployments.pools()
        deployments.colocation?.stop()
        pools.forEach { $0.stopTimers() }
        prewarm?.stop()
        for pool in pools { pool.drainAll() }
        // Wait (briefly) for workers to exit, so none outlives the gateway mid-request; the
        // lifeline pipe ends any that are left when the gateway exits.
        let deadline = Date().addingTimeInterval(5)
        while Date() < deadline {
            let left = pools.reduce(0) { $0 + $1.workerCount }
            if left == 0 { break }
            Thread.sleep(forTimeInterval: 0.02)
        }
    }

    public func refused(status: Int) {
        metrics.finished(function: ServingMetrics.unknownFunction, proto: .http, status: String(status), nanos: 0, wasInFlight: false)
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        // Forwarded requests are logged by `forward`, with their revision; what the gateway
        // answers itself (health, metadata, refusals, admin) is logged here.
        let answer = accessLog ? logged(request, responder) : responder
        if request.path.hasPrefix("/admin/") { return handleAdmin(request, answer) }
        if let ct = request.contentType, ct.hasPrefix("application/grpc") {
            return handleGRPC(request, responder, answer)
        }
        if request.path == "/metrics" || request.path.hasPrefix("/metrics?") {
            return answer.respond(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: metricsText()))
        }
        let route = OIPRest.route(method: request.method, path: request.path)
        let target: (name: String, version: String?, label: String?)?
        switch route {
        case .modelMetadata(let n, let v), .modelReady(let n, let v), .modelInfer(let n, let v): target = (n, v, nil)
        case .tfsPredict(let n, let v, let l), .tfsModelStatus(let n, let v, let l), .tfsMetadata(let n, let v, let l): target = (n, v, l)
        default: target = nil
        }
        if let target {
            let isInfer: Bool
            switch route { case .modelInfer, .tfsPredict: isInfer = true; default: isInfer = false }
            let table = deployments.table
            // The key is checked before the version is resolved: a caller without one learns
            // nothing about the revisions.
            if let denied = authorize(request, target.name, in: table) {
                return json(answer, denied.httpStatus, OIPRest.encodeError(denied), challenge: true)
            }
            let rev: GatewayRevision
            switch table.resolve(target.name, version: target.version, label: target.label, roll: isInfer ? Self.roll : nil) {
            case .success(let r): rev = r
            case .failure(let e): return json(answer, e.httpStatus, OIPRest.encodeError(e))
            }
            if isInfer { return forward(rev, request, responder, grpc: false, deadline: nil) }
        }
        if let (r, _) = answers.rest(route) { return answer.respond(r) }
        switch route {
        case .methodNotAllowed(let allow):
            var r = HTTPResponse(status: 405, contentType: "application/json",
                                 body: OIPRest.encodeError(message: "method \(request.method) not allowed; allowed: \(allow)"))
            r.headers.add("allow", allow)
            answer.respond(r)
        default:
            json(answer, 404, OIPRest.encodeError(message: "no route for \(request.method) \(request.path)"))
        }
    }

    /// One access-log line per answer (never the headers: they may carry a key).
    private func logged(_ request: HTTPRequest, _ responder: HTTPResponder) -> HTTPResponder {
        let start = DispatchTime.now().uptimeNanoseconds, logger = self.logger
        return responder.transformed { r in
            let status = r.grpcStatus.map { "grpc \($0)" } ?? String(r.status)
            logger.info("\(request.method) \(request.path) \(status) \(String(format: "%.3f", Double(DispatchTime.now().uptimeNanoseconds - start) / 1e6))ms")
            return r
        }
    }

    /// nil when the function is public (or unknown: the lookup answers 404) or the caller's key
    /// allows it; else 401 or 403.
    func authorize(_ request: HTTPRequest, _ function: String, in table: RoutingTable) -> ProtocolError? {
        guard table.functions[function]?.requiresKey == true else { return nil }
        switch deployments.keyRing.check(authorization: request.headers["authorization"], function: function) {
        case .allowed: return nil
        case .missing:
            return ProtocolError(.unauthenticated, "function '\(function)' requires an API key: send 'Authorization: Bearer <key>'")
        case .invalid:
            return ProtocolError(.unauthenticated, "the API key is not valid (unknown, revoked or malformed)")
        case .forbidden(let id):
            return ProtocolError(.permissionDenied, "API key \(id) is not allowed to invoke '\(function)'")
        }
    }

    private func handleGRPC(_ request: HTTPRequest, _ responder: HTTPResponder, _ answer: HTTPResponder) {
        let svc = "/" + ServingService.grpcService + "/"
        guard request.path.hasPrefix(svc) else {
            let service = request.path.split(separator: "/").first.map(String.init) ?? request.path
            return answer.respond(GRPCWire.response(.failure(.unimplemented, "unknown service \(service)")))
        }
        let method = String(request.path.dropFirst(svc.count))
        // The transport already held the body to --max-grpc-message-bytes.
        let range: Range<Int>
        switch GRPCWire.unaryMessageRange(request.body, maxBytes: .max) {
        case .success(let r): range = r
        case .failure(let e): return answer.respond(GRPCWire.response(.failure(e.status, e.message)))
        }
        var deadline: NIODeadline?
        if let t = request.headers["grpc-timeout"] {
            guard let amount = GRPCWire.timeout(t) else {
                return answer.respond(GRPCWire.response(.failure(.invalidArgument, "malformed grpc-timeout '\(t)'")))
            }
            deadline = .now() + amount
        }
        let reply = { (r: Result<[UInt8], ProtocolError>) in
            switch r {
            case .success(let bytes): answer.respond(GRPCWire.response(.ok(bytes)))
            case .failure(let e): answer.respond(GRPCWire.response(.failure(GRPCStatus(rawValue: e.grpcStatus) ?? .unknown, e.message)))
            }
        }
        // The function a model method concerns, to check the caller's key before answering.
        let target: (String, String?)?
        // ModelInfer is only peeked at in place (the body is forwarded as it came); the small
        // metadata messages are copied out and decoded.
        let message = method == "ModelInfer" ? [] : Array(request.body[range])
        switch method {
        case "ModelInfer": target = request.body.withUnsafeBufferPointer { OIPGrpc.peekModelName(UnsafeBufferPointer(rebasing: $0[range])) }
        case "ModelReady": target = (try? OIPGrpc.decodeModelReadyRequest(message)).map { ($0.name, $0.version) }
        case "ModelMetadata": target = (try? OIPGrpc.decodeModelMetadataRequest(message)).map { ($0.name, $0.version) }
        default: target = nil
        }
        if method == "ModelInfer" && target == nil {
            return reply(.failure(.invalidArgument("ModelInferRequest has no model_name")))
        }
        if let (name, version) = target {
            let table = deployments.table
            if let denied = authorize(request, name, in: table) { return reply(.failure(denied)) }
            let rev: GatewayRevision
            switch table.resolve(name, version: version, roll: method == "ModelInfer" ? Self.roll : nil) {
            case .success(let r): rev = r
            case .failure(let e): return reply(.failure(e))
            }
            if method == "ModelInfer" { return forward(rev, request, responder, grpc: true, deadline: deadline) }
        }
        if let answer = answers.grpc(method: method, message: message) { return reply(answer) }
        responder.respond(GRPCWire.response(.failure(.unimplemented, "unknown method \(method) in service \(ServingService.grpcService)")))
    }

    private func forward(_ rev: GatewayRevision, _ request: HTTPRequest, _ responder: HTTPResponder, grpc: Bool, deadline: NIODeadline?) {
        let start = DispatchTime.now().uptimeNanoseconds
        let pool = deployments.pool(for: rev)
        let handles = metrics.function(rev.function)
        handles.started()
        let proto: ServingMetrics.WireProtocol = grpc ? .grpc : (request.path.hasPrefix("/v1/") ? .tfserving : .rest)
        let accessLog = self.accessLog, logger = self.logger
        let wrapped = responder.transformed { r in
            let nanos = DispatchTime.now().uptimeNanoseconds - start
            let status = grpc ? (r.grpcStatus.flatMap { Int32($0) }.flatMap { GRPCStatus(rawValue: $0) }.map(\.name) ?? "http_\(r.status)") : String(r.status)
            handles.finished(proto: proto, status: status, nanos: nanos, wasInFlight: true)
            if accessLog {
                // Never the headers: they may carry an API key.
                logger.info("\(request.method) \(request.path) \(status) \(String(format: "%.3f", Double(nanos) / 1e6))ms",
                            metadata: ["function": "\(rev.function)", "revision": "\(rev.id)", "protocol": "\(proto.rawValue)"])
            }
            return r
        }
        var request = request
        // Workers need no key, and should never see one.
        request.headers.fields.removeAll { $0.name == "authorization" }
        pool.submit(request, wrapped, isGRPC: grpc, deadline: deadline)
    }

    func json(_ responder: HTTPResponder, _ status: Int, _ body: [UInt8], challenge: Bool = false) {
        var r = HTTPResponse(status: status, contentType: "application/json", body: body)
        if challenge && status == 401 { r.headers.add("www-authenticate", "Bearer realm=\"petrel\"") }
        responder.respond(r)
    }

    /// Prometheus text, with pool gauges refreshed first (workers by state, autoscaler figures),
    /// summed over each function's revisions.
    private func metricsText() -> [UInt8] {
        var byFunction: [String: [FunctionPool.Snapshot]] = [:]
        for pool in deployments.pools() { byFunction[pool.name, default: []].append(pool.latestSnapshot) }
        for (name, snaps) in byFunction {
            var states: [String: Int] = [:]
            for s in snaps { for (k, v) in s.states { states[k, default: 0] += v } }
            for (state, n) in states {
                Gauge(label: "petrel_workers", dimensions: [("function", name), ("state", state)]).record(n)
            }
            Gauge(label: "petrel_activator_queued_requests", dimensions: [("function", name)]).record(snaps.reduce(0) { $0 + $1.queued })
            Gauge(label: "petrel_autoscaler_desired_workers", dimensions: [("function", name)]).record(snaps.reduce(0) { $0 + ($1.desired ?? 0) })
            Gauge(label: "petrel_autoscaler_actual_workers", dimensions: [("function", name)]).record(states["ready"] ?? 0)
            Gauge(label: "petrel_autoscaler_panic", dimensions: [("function", name)]).record(snaps.contains(where: \.panicking) ? 1 : 0)
        }
        if let prewarm { Gauge(label: "petrel_prewarm_idle_workers").record(prewarm.idleCount) }
        var out: [UInt8] = []
        prometheus?.emit(into: &out)
        return out
    }
}
