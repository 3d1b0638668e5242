import NIOCore
import PetrelHTTP2
import PetrelProtocol

/// TF Serving's `:predict` in row and columnar form (status and metadata are `MetadataAnswers`).
extension ServingService {
    func predictTFServing(_ name: String, _ version: String?, _ label: String?, _ request: HTTPRequest, on loop: EventLoop,
                          done: @escaping (HTTPResponse, String, ServingMetrics.WireProtocol, Bool) -> Void) {
        let f: LoadedFunction
        switch answers.resolve(name, version, label: label) {
        case .success(let sig): f = catalog.function(named: sig.name)!
        case .failure(let e): return done(error(e), ServingMetrics.unknownFunction, .tfserving, false)
        }
        handles(f.name).started()
        let predict: TFServingRest.PredictRequest
        do {
            predict = try TFServingRest.decodePredictRequest(body: request.body, signature: f.signature, modelVersion: f.version)
        } catch {
            return done(self.error(error), f.name, .tfserving, true)
        }
        infer(f, predict.inference, on: loop) { [self] result in
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
