import Foundation
import Logging
import Testing
import PetrelHTTP2
import PetrelProtocol
@testable import PetrelRuntime

/// The serving service on a real socket with the bundled digits-mlp, through our own client:
/// REST, gRPC and TF Serving answer the same numbers; errors carry their statuses.
@Suite(.serialized) struct ServingTests {
    static let functionsDir: String = {
        var url = URL(fileURLWithPath: #filePath)
        for _ in 0..<3 { url.deleteLastPathComponent() }
        return url.appendingPathComponent("functions").path
    }()

    func withServer(_ body: (HTTP2Client) async throws -> Void) async throws {
        let home = NSTemporaryDirectory() + "petrel-runtime-tests-\(getpid())"
        setenv("PETREL_HOME", home, 1)
        let config = try FunctionConfig.load(directory: Self.functionsDir + "/digits-mlp")
        let f = try LoadedFunction(config: config, threads: 1)
        let service = ServingService(catalog: FunctionCatalog([f]), metrics: ServingMetrics(), prometheus: nil,
                                     logger: Logger(label: "test"), accessLog: false)
        let router = GRPCRouter(fallback: service)
        service.registerGRPC(on: router)
        var sc = ServerConfiguration()
        sc.address = .tcp(host: "127.0.0.1", port: 0)
        sc.eventLoopThreads = 1
        let server = try HTTPServer(configuration: sc, service: router)
        let port = try server.start().port!
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        try await body(client)
    }

    static let pixels: [Float] = (0..<64).map { Float($0 % 16) }

    @Test func restGrpcAndTFServingAgree() async throws {
        try await withServer { client in
            let json = #"{"id":"a","inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[\#(Self.pixels.map { "\(Int($0))" }.joined(separator: ","))]}]}"#
            let rest = try await client.send(HTTPRequest(method: "POST", path: "/v2/models/digits-mlp/infer", body: Array(json.utf8)))
            #expect(rest.status == 200)
            let restOut = try OIPRest.decodeInferRequest(body: rest.body.replacingOutputsWithInputs(), modelName: "x").inputs[0]

            var req = InferRequest(modelName: "digits-mlp", inputs: [
                InferTensor(name: "input", datatype: .fp32, shape: [1, 64], data: Self.pixels.withUnsafeBytes { Array($0) })])
            req.id = "g"
            let g = try await client.send(HTTPRequest(method: "POST", path: "/inference.GRPCInferenceService/ModelInfer",
                                                      headers: ["content-type": "application/grpc"],
                                                      body: GRPCWire.frame(OIPGrpc.encodeInferRequest(req))))
            #expect(g.grpcStatus == "0")
            let resp = try OIPGrpc.decodeInferResponse(try GRPCWire.unaryMessage(g.body, maxBytes: 1 << 20).get())
            #expect(resp.id == "g" && resp.outputs[0].shape == [1, 10])
            #expect(resp.outputs[0].data.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }.reduce(0, +) > 0.99)
            #expect(restOut.shape == [1, 10])

            let tfs = try await client.send(HTTPRequest(method: "POST", path: "/v1/models/digits-mlp:predict",
                                                        body: Array(#"{"instances":[[\#(Self.pixels.map { "\(Int($0))" }.joined(separator: ","))]]}"#.utf8)))
            #expect(tfs.status == 200)
            #expect(String(decoding: tfs.body, as: UTF8.self).hasPrefix(#"{"predictions":[["#))
        }
    }

    @Test func errorsMapToStatuses() async throws {
        try await withServer { client in
            let nf = try await client.send(HTTPRequest(method: "POST", path: "/v2/models/nope/infer", body: Array("{}".utf8)))
            #expect(nf.status == 404)
            let bad = try await client.send(HTTPRequest(method: "POST", path: "/v2/models/digits-mlp/infer",
                                                        body: Array(#"{"inputs":[{"name":"input","shape":[1,3],"datatype":"FP32","data":[1,2,3]}]}"#.utf8)))
            #expect(bad.status == 400)
            #expect(String(decoding: bad.body, as: UTF8.self).contains("input"))
            let get = try await client.send(HTTPRequest(method: "GET", path: "/v2/models/digits-mlp/infer"))
            #expect(get.status == 405 && get.headers["allow"] == "POST")
            let grpcNF = try await client.send(HTTPRequest(method: "POST", path: "/inference.GRPCInferenceService/ModelInfer",
                                                           headers: ["content-type": "application/grpc"],
                                                           body: GRPCWire.frame(OIPGrpc.encodeInferRequest(InferRequest(modelName: "nope", inputs: [])))))
            #expect(grpcNF.grpcStatus == "5")
        }
    }
}

extension Array where Element == UInt8 {
    /// Reads a REST infer response's outputs through the request decoder (same tensor JSON).
    func replacingOutputsWithInputs() -> [UInt8] {
        let s = String(decoding: self, as: UTF8.self)
        guard let r = s.range(of: #""outputs":"#) else { return self }
        return Array(("{\"inputs\":" + s[r.upperBound...]).utf8)
    }
}
