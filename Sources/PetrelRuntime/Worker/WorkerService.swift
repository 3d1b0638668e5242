import Foundation
import Logging
import PetrelHTTP2
import PetrelKernels
import PetrelProtocol

/// What runs inside a worker process: one function, served through the same `ServingService` as
/// in-process mode once its artifact is mapped. Until then requests wait here (the gateway sends
/// them as soon as the socket answers). A prewarmed worker starts with no function and is told
/// which artifact to map by `POST /petrel/specialise` (`{"name": ..., "artifact": ...}`).
///
/// Phases are reported as lines `PHASE NANOS` (CLOCK_MONOTONIC) through `report` (the gateway's
/// pipe): `main`, `ready`, `mapped`; the first response carries `petrel-first-inference-ns`.
public final class WorkerService: HTTPService, @unchecked Sendable {
    private enum State { case empty, loading, serving(HTTPService, LoadedFunction), failed(String) }
    private let lock = NSLock()
    private var state = State.empty
    private var pending: [(HTTPRequest, HTTPResponder)] = []
    private var firstAnswered = false
    /// The gateway's last `petrel-colocate` value applied to the loop thread, and where the process
    /// may run when spread.
    private var placed = "none"
    private let spread = ThreadAffinity.atStart
    /// Honour `petrel-colocate`: only behind a gateway (its Unix socket), which strips the header
    /// from what clients send; a standalone worker (`--listen`) ignores it.
    let followsGateway: Bool
    let threads: Int
    let logger: Logger
    let accessLog: Bool
    let report: @Sendable (String) -> Void

    public init(threads: Int, logger: Logger, accessLog: Bool, followsGateway: Bool = false,
                report: @escaping @Sendable (String) -> Void) {
        self.followsGateway = followsGateway
        self.threads = threads
        self.logger = logger
        self.accessLog = accessLog
        self.report = report
    }

    /// Maps the artifact on a background thread; requests queue until it is done.
    /// `version`: the revision this worker runs (gateway mode): it answers any requested version
    /// as that one, since the gateway already resolved tags, numbers and traffic to it.
    public func load(name: String, artifactPath: String, version: String? = nil, maxBatchSize: Int = 0) {
        let start: Bool = lock.withLock {
            guard case .empty = state else { return false }
            state = .loading
            return true
        }
        guard start else { return }
        DispatchQueue.global(qos: .userInitiated).async { [self] in
            let next: State
            do {
                let f = try LoadedFunction(name: name, artifactPath: artifactPath, threads: threads, warm: false,
                                           maxBatchSize: maxBatchSize)
                if let version { f.version = version }
                let service = ServingService(catalog: FunctionCatalog([f]), metrics: ServingMetrics(), prometheus: nil,
                                             logger: logger, accessLog: accessLog, anyVersion: version != nil)
                let router = GRPCRouter(maxMessageBytes: .max, fallback: service)
                service.registerGRPC(on: router)
                next = .serving(router, f)
                report(WorkerReport.mapped(MonotonicClock.now()).line)
            } catch {
                next = .failed("\(error)")
                report(WorkerReport.error("\(error)").line)
            }
            let waiting: [(HTTPRequest, HTTPResponder)] = lock.withLock {
                state = next
                defer { pending = [] }
                return pending
            }
            for (r, responder) in waiting { dispatch(r, responder: responder) }
        }
    }

    /// A prewarmed worker runs one whole request's code path on a small artifact before it is
    /// claimed: protobuf decoding of artifact metadata, executor planning, kernels, the REST and
    /// gRPC codecs. In a fresh process each of these pays first-use costs (metadata instantiation,
    /// protocol-conformance lookups in a large binary) that otherwise land in the cold start.
    public func prepare(warmArtifact path: String, premap: [String] = []) {
        DispatchQueue.global(qos: .utility).async { [self, threads] in
            defer { self.report(WorkerReport.warmed(MonotonicClock.now()).line) }
            guard let f = try? LoadedFunction(name: "warmup", artifactPath: path, threads: threads, warm: true) else { return }
            defer { PremappedArtifacts.shared.premap(premap, warmThreads: threads) }
            let inputs = f.signature.inputs.map { spec -> InferTensor in
                let shape = spec.shape.map { $0 < 0 ? 1 : Int($0) }
                let count = shape.reduce(1, *) * (spec.datatype.byteSize ?? 1)
                return InferTensor(name: spec.name, datatype: spec.datatype, shape: shape, data: [UInt8](repeating: 0, count: count))
            }
            var request = InferRequest(modelName: "warmup", inputs: inputs)
            guard (try? validate(&request, against: f.signature)) != nil,
                  case .success(let response) = ServingService.run(f, f.inlineExecutor, request) else { return }
            let grpc = try? OIPGrpc.encodeInferResponse(response, request: request)
            _ = try? OIPGrpc.decodeInferRequest(OIPGrpc.encodeInferRequest(request))
            if let rest = try? OIPRest.encodeInferResponse(response, request: request) {
                _ = try? OIPRest.decodeInferRequest(body: Array(String(decoding: rest.body, as: UTF8.self)
                    .replacingOccurrences(of: "\"outputs\"", with: "\"inputs\"").utf8), modelName: "warmup")
            }
            _ = grpc
        }
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        // On the worker's event loop (the server calls in there); requests replayed after loading
        // come through `dispatch` on the loader's thread, which must not be pinned.
        if followsGateway, let place = request.headers[Colocation.header] { colocate(place) }
        dispatch(request, responder: responder)
    }

    private func dispatch(_ request: HTTPRequest, responder: HTTPResponder) {
        if request.path == "/petrel/specialise" {
            return specialise(request, responder)
        }
        let current: State? = lock.withLock {
            switch state {
            case .serving, .failed: return state
            case .empty, .loading:
                pending.append((request, responder))
                return nil
            }
        }
        switch current {
        case .serving(let service, _)?:
            let first = lock.withLock { () -> Bool in defer { firstAnswered = true }; return !firstAnswered }
            guard first else { return service.handle(request, responder: responder) }
            service.handle(request, responder: responder.transformed { r in
                var r = r
                r.headers.add("petrel-first-inference-ns", String(MonotonicClock.now()))
                return r
            })
        case .failed(let why)?:
            responder.respond(HTTPResponse(status: 503, contentType: "application/json",
                                           body: OIPRest.encodeError(message: "worker cannot load its function: \(why)")))
        default:
            break
        }
    }

    /// Runs the calling thread (the worker's one event loop, which does its I/O and runs tiny models
    /// inline) on the gateway's CPU, or anywhere for `none` (see `ColocationPolicy`). Offloaded
    /// inference runs on other threads and is never pinned.
    private func colocate(_ place: String) {
        guard lock.withLock({ () -> Bool in defer { placed = place }; return placed != place }) else { return }
        if let cpu = Int(place) { ThreadAffinity.set([cpu]) } else { ThreadAffinity.set(spread) }
    }

    /// Body: the function's name, the artifact's path and optionally the revision number and the
    /// largest batch (`batching.maxBatchSize`), a line each. Plain text on purpose: the
    /// first use of Foundation's JSON in a fresh process costs milliseconds of this cold start.
    private func specialise(_ request: HTTPRequest, _ responder: HTTPResponder) {
        let lines = request.body.split(separator: UInt8(ascii: "\n")).map { String(decoding: $0, as: UTF8.self) }
        let maxBatch = lines.count == 4 ? Int(lines[3]).flatMap { FunctionConfig.batchSizeRange.contains($0) ? $0 : nil } : 0
        guard (2...4).contains(lines.count), !lines[0].isEmpty, !lines[1].isEmpty, let maxBatch else {
            return responder.respond(HTTPResponse(status: 400, contentType: "application/json",
                                                  body: OIPRest.encodeError(message: "specialise needs two to four lines: name, artifact path, version, largest batch")))
        }
        responder.respond(HTTPResponse(status: 202, contentType: "text/plain", body: Array("mapping\n".utf8)))
        load(name: lines[0], artifactPath: lines[1], version: lines.count >= 3 ? lines[2] : nil, maxBatchSize: maxBatch)
    }
}
