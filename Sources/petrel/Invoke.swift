import ArgumentParser
import Foundation
import PetrelHTTP2
import PetrelProtocol
import PetrelRuntime

struct Invoke: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Call a function on a running server and print its outputs (Open Inference Protocol, REST or gRPC).",
        discussion: """
            --data takes an Open Inference Protocol infer request, e.g.
              '{"inputs":[{"name":"input","shape":[1,64],"datatype":"FP32","data":[0,1,...]}]}'
            Exit codes: 0 answered, 2 the request was refused (4xx, INVALID_ARGUMENT, NOT_FOUND...),
            3 the server could not be reached, 4 the server failed (5xx, INTERNAL, UNAVAILABLE...).
            """)

    @Argument(help: "The function's name.") var name: String
    @Option(help: "The request JSON, or @FILE to read it from a file (@- for stdin).") var data: String
    @Flag(help: "Call inference.GRPCInferenceService/ModelInfer instead of the REST endpoint.") var grpc = false
    @Option(help: "Server URL: http://HOST:PORT or unix:/path/to.sock (default $PETREL_URL or http://127.0.0.1:8080).")
    var url: String?
    @Option(help: "Version of the function.") var version: String?
    @Option(help: "Give up after this many seconds.") var timeout: Double = 60
    @Option(help: "API key for functions with `auth: key` (default: $PETREL_API_KEY).") var key: String?
    @OptionGroup var registry: RegistryOption

    func run() throws {
        let body = try reportingErrors { try readDataArgument(data) }
        let target = url ?? ProcessInfo.processInfo.environment["PETREL_URL"]
            ?? ServerFile.running(registry: registry.path)?.url ?? "http://127.0.0.1:8080"
        guard let address = serverAddress(target) else {
            stderrLine("error: --url \(target): expected http://HOST:PORT or unix:/path (invoke speaks h2c; use curl for https)")
            throw ExitCode(2)
        }
        let client: HTTP2Client
        do { client = try HTTP2Client.connect(to: address) } catch {
            stderrLine("error: cannot connect to \(target): \(error)")
            throw ExitCode(3)
        }
        defer { client.close() }
        let versionPath = version.map { "/versions/\($0)" } ?? ""
        let request: HTTPRequest
        var decoded: InferRequest?
        if grpc {
            do {
                let r = try OIPRest.decodeInferRequest(body: body, modelName: name, modelVersion: version)
                decoded = r
                request = HTTPRequest(method: "POST", path: "/inference.GRPCInferenceService/ModelInfer",
                                      headers: ["content-type": "application/grpc", "te": "trailers",
                                                "grpc-timeout": "\(Int(timeout * 1000))m"],
                                      body: GRPCWire.frame(OIPGrpc.encodeInferRequest(r)))
            } catch {
                stderrLine("error: --data: \(error.message)")
                throw ExitCode(2)
            }
        } else {
            request = HTTPRequest(method: "POST", path: "/v2/models/\(name)\(versionPath)/infer",
                                  headers: ["content-type": "application/json"], body: body)
        }
        var sent = request
        if let key = key ?? ProcessInfo.processInfo.environment["PETREL_API_KEY"], !key.isEmpty {
            sent.headers.add("authorization", "Bearer \(key)")
        }
        let response: HTTPResponse
        do {
            response = try client.send(sent).wait()
        } catch {
            stderrLine("error: \(target): \(error)")
            throw ExitCode(3)
        }
        if grpc {
            let status = Int32(response.grpcStatus ?? "") ?? 2
            guard status == 0 else {
                let code = GRPCStatus(rawValue: status).map(\.name) ?? "status \(status)"
                stderrLine("error: \(code): \(GRPCWire.percentDecode(response.grpcMessage ?? ""))")
                throw ExitCode([3, 5, 7, 16, 9, 11, 6, 8].contains(status) ? 2 : 4)
            }
            do {
                let message = try GRPCWire.unaryMessage(response.body, maxBytes: Int.max).get()
                let r = try OIPGrpc.decodeInferResponse(message)
                var req = decoded!
                req.binaryOutputsByDefault = false
                print(String(decoding: try OIPRest.encodeInferResponse(r, request: req).body, as: UTF8.self))
            } catch {
                stderrLine("error: undecodable gRPC response: \(error)")
                throw ExitCode(4)
            }
            return
        }
        let text = String(decoding: response.body, as: UTF8.self)
        guard response.status == 200 else {
            stderrLine("error: HTTP \(response.status): \(text)")
            throw ExitCode(response.status >= 500 ? 4 : 2)
        }
        print(text)
    }

}

/// A `--data` argument: the text itself, `@FILE`, or `@-` for standard input.
func readDataArgument(_ data: String) throws -> [UInt8] {
    guard data.hasPrefix("@") else { return Array(data.utf8) }
    let path = String(data.dropFirst())
    if path == "-" { return Array(FileHandle.standardInput.readDataToEndOfFile()) }
    guard let d = FileManager.default.contents(atPath: path) else { throw CLIError(code: Exit.unreachable, message: "cannot read \(path)") }
    return Array(d)
}
