/// An input or output a model declares. A dimension of -1 matches any size.
public struct TensorSpec: Sendable, Hashable {
    public var name: String
    public var datatype: InferDataType
    public var shape: [Int64]

    public init(name: String, datatype: InferDataType, shape: [Int64]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
    }
}

/// What a served model accepts and returns; the metadata endpoints and `validate` read it.
public struct ModelSignature: Sendable, Hashable {
    public var name: String
    public var versions: [String]
    public var platform: String
    public var inputs: [TensorSpec]
    public var outputs: [TensorSpec]

    public init(name: String, versions: [String] = [], platform: String = "petrel",
                inputs: [TensorSpec], outputs: [TensorSpec]) {
        self.name = name
        self.versions = versions
        self.platform = platform
        self.inputs = inputs
        self.outputs = outputs
    }
}

/// A tensor as every codec hands it over.
/// Raw little-endian, row-major element bytes (BYTES: each element as 4-byte LE length + bytes,
/// Triton's layout), so the executor and the binary wire formats share one representation.
public struct InferTensor: Sendable, Hashable {
    public var name: String
    public var datatype: InferDataType
    public var shape: [Int]
    public var data: [UInt8]

    public init(name: String, datatype: InferDataType, shape: [Int], data: [UInt8]) {
        self.name = name
        self.datatype = datatype
        self.shape = shape
        self.data = data
    }

    /// Elements the shape calls for (1 for a scalar), nil on a negative dimension or overflow.
    public var shapeElementCount: Int? { elementCount(of: shape) }
}

/// An output the client asked for; `binary` is the binary-data extension's per-output choice.
public struct RequestedOutput: Sendable, Hashable {
    public var name: String
    public var binary: Bool?

    public init(name: String, binary: Bool? = nil) {
        self.name = name
        self.binary = binary
    }
}

/// A request or input parameter; the protocols only carry these four kinds.
public enum ParameterValue: Sendable, Equatable, Hashable {
    case bool(Bool), int(Int64), string(String), double(Double)
}

public struct InferRequest: Sendable, Hashable {
    public var id: String?
    public var modelName: String
    public var modelVersion: String?
    public var inputs: [InferTensor]
    /// Empty: return every output the model produces.
    public var outputs: [RequestedOutput]
    /// Request parameters other than those a codec consumed (e.g. `binary_data_output`).
    public var parameters: [String: ParameterValue]
    /// Outputs without their own `binary` choice go out as binary data (REST extension).
    public var binaryOutputsByDefault: Bool

    public init(id: String? = nil, modelName: String, modelVersion: String? = nil,
                inputs: [InferTensor], outputs: [RequestedOutput] = [],
                parameters: [String: ParameterValue] = [:], binaryOutputsByDefault: Bool = false) {
        self.id = id
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.inputs = inputs
        self.outputs = outputs
        self.parameters = parameters
        self.binaryOutputsByDefault = binaryOutputsByDefault
    }
}

public struct InferResponse: Sendable, Hashable {
    public var modelName: String
    public var modelVersion: String?
    public var id: String?
    public var outputs: [InferTensor]

    public init(modelName: String, modelVersion: String? = nil, id: String? = nil,
                outputs: [InferTensor]) {
        self.modelName = modelName
        self.modelVersion = modelVersion
        self.id = id
        self.outputs = outputs
    }
}

/// Product of the dimensions, nil when one is negative or the product overflows.
func elementCount<D: BinaryInteger>(of shape: [D]) -> Int? {
    var n = 1
    for d in shape {
        guard d >= 0, let di = Int(exactly: d) else { return nil }
        let (p, overflow) = n.multipliedReportingOverflow(by: di)
        if overflow { return nil }
        n = p
    }
    return n
}

/// "[1,64]", the way error messages print shapes.
func shapeText<D: BinaryInteger>(_ shape: [D]) -> String {
    "[" + shape.map { String($0) }.joined(separator: ",") + "]"
}
