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
            request = try OIPGrpc.decodeInferRequest(call.message)
        } catch {
            return finish(reply, .failure(error), function: ServingMetrics.unknownFunction, start: start, inFlight: false)
        }
        let f: LoadedFunction
        switch lookup(request.modelName, request.modelVersion) {
        case .success(let found): f = found
        case .failure(let e): return finish(reply, .failure(e), function: ServingMetrics.unknownFunction, start: start, inFlight: false)
        }
        handles(f.name).started()
        infer(f, request, on: call.eventLoop) { [self] result in
            let encoded = result.flatMap { (req, resp) in
                Result { () throws(ProtocolError) in try OIPGrpc.encodeInferResponse(resp, request: req) }
            }
            finish(reply, encoded, function: f.name, start: start, inFlight: true)
        }
    }

    private func answer(_ reply: GRPCReply, _ method: String, _ r: Result<[UInt8], ProtocolError>) {
        finish(reply, r, function: ServingMetrics.unknownFunction, start: DispatchTime.now().uptimeNanoseconds, inFlight: false, method: method)
    }

    private func finish(_ reply: GRPCReply, _ r: Result<[UInt8], ProtocolError>, function: String,
                        start: UInt64, inFlight: Bool, method: String = "ModelInfer") {
        let status: String
        switch r {
        case .success(let bytes):
            reply(.ok(bytes))
            status = GRPCStatus.ok.name
        case .failure(let e):
            if e.code == .internal { logger.error("internal error: \(e.message)") }
            let code = GRPCStatus(rawValue: e.grpcStatus) ?? .unknown
            reply(.failure(code, e.message))
            status = code.name
        }
        let nanos = DispatchTime.now().uptimeNanoseconds - start
        handles(function).finished(proto: .grpc, status: status, nanos: nanos, wasInFlight: inFlight)
        if accessLog {
            logger.info("gRPC \(Self.grpcService)/\(method) \(status) \(String(format: "%.3f", Double(nanos) / 1e6))ms",
                        metadata: ["function": "\(function)", "protocol": "grpc"])
        }
    }
}

import Dispatch
import Foundation
