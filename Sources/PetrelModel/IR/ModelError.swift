/// Every failure the model compiler and executor report. Messages are meant for users: they name the
/// op, node, input or file and the rule that was broken.
public struct ModelError: Error, CustomStringConvertible, Equatable {
    public enum Code: String, Sendable {
        /// The bytes are not a valid ONNX protobuf / TensorProto / artifact.
        case malformed
        /// Valid ONNX that Petrel cannot run: op, opset, dtype or attribute variant.
        case unsupported
        /// The graph is inconsistent: cycle, undefined value, shape mismatch.
        case invalidGraph
        /// The caller's inputs do not fit the model's signature.
        case invalidInput
        /// A compiled artifact is truncated, corrupt, or of another version or ISA.
        case badArtifact
        case io
    }
    public var code: Code
    public var message: String
    public init(_ code: Code, _ message: String) { self.code = code; self.message = message }
    public var description: String { message }

    static func unsupportedOp(_ op: String, domain: String, opset: Int, _ why: String? = nil) -> ModelError {
        let d = domain.isEmpty ? "ai.onnx" : domain
        return ModelError(.unsupported, "op \(op) (domain \(d), opset \(opset)) is not supported" + (why.map { ": \($0)" } ?? ""))
    }
}
