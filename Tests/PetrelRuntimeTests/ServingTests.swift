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
        try await withServerAndFunction { client, _ in try await body(client) }
    }

    /// `inline`: the function runs on the event loop whatever this build's speed (a debug build's
    /// digits-mlp takes longer than the inline budget), as a release build's does.
    func withServerAndFunction(inline: Bool = false, _ body: (HTTP2Client, LoadedFunction) async throws -> Void) async throws {
        let home = NSTemporaryDirectory() + "petrel-runtime-tests-\(getpid())"
        setenv("PETREL_HOME", home, 1)
        let config = try FunctionConfig.load(directory: Self.functionsDir + "/digits-mlp")
        let (model, report, _) = try Deployer.compileChecked(config, threads: 1)
        let f = try LoadedFunction(config: config, model: model, digest: report.digest, threads: 1, warm: !inline)
        if inline { f.noteRun(nanos: 2_000, batch: 1) }
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
        try await body(client, f)
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

    /// digits-mlp's function.yaml asks for batching: many requests in flight on one connection
    /// arrive in few reads, run in batches, and each still gets exactly its own answer.
    @Test func concurrentRequestsAreBatchedAndAnsweredOneByOne() async throws {
        try await withServerAndFunction(inline: true) { client, f in
            #expect(f.config.maxBatchSize == 32 && f.inlineBatchRows == 25)
            let requests = (0..<200).map { i in
                InferRequest(id: "r\(i)", modelName: "digits-mlp", inputs: [
                    InferTensor(name: "input", datatype: .fp32, shape: [1 + i % 3, 64],
                                data: (0..<(64 * (1 + i % 3))).map { Float(($0 * 7 + i * 13) % 17) }.withUnsafeBytes { Array($0) })])
            }
            let futures = requests.enumerated().map { i, r in
                i % 2 == 0
                    ? client.send(HTTPRequest(method: "POST", path: "/inference.GRPCInferenceService/ModelInfer",
                                              headers: ["content-type": "application/grpc"],
                                              body: GRPCWire.frame(OIPGrpc.encodeInferRequest(r))))
                    : client.send(HTTPRequest(method: "POST", path: "/v2/models/digits-mlp/infer", body: Array(json(r).utf8)))
            }
            for (i, (r, fut)) in zip(requests, futures).enumerated() {
                let answer = try await fut.get()
                let got: InferResponse
                if i % 2 == 0 {
                    #expect(answer.grpcStatus == "0")
                    got = try OIPGrpc.decodeInferResponse(try GRPCWire.unaryMessage(answer.body, maxBytes: 1 << 20).get())
                } else {
                    #expect(answer.status == 200)
                    var decoded = try OIPRest.decodeInferRequest(body: answer.body.replacingOutputsWithInputs(), modelName: "x")
                    decoded.inputs[0].name = "probabilities"
                    #expect(String(decoding: answer.body, as: UTF8.self).contains(#""id":"\#(r.id!)""#))
                    got = InferResponse(modelName: "digits-mlp", id: r.id, outputs: decoded.inputs)
                }
                let alone = try ServingService.run(f, f.inlineExecutor, r).get()
                #expect(got.id == r.id && got.outputs[0].shape == alone.outputs[0].shape)
                let (a, b) = (floats(got.outputs[0].data), floats(alone.outputs[0].data))
                #expect(a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) <= 1e-5 * max(1, abs($1)) }, "request \(i)")
            }
            let stats = f.batcher.stats
            #expect(stats.batches > 0 && stats.rows > stats.batches)
        }
    }

    func json(_ r: InferRequest) -> String {
        let t = r.inputs[0]
        return #"{"id":"\#(r.id!)","inputs":[{"name":"input","shape":[\#(t.shape[0]),64],"datatype":"FP32","data":[\#(floats(t.data).map { "\($0)" }.joined(separator: ","))]}]}"#
    }

    func floats(_ b: [UInt8]) -> [Float] { b.withUnsafeBytes { Array($0.bindMemory(to: Float.self)) } }

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
