import Dispatch
import Foundation
import PetrelKernels
import Logging
import NIOCore
import PetrelHTTP2
import PetrelModel
import PetrelProtocol
import Prometheus

/// Serves the Open Inference Protocol (REST and gRPC), TF Serving's REST API and `/metrics` for
/// the functions of a catalog, executing them in this process.
public final class ServingService: HTTPService, ConnectionEvents, @unchecked Sendable {
    let catalog: FunctionCatalog
    let metrics: ServingMetrics
    let prometheus: PrometheusCollectorRegistry?
    let logger: Logger
    let accessLog: Bool
    /// Where inferences too slow for an event loop run (see `LoadedFunction.runsInline`).
    let inferenceQueue = DispatchQueue(label: "petrel.inference", qos: .userInitiated, attributes: .concurrent)

    let answers: MetadataAnswers
    /// Each function with its metric handles, fixed at start: the hot path reads this dictionary
    /// unlocked, once per request (a lookup by a String key hashes it, ~350 instructions).
    let served: [String: Served]
    let unknownMetrics: FunctionMetrics
    let anyVersion: Bool

    struct Served {
        let function: LoadedFunction
        let metrics: FunctionMetrics
    }

    public init(catalog: FunctionCatalog, metrics: ServingMetrics, prometheus: PrometheusCollectorRegistry?,
                logger: Logger, accessLog: Bool, anyVersion: Bool = false) {
        self.catalog = catalog
        self.metrics = metrics
        served = Dictionary(catalog.functions.map { ($0.name, Served(function: $0, metrics: metrics.function($0.name))) },
                            uniquingKeysWith: { a, _ in a })
        self.anyVersion = anyVersion
        unknownMetrics = metrics.function(ServingMetrics.unknownFunction)
        var answers = MetadataAnswers { name, version in
            guard let f = catalog.function(named: name) else { return .failure(.notFound("unknown model '\(name)'")) }
            if let version, version != f.version, !anyVersion {
                return .failure(.notFound("model '\(name)' has no version '\(version)' (versions: \(f.version))"))
            }
            return .success(f.signature)
        }
        if anyVersion {
            // A worker runs the one revision the gateway resolved the label to.
            answers.labelLookup = { name, _ in
                catalog.function(named: name).map { .success($0.signature) } ?? .failure(.notFound("unknown model '\(name)'"))
            }
        }
        self.answers = answers
        self.prometheus = prometheus
        self.logger = logger
        self.accessLog = accessLog
    }

    public func refused(status: Int) {
        unknownMetrics.finished(proto: .http, status: String(status), nanos: 0, wasInFlight: false)
    }

    // MARK: REST

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        let start = DispatchTime.now().uptimeNanoseconds
        let route = OIPRest.route(method: request.method, path: request.path)
        let fname = unknownMetrics
        // Metric labels are known only after routing; each answer passes them along.
        @Sendable func done(_ r: HTTPResponse, _ f: FunctionMetrics, _ p: ServingMetrics.WireProtocol, _ flight: Bool) {
            responder.respond(r)
            record(request: request, status: r.status, function: f, proto: p, start: start, inFlight: flight)
        }
        if request.path == "/metrics" || request.path.hasPrefix("/metrics?") {
            var body: [UInt8] = []
            prometheus?.emit(into: &body)
            return done(HTTPResponse(status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8", body: body), fname, .http, false)
        }
        if let (r, function) = answers.rest(route) {
            let proto: ServingMetrics.WireProtocol = request.path.hasPrefix("/v1/") ? .tfserving : .rest
            return done(r, function.map(handles) ?? fname, proto, false)
        }
        switch route {
        case .modelInfer(let name, let version):
            let f: LoadedFunction, m: FunctionMetrics
            switch lookup(name, version) {
            case .success(let found): (f, m) = (found.function, found.metrics)
            case .failure(let e): return done(error(e), fname, .rest, false)
            }
            m.started()
            let headerLength = request.headers["inference-header-content-length"].flatMap { Int($0) }
            let decoded: InferRequest
            do {
                decoded = try OIPRest.decodeInferRequest(body: request.body, inferenceHeaderLength: headerLength,
                                                         modelName: f.name, modelVersion: version)
            } catch {
                return done(self.error(error), m, .rest, true)
            }
            infer(f, decoded, on: responder.eventLoop) { [self] result in
                switch result {
                case .failure(let e): done(self.error(e), m, .rest, true)
                case .success(let (req, resp)):
                    do {
                        let (body, hlen) = try OIPRest.encodeInferResponse(resp, request: req)
                        var r = HTTPResponse(status: 200, contentType: hlen == nil ? "application/json" : "application/octet-stream", body: body)
                        if let hlen { r.headers.add("inference-header-content-length", String(hlen)) }
                        done(r, m, .rest, true)
                    } catch {
                        done(self.error(error), m, .rest, true)
                    }
                }
            }
        case .tfsPredict(let name, let version, let label):
            predictTFServing(name, version, label, request, on: responder.eventLoop, done: done)
        case .methodNotAllowed(let allow):
            var r = json(405, OIPRest.encodeError(message: "method \(request.method) not allowed for \(pathOnly(request.path)); allowed: \(allow)"))
            r.headers.add("allow", allow)
            done(r, fname, .rest, false)
        default:
            done(json(404, OIPRest.encodeError(message: "no route for \(request.method) \(pathOnly(request.path))")), fname, .http, false)
        }
    }

    // MARK: inference

    /// Validates, converts and runs one request; `completion` may run on an event loop (inline)
    /// or on the inference queue.
    func infer(_ f: LoadedFunction, _ request: InferRequest, on loop: EventLoop,
               completion: @escaping @Sendable (Result<(InferRequest, InferResponse), ProtocolError>) -> Void) {
        var request = request
        do {
            try validate(&request, against: f.signature)
        } catch {
            return completion(.failure(error))
        }
        let req = request
        let batch = request.inputs.first?.shape.first ?? 1
        let inline = f.runsInline(batch: batch)
        if inline, f.config.maxBatchSize > 1, loop.inEventLoop {
            if f.batcher.add(.init(request: req, completion: completion), loop: loop) {
                loop.execute { [self] in runBatches(f, f.batcher.take(loop: loop)) }
            }
        } else if inline {
            completion(Self.run(f, f.inlineExecutor, req).map { (req, $0) })
        } else {
            inferenceQueue.async {
                // Off the event loop, which a worker may have pinned (co-location): never pinned here.
                ThreadAffinity.spreadIfBornPinned()
                let t0 = DispatchTime.now().uptimeNanoseconds
                let result = Self.run(f, f.executor, req)
                f.noteRun(nanos: DispatchTime.now().uptimeNanoseconds - t0, batch: batch)
                completion(result.map { (req, $0) })
            }
        }
    }

    /// One tick's queued requests of `f`, as batches of up to `inlineBatchRows` rows. A batch that
    /// fails, or whose outputs do not split by rows, is run again request by request, so a request
    /// never gets an error (or an answer) that is not its own.
    func runBatches(_ f: LoadedFunction, _ items: [InlineBatcher.Pending]) {
        ResponseFlushing.batched { runBatches(f, items, requests: items.map(\.request)) }
    }

    private func runBatches(_ f: LoadedFunction, _ items: [InlineBatcher.Pending], requests: [InferRequest]) {
        for g in BatchAssembly.groups(requests, maxRows: f.inlineBatchRows) {
            let stacked = g.count > 1 ? BatchAssembly.stack(requests[g]) : nil
            if let stacked, case .success(let response) = Self.run(f, f.inlineExecutor, stacked),
               let parts = BatchAssembly.split(response, requests[g]) {
                let rows = stacked.inputs[0].shape[0]
                f.batcher.noteBatch(rows: rows)
                handles(f.name).batched(rows: rows)
                for (i, part) in zip(g, parts) { items[i].completion(.success((requests[i], part))) }
                continue
            }
            for i in g { items[i].completion(Self.run(f, f.inlineExecutor, requests[i]).map { (requests[i], $0) }) }
        }
    }

    static func run(_ f: LoadedFunction, _ executor: Executor, _ request: InferRequest) -> Result<InferResponse, ProtocolError> {
        let sigs = executor.inputs
        var inputs: [Tensor] = []
        inputs.reserveCapacity(sigs.count)
        // `validate` left the inputs in the signature's order.
        for (sig, t) in zip(sigs, request.inputs) {
            inputs.append(TensorBridge.tensor(t, dtype: sig.dtype))
        }
        do {
            let tensors = try executor.run(inputs) { outs in
                zip(executor.outputs, outs).map { TensorBridge.inferTensor(name: $0.name, $1) }
            }
            return .success(InferResponse(modelName: f.name, modelVersion: f.version, id: request.id, outputs: tensors))
        } catch let e as ModelError {
            return .failure(e.code == .invalidInput ? .invalidArgument(e.message) : ProtocolError(.internal, e.message))
        } catch {
            return .failure(ProtocolError(.internal, "\(error)"))
        }
    }

    /// The function a request names, by the rules of `answers.lookup`, which also words the errors.
    func lookup(_ name: String, _ version: String?) -> Result<Served, ProtocolError> {
        if let s = served[name], version == nil || anyVersion || version == s.function.version { return .success(s) }
        return answers.lookup(name, version).map { served[$0.name]! }
    }

    // MARK: helpers

    func handles(_ function: String) -> FunctionMetrics { served[function]?.metrics ?? unknownMetrics }

    func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: body)
    }

    func error(_ e: Error) -> HTTPResponse {
        let pe = (e as? ProtocolError) ?? ProtocolError(.internal, "\(e)")
        if pe.code == .internal { logger.error("internal error: \(pe.message)") }
        return json(pe.httpStatus, OIPRest.encodeError(pe))
    }

    func pathOnly(_ p: String) -> String { p.split(separator: "?", maxSplits: 1).first.map(String.init) ?? p }

    func record(request: HTTPRequest, status: Int, function: FunctionMetrics, proto: ServingMetrics.WireProtocol, start: UInt64, inFlight: Bool) {
        let nanos = DispatchTime.now().uptimeNanoseconds - start
        function.finished(proto: proto, status: String(status), nanos: nanos, wasInFlight: inFlight)
        if accessLog {
            logger.info("\(request.method) \(request.path) \(status) \(String(format: "%.3f", Double(nanos) / 1e6))ms",
                        metadata: ["function": "\(function.name)", "protocol": "\(proto.rawValue)",
                                   "http": "\(request.version == .http2 ? "2" : "1.1")"])
        }
    }
}
