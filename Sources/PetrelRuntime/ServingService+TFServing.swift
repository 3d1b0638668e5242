import NIOCore
import PetrelHTTP2
import PetrelProtocol

/// TF Serving's `:predict` in row and columnar form (status and metadata are `MetadataAnswers`).
extension ServingService {
    func predictTFServing(_ name: String, _ version: String?, _ label: String?, _ request: HTTPRequest, on loop: EventLoop,
                          done: @escaping (HTTPResponse, FunctionMetrics, ServingMetrics.WireProtocol, Bool) -> Void) {
        let f: LoadedFunction, m: FunctionMetrics
        switch answers.resolve(name, version, label: label) {
        case .success(let sig): let s = served[sig.name]!; (f, m) = (s.function, s.metrics)
        case .failure(let e): return done(error(e), unknownMetrics, .tfserving, false)
        }
        m.started()
        let predict: TFServingRest.PredictRequest
        do {
            predict = try TFServingRest.decodePredictRequest(body: request.body, signature: f.signature, modelVersion: f.version)
        } catch {
            return done(self.error(error), m, .tfserving, true)
        }
        infer(f, predict.inference, on: loop) { [self] result in
            switch result {
            case .failure(let e): done(self.error(e), m, .tfserving, true)
            case .success(let (_, resp)):
                do {
                    done(json(200, try TFServingRest.encodePredictResponse(resp, request: predict)), m, .tfserving, true)
                } catch {
                    done(self.error(error), m, .tfserving, true)
                }
            }
        }
    }
}
