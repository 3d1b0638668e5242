/// The Open Inference Protocol (KServe v2) over HTTP/REST: routing, the infer request and response
/// JSON with Triton's binary tensor data extension, health and metadata bodies. Pure functions over
/// bytes; the HTTP layer owns sockets and headers.
public enum OIPRest {
    /// Name and version reported by `GET /v2`.
    public static let serverName = "petrel"
    /// Extensions we implement, as Triton names them in server metadata.
    public static let extensions = ["binary_tensor_data"]
    /// Response header giving the JSON part's length when binary outputs follow it.
    public static let inferenceHeaderContentLength = "Inference-Header-Content-Length"
}

/// One output a response carries, and whether it goes out as binary data. A struct, not a
/// tuple: arrays of tuples go through the runtime's generic tuple witnesses.
struct SelectedOutput {
    var tensor: InferTensor
    var binary: Bool
}

/// Selection of the outputs a response carries, shared by the REST and gRPC encoders.
extension InferRequest {
    /// The response's outputs the client asked for, in the order asked (all of them when none
    /// were named), each with whether it goes out as binary data.
    func selectOutputs(of response: InferResponse) throws(ProtocolError) -> [SelectedOutput] {
        if outputs.isEmpty { return response.outputs.map { SelectedOutput(tensor: $0, binary: binaryOutputsByDefault) } }
        var selected: [SelectedOutput] = []
        selected.reserveCapacity(outputs.count)
        for o in outputs {
            guard let t = response.outputs.first(where: { $0.name == o.name }) else {
                throw .invalidArgument("unknown requested output '\(o.name)'")
            }
            selected.append(SelectedOutput(tensor: t, binary: o.binary ?? binaryOutputsByDefault))
        }
        return selected
    }
}
