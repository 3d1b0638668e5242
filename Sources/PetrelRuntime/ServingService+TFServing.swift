import PetrelHTTP2
import PetrelProtocol

/// TF Serving's REST API (`/v1/models/...`): predict in row and columnar form, model status,
/// metadata. Versions are numbers; labels name versions (every function has one version for now,
/// so the only label is "latest"... until traffic tags arrive with revisions).
extension ServingService {
    func handleTFServing(_ route: Route, _ request: HTTPRequest,
                         done: @escaping (HTTPResponse, String, ServingMetrics.WireProtocol, Bool) -> Void) {
        let (name, version, label): (String, String?, String?)
        switch route {
        case .tfsPredict(let n, let v, let l), .tfsModelStatus(let n, let v, let l), .tfsMetadata(let n, let v, let l):
            (name, version, label) = (n, v, l)
        default:
            return
        }
        let f: LoadedFunction
        switch lookupTFS(name, version, label) {
        case .success(let found): f = found
        case .failure(let e): return done(error(e), ServingMetrics.unknownFunction, .tfserving, false)
        }
        switch route {
        case .tfsModelStatus:
            done(json(200, TFServingRest.encodeModelStatus(versions: [f.version])), f.name, .tfserving, false)
        case .tfsMetadata:
            done(json(200, TFServingRest.encodeMetadata(f.signature, version: f.version)), f.name, .tfserving, false)
        default:
            handles(f.name).started()
            let predict: TFServingRest.PredictRequest
            do {
                predict = try TFServingRest.decodePredictRequest(body: request.body, signature: f.signature, modelVersion: f.version)
            } catch {
                return done(self.error(error), f.name, .tfserving, true)
            }
            infer(f, predict.inference) { [self] result in
                switch result {
                case .failure(let e): done(self.error(e), f.name, .tfserving, true)
                case .success(let (_, resp)):
                    do {
                        done(json(200, try TFServingRest.encodePredictResponse(resp, request: predict)), f.name, .tfserving, true)
                    } catch {
                        done(self.error(error), f.name, .tfserving, true)
                    }
                }
            }
        }
    }

    private func lookupTFS(_ name: String, _ version: String?, _ label: String?) -> Result<LoadedFunction, ProtocolError> {
        if let label {
            guard let f = catalog.function(named: name) else { return .failure(.notFound("unknown model '\(name)'")) }
            guard label == "latest" || label == "stable" else {
                return .failure(.notFound("model '\(name)' has no version label '\(label)' (labels: latest, stable)"))
            }
            return .success(f)
        }
        return lookup(name, version)
    }
}
