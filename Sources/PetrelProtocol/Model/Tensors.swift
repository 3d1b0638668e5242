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

/// One inference call, as every codec hands it over.
///
/// Copy-on-write over one heap box: a request is passed by value through routing, the batcher's
/// queue, batch assembly and result closures (about 18 copies per served request), and a copy of
/// six reference-counted fields cost six retains and six releases. Now it costs one of each;
/// a mutation copies the box only when it is shared.
public struct InferRequest: Sendable, Hashable {
    /// The fields, compared and hashed as one synthesized value.
    private struct Fields: Hashable {
        var id: String?
        var modelName: String
        var modelVersion: String?
        var inputs: [InferTensor]
        var outputs: [RequestedOutput]
        var parameters: [String: ParameterValue]
        var binaryOutputsByDefault: Bool
    }

    private final class Box: @unchecked Sendable {
        var fields: Fields
        init(_ fields: Fields) { self.fields = fields }
    }

    private var box: Box

    /// The fields for writing, the box unshared first: they are only ever mutated through this.
    private var unique: Fields {
        _read { yield box.fields }
        _modify {
            if !isKnownUniquelyReferenced(&box) { box = Box(box.fields) }
            yield &box.fields
        }
    }

    public var id: String? {
        get { box.fields.id }
        set { unique.id = newValue }
    }
    public var modelName: String {
        get { box.fields.modelName }
        set { unique.modelName = newValue }
    }
    public var modelVersion: String? {
        get { box.fields.modelVersion }
        set { unique.modelVersion = newValue }
    }
    public var inputs: [InferTensor] {
        get { box.fields.inputs }
        _modify { yield &unique.inputs }
    }
    /// Empty: return every output the model produces.
    public var outputs: [RequestedOutput] {
        get { box.fields.outputs }
        _modify { yield &unique.outputs }
    }
    /// Request parameters other than those a codec consumed (e.g. `binary_data_output`).
    public var parameters: [String: ParameterValue] {
        get { box.fields.parameters }
        _modify { yield &unique.parameters }
    }
    /// Outputs without their own `binary` choice go out as binary data (REST extension).
    public var binaryOutputsByDefault: Bool {
        get { box.fields.binaryOutputsByDefault }
        set { unique.binaryOutputsByDefault = newValue }
    }

    public init(id: String? = nil, modelName: String, modelVersion: String? = nil,
                inputs: [InferTensor], outputs: [RequestedOutput] = [],
                parameters: [String: ParameterValue] = [:], binaryOutputsByDefault: Bool = false) {
        box = Box(Fields(id: id, modelName: modelName, modelVersion: modelVersion, inputs: inputs, outputs: outputs,
                         parameters: parameters, binaryOutputsByDefault: binaryOutputsByDefault))
    }

    public static func == (a: InferRequest, b: InferRequest) -> Bool { a.box === b.box || a.box.fields == b.box.fields }

    public func hash(into h: inout Hasher) { box.fields.hash(into: &h) }
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
