/// TensorFlow Serving's REST API (`/v1/models/...`), for clients written against it. Its JSON has
/// no datatypes: they come from the model's signature, and shapes from the nesting of the arrays.
public enum TFServingRest {
    /// Row ("instances"/"predictions") or columnar ("inputs"/"outputs") format; a response is
    /// written in the format of its request.
    public enum Format: Sendable, Hashable { case row, columnar }

    public struct PredictRequest: Sendable, Hashable {
        public var inference: InferRequest
        public var format: Format
        public var signatureName: String?
    }

    /// `{"error": "..."}`, TF Serving's error body.
    public static func encodeError(_ error: ProtocolError) -> [UInt8] { OIPRest.encodeError(error) }
}
