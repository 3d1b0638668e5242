import Testing
@testable import PetrelProtocol

@Suite struct RouteTests {
    @Test(arguments: [
        ("GET", "/v2/health/live", Route.serverLive),
        ("HEAD", "/v2/health/live", .serverLive),
        ("GET", "/v2/health/ready", .serverReady),
        ("GET", "/v2", .serverMetadata),
        ("GET", "/v2/models/resnet", .modelMetadata(name: "resnet", version: nil)),
        ("GET", "/v2/models/resnet/versions/3", .modelMetadata(name: "resnet", version: "3")),
        ("GET", "/v2/models/resnet/ready", .modelReady(name: "resnet", version: nil)),
        ("GET", "/v2/models/resnet/versions/2/ready", .modelReady(name: "resnet", version: "2")),
        ("POST", "/v2/models/resnet/infer", .modelInfer(name: "resnet", version: nil)),
        ("POST", "/v2/models/resnet/versions/7/infer?x=1", .modelInfer(name: "resnet", version: "7")),
        ("POST", "/v2/models/my%20model/infer", .modelInfer(name: "my model", version: nil)),
        ("POST", "/v2/models/a%3Ab/infer", .modelInfer(name: "a:b", version: nil)),
        ("POST", "/v1/models/half:predict", .tfsPredict(name: "half", version: nil, label: nil)),
        ("POST", "/v1/models/half/versions/2:predict", .tfsPredict(name: "half", version: "2", label: nil)),
        ("POST", "/v1/models/half/labels/stable:predict", .tfsPredict(name: "half", version: nil, label: "stable")),
        ("POST", "/v1/models/a%3Ab:predict", .tfsPredict(name: "a:b", version: nil, label: nil)),
        ("GET", "/v1/models/half", .tfsModelStatus(name: "half", version: nil, label: nil)),
        ("GET", "/v1/models/half/versions/1", .tfsModelStatus(name: "half", version: "1", label: nil)),
        ("GET", "/v1/models/half/metadata", .tfsMetadata(name: "half", version: nil, label: nil)),
        ("GET", "/v1/models/half/labels/canary/metadata", .tfsMetadata(name: "half", version: nil, label: "canary")),
        ("POST", "/v2/health/live", .methodNotAllowed(allow: "GET, HEAD")),
        ("GET", "/v2/models/m/infer", .methodNotAllowed(allow: "POST")),
        ("GET", "/v1/models/m:predict", .methodNotAllowed(allow: "POST")),
        ("DELETE", "/v2/models/m", .methodNotAllowed(allow: "GET, HEAD")),
        ("GET", "/v2/", .notFound),
        ("GET", "/v3", .notFound),
        ("GET", "", .notFound),
        ("GET", "v2", .notFound),
        ("GET", "/v2/models", .notFound),
        ("GET", "/v2/models//ready", .notFound),
        ("GET", "/v2/models/m/", .notFound),
        ("GET", "/v2/models/../ready", .notFound),
        ("GET", "/v2/models/./ready", .notFound),
        ("GET", "/v2/models/a%2Fb", .notFound),
        ("GET", "/v2/models/a%zz", .notFound),
        ("GET", "/v2/models/a%0A", .notFound),
        ("GET", "/v2/models/a%ff", .notFound),
        ("GET", "/v2/models/m/versions", .notFound),
        ("POST", "/v2/models/m/explain", .notFound),
        ("POST", "/v1/models/m:classify", .notFound),
        ("GET", "/v1/models/m/metadata/x", .notFound),
        ("GET", "/v1/models", .notFound),
        // The path is split on bytes: '?' starts the query even before a combining mark, and a
        // mark after ':' is part of the verb, not dropped with it.
        ("GET", "/v2/models/m?\u{301}", .modelMetadata(name: "m", version: nil)),
        ("POST", "/v1/models/m:\u{301}predict", .notFound),
    ])
    func routes(method: String, path: String, expected: Route) {
        #expect(OIPRest.route(method: method, path: path) == expected, "\(method) \(path)")
    }

    /// The plain infer route must agree with the general one wherever it answers at all.
    @Test func plainInferRouteAgreesWithTheGeneralRoute() {
        let pieces = ["/v2/models/", "m", "digits-mlp", "versions", "/", "2", ".", "..", "%41", "?q", "#f",
                      "infer", "/infer", "é", "~a_b", "", "ready", "/v2"]
        var rng = SystemRandomNumberGenerator()
        var answered = 0
        for i in 0..<20_000 {
            var path = i % 2 == 0 ? "/v2/models/" : ""
            for _ in 0..<Int.random(in: 0...6, using: &rng) { path += pieces.randomElement(using: &rng)! }
            if i % 3 == 0 { path += "/infer" }
            let method = i % 5 == 0 ? "GET" : "POST"
            if let fast = OIPRest.plainInferRoute(method: method, path: path) {
                answered += 1
                #expect(fast == OIPRest.generalRoute(method: method, path: path), "\(method) \(path)")
            }
        }
        #expect(answered > 200)
    }
}
