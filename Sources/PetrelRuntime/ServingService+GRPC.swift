import PetrelModel
import NIOCore
import PetrelHTTP2
import PetrelProtocol

/// `inference.GRPCInferenceService`: the same functions through the Open Inference Protocol's
/// gRPC binding.
extension ServingService {
    public static let grpcService = "inference.GRPCInferenceService"

    public func registerGRPC(on router: GRPCRouter) {
        let svc = Self.grpcService
        for method in MetadataAnswers.grpcMethods {
            router.register(service: svc, method: method) { [self] call, reply in
                self.answer(reply, method, self.answers.grpc(method: method, message: call.message)!)
            }
        }
        router.register(service: svc, method: "ModelInfer") { [self] call, reply in
            self.modelInfer(call, reply)
        }
    }

    private func modelInfer(_ call: GRPCCall, _ reply: GRPCReply) {
        let start = DispatchTime.now().uptimeNanoseconds
        let request: InferRequest
        do {
            request = try call.withMessage { (m) throws(ProtocolError) in try OIPGrpc.decodeInferRequest(m) }
        } catch {
            return finish(reply, .failure(error), function: unknownMetrics, start: start, inFlight: false)
        }
        let f: LoadedFunction, m: FunctionMetrics
        switch lookup(request.modelName, request.modelVersion) {
        case .success(let found): (f, m) = (found.function, found.metrics)
        case .failure(let e): return finish(reply, .failure(e), function: unknownMetrics, start: start, inFlight: false)
        }
        m.started()
        infer(f, request, on: call.eventLoop) { [self] result in
            let encoded = result.flatMap { (req, resp) in
                Result { () throws(ProtocolError) in try OIPGrpc.encodeInferResponse(resp, request: req, prefix: GRPCWire.framePrefix) }
            }
            finish(reply, encoded, function: m, start: start, inFlight: true)
        }
    }

    private func answer(_ reply: GRPCReply, _ method: String, _ r: Result<[UInt8], ProtocolError>) {
        finish(reply, r, framed: false, function: unknownMetrics, start: DispatchTime.now().uptimeNanoseconds, inFlight: false, method: method)
    }

    /// `framed`: `r`'s bytes are a message behind room for its frame header (`GRPCResult.framed`).
    private func finish(_ reply: GRPCReply, _ r: Result<[UInt8], ProtocolError>, framed: Bool = true, function: FunctionMetrics,
                        start: UInt64, inFlight: Bool, method: String = "ModelInfer") {
        let status: String
        switch r {
        case .success(let bytes):
            reply(framed ? .framed(bytes) : .ok(bytes))
            status = GRPCStatus.ok.name
        case .failure(let e):
            if e.code == .internal { logger.error("internal error: \(e.message)") }
            let code = GRPCStatus(rawValue: e.grpcStatus) ?? .unknown
            reply(.failure(code, e.message))
            status = code.name
        }
        let nanos = DispatchTime.now().uptimeNanoseconds - start
        function.finished(proto: .grpc, status: status, nanos: nanos, wasInFlight: inFlight)
        if accessLog {
            logger.info("gRPC \(Self.grpcService)/\(method) \(status) \(String(format: "%.3f", Double(nanos) / 1e6))ms",
                        metadata: ["function": "\(function.name)", "protocol": "grpc"])
        }
    }
}

import Dispatch
import Foundation
