/// Every op Petrel runs. ONNX ops keep ONNX's names; `Dense` is Petrel's own (domain `ai.petrel`),
/// produced by fusion and never accepted from a model file. A new case fails to build until every
/// exhaustive switch (version table, shape inference, execution) handles it.
public enum Op: String, Sendable, CaseIterable {
    // Linear algebra and NN
    case gemm = "Gemm", matMul = "MatMul", conv = "Conv", batchNormalization = "BatchNormalization"
    case maxPool = "MaxPool", averagePool = "AveragePool", globalAveragePool = "GlobalAveragePool"
    case globalMaxPool = "GlobalMaxPool"
    case softmax = "Softmax", logSoftmax = "LogSoftmax", layerNormalization = "LayerNormalization"
    // Elementwise
    case relu = "Relu", leakyRelu = "LeakyRelu", clip = "Clip", sigmoid = "Sigmoid", tanh = "Tanh"
    case erf = "Erf", gelu = "Gelu", sqrt = "Sqrt", exp = "Exp", log = "Log", neg = "Neg", abs = "Abs"
    case reciprocal = "Reciprocal", floor = "Floor", ceil = "Ceil", not = "Not"
    case add = "Add", sub = "Sub", mul = "Mul", div = "Div", pow = "Pow"
    case max = "Max", min = "Min", sum = "Sum"
    case equal = "Equal", greater = "Greater", less = "Less"
    case greaterOrEqual = "GreaterOrEqual", lessOrEqual = "LessOrEqual"
    case and = "And", or = "Or", xor = "Xor", `where` = "Where"
    // Reductions
    case reduceMean = "ReduceMean", reduceSum = "ReduceSum", reduceMax = "ReduceMax", reduceMin = "ReduceMin"
    // Shape and data movement
    case flatten = "Flatten", reshape = "Reshape", transpose = "Transpose", squeeze = "Squeeze"
    case unsqueeze = "Unsqueeze", concat = "Concat", split = "Split", slice = "Slice", gather = "Gather"
    case shape = "Shape", size = "Size", constant = "Constant", constantOfShape = "ConstantOfShape"
    case cast = "Cast", expand = "Expand", range = "Range", pad = "Pad"
    case identity = "Identity", dropout = "Dropout"
    // Petrel's fused ops
    case dense = "Dense", maskBias = "MaskBias", attention = "Attention", addLayerNorm = "AddLayerNormalization"

    public static let petrelDomain = "ai.petrel"

    /// Petrel's own ops: made by fusion passes, never accepted from a model file.
    var isPetrelOp: Bool { self == .dense || self == .maskBias || self == .attention || self == .addLayerNorm }

    /// ONNX's version history of the op (its schemas' since_version), as of opset `maxOpset` (onnx 1.23).
    /// An op version's semantics apply from its since_version up to the next one.
    var onnxVersions: [Int] {
        switch self {
        case .gemm: [1, 6, 7, 9, 11, 13]
        case .matMul: [1, 9, 13]
        case .conv: [1, 11, 22]
        case .batchNormalization: [1, 6, 7, 9, 14, 15]
        case .maxPool: [1, 8, 10, 11, 12, 22]
        case .averagePool: [1, 7, 10, 11, 19, 22]
        case .globalAveragePool, .globalMaxPool: [1, 22]
        case .softmax, .logSoftmax: [1, 11, 13]
        case .layerNormalization: [17]
        case .relu: [1, 6, 13, 14]
        case .leakyRelu: [1, 6, 16]
        case .clip: [1, 6, 11, 12, 13]
        case .sigmoid, .tanh, .sqrt, .exp, .log, .neg, .abs, .reciprocal, .floor, .ceil: [1, 6, 13]
        case .erf: [9, 13]
        case .gelu: [20]
        case .not: [1]
        case .add, .sub, .mul, .div: [1, 6, 7, 13, 14]
        case .pow: [1, 7, 12, 13, 15]
        case .max, .min: [1, 6, 8, 12, 13]
        case .sum: [1, 6, 8, 13]
        case .equal: [1, 7, 11, 13, 19]
        case .greater, .less: [1, 7, 9, 13]
        case .greaterOrEqual, .lessOrEqual: [12, 16]
        case .and, .or, .xor: [1, 7]
        case .where: [9, 16]
        case .reduceMean: [1, 11, 13, 18]
        case .reduceSum: [1, 11, 13]
        case .reduceMax, .reduceMin: [1, 11, 12, 13, 18, 20]
        case .flatten: [1, 9, 11, 13, 21, 23, 24, 25]
        case .reshape: [1, 5, 13, 14, 19, 21, 23, 24, 25]
        case .transpose: [1, 13, 21, 23, 24, 25]
        case .squeeze, .unsqueeze: [1, 11, 13, 21, 23, 24, 25]
        case .concat: [1, 4, 11, 13]
        case .split: [1, 2, 11, 13, 18]
        case .slice: [1, 10, 11, 13]
        case .gather: [1, 11, 13]
        case .shape: [1, 13, 15, 19, 21, 23, 24, 25]
        case .size: [1, 13, 19, 21, 23, 24, 25]
        case .constant: [1, 9, 11, 12, 13, 19, 21, 23, 24, 25]
        case .constantOfShape: [9, 20, 21, 23, 24, 25]
        case .cast: [1, 6, 9, 13, 19, 21, 23, 24, 25, 28]
        case .expand: [8, 13]
        case .range: [11, 27]
        case .pad: [1, 2, 11, 13, 18, 19, 21, 23, 24, 25]
        case .identity: [1, 13, 14, 16, 19, 21, 23, 24, 25]
        case .dropout: [1, 6, 7, 10, 12, 13, 22]
        case .dense, .maskBias, .attention, .addLayerNorm: [1]
        }
    }

    /// The oldest ONNX version whose semantics Petrel implements. Older versions carry legacy
    /// attributes (`broadcast`/`axis` on arithmetic, `consumed_inputs`, `is_test`) that no current
    /// exporter writes.
    var oldestSupportedVersion: Int {
        switch self {
        case .add, .sub, .mul, .div, .pow, .equal, .greater, .less, .and, .or, .xor, .gemm, .batchNormalization, .dropout: 7
        case .max, .min, .sum: 8
        case .relu, .leakyRelu, .sigmoid, .tanh, .sqrt, .exp, .log, .neg, .abs, .reciprocal, .floor, .ceil, .clip: 6
        case .reshape: 5
        case .split: 2
        default: onnxVersions[0]
        }
    }

    /// The newest opset whose op versions this table knows (onnx 1.23: opset 28). A model importing a
    /// newer opset may use op versions Petrel has never seen, so it is refused.
    static let maxOpset = 28

    /// The op version in force at `opset`, or nil when Petrel cannot run the op at that opset.
    func version(atOpset opset: Int) -> Int? {
        guard opset <= Op.maxOpset, let v = onnxVersions.last(where: { $0 <= opset }),
              v >= oldestSupportedVersion else { return nil }
        return v
    }
}
