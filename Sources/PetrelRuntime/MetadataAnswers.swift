import PetrelHTTP2
import PetrelProtocol
import PetrelModel

/// Health, readiness and metadata of the Open Inference Protocol (REST and gRPC) and TF Serving,
/// answered from signatures alone, so the in-process server and the gateway (which never runs a
/// model) give the same answers.
struct MetadataAnswers: Sendable {
    /// A function's signature by name and version (nil: its default version).
    let lookup: @Sendable (String, String?) -> Result<ModelSignature, ProtocolError>

    static let grpcMethods = ["ServerLive", "ServerReady", "ServerMetadata", "ModelReady", "ModelMetadata"]

    /// A TF Serving label of a function (the gateway resolves tags); nil: the rule below.
    var labelLookup: (@Sendable (String, String) -> Result<ModelSignature, ProtocolError>)? = nil

    /// TF Serving labels name versions. With one version per function, "latest" and "stable" are it.
    func resolve(_ name: String, _ version: String?, label: String?) -> Result<ModelSignature, ProtocolError> {
        guard let label else { return lookup(name, version) }
        if let labelLookup { return labelLookup(name, label) }
        return lookup(name, nil).flatMap { sig in
            label == "latest" || label == "stable" ? .success(sig)
                : .failure(.notFound("model '\(name)' has no version label '\(label)' (labels: latest, stable)"))
        }
    }

    /// The answer to a health or metadata route and the function it concerns; nil for any other route.
    func rest(_ route: Route) -> (response: HTTPResponse, function: String?)? {
        func answer(_ r: Result<ModelSignature, ProtocolError>, _ body: (ModelSignature) -> [UInt8]) -> (HTTPResponse, String?) {
            switch r {
            case .success(let sig): (Self.json(200, body(sig)), sig.name)
            case .failure(let e): (Self.json(e.httpStatus, OIPRest.encodeError(e)), nil)
            }
        }
        switch route {
        case .serverLive: return (Self.json(200, OIPRest.encodeLive(true)), nil)
        case .serverReady: return (Self.json(200, OIPRest.encodeReady(true)), nil)
        case .serverMetadata: return (Self.json(200, OIPRest.encodeServerMetadata(version: petrelCompilerVersion)), nil)
        case .modelMetadata(let n, let v): return answer(lookup(n, v), OIPRest.encodeModelMetadata)
        // A function at zero workers is still ready: its first request starts one.
        case .modelReady(let n, let v): return answer(lookup(n, v)) { _ in OIPRest.encodeReady(true) }
        case .tfsModelStatus(let n, let v, let l):
            return answer(resolve(n, v, label: l)) { TFServingRest.encodeModelStatus(versions: $0.versions) }
        case .tfsMetadata(let n, let v, let l):
            return answer(resolve(n, v, label: l)) { TFServingRest.encodeMetadata($0, version: $0.versions.first) }
        default: return nil
        }
    }

    /// The five non-inference methods of `inference.GRPCInferenceService`; nil for any other.
    func grpc(method: String, message: [UInt8]) -> Result<[UInt8], ProtocolError>? {
        switch method {
        case "ServerLive": return .success(OIPGrpc.encodeServerLiveResponse(live: true))
        case "ServerReady": return .success(OIPGrpc.encodeServerReadyResponse(ready: true))
        case "ServerMetadata": return .success(OIPGrpc.encodeServerMetadataResponse(version: petrelCompilerVersion))
        case "ModelReady":
            return Result { () throws(ProtocolError) in try OIPGrpc.decodeModelReadyRequest(message) }
                .flatMap { lookup($0.name, $0.version) }.map { _ in OIPGrpc.encodeModelReadyResponse(ready: true) }
        case "ModelMetadata":
            return Result { () throws(ProtocolError) in try OIPGrpc.decodeModelMetadataRequest(message) }
                .flatMap { lookup($0.name, $0.version) }.map(OIPGrpc.encodeModelMetadataResponse)
        default: return nil
        }
    }

    static func json(_ status: Int, _ body: [UInt8]) -> HTTPResponse {
        HTTPResponse(status: status, contentType: "application/json", body: body)
    }
}
