import PetrelKernels

extension OpRegistry {
    /// The one table from op to implementation. Exhaustive: a new `Op` case does not build until it
    /// is handled here.
    static func impl(for op: Op) -> OpImpl {
        switch op {
        case .gemm: .gemm
        case .matMul: .matMul
        case .dense: .dense
        case .maskBias: .maskBias
        case .attention: .attention
        case .addLayerNorm: .addLayerNorm
        case .conv: .conv
        case .batchNormalization: .batchNormalization
        case .maxPool: .pool(max: true)
        case .averagePool: .pool(max: false)
        case .globalAveragePool: .globalPool(max: false)
        case .globalMaxPool: .globalPool(max: true)
        case .softmax: .softmaxFamily(log: false)
        case .logSoftmax: .softmaxFamily(log: true)
        case .layerNormalization: .layerNormalization
        case .relu: .relu
        case .leakyRelu: .leakyRelu
        case .clip: .clip
        case .sigmoid: .sigmoid
        case .tanh: .tanh
        case .erf: .erf
        case .gelu: .gelu
        case .sqrt: .sqrt
        case .exp: .exp
        case .log: .log
        case .neg: .neg
        case .abs: .abs
        case .reciprocal: .reciprocal
        case .floor: .floor
        case .ceil: .ceil
        case .not: .not
        case .add, .sub, .mul, .div, .pow: .binaryArithmetic(op)
        case .max, .min, .sum: .variadic(op)
        case .equal, .greater, .less, .greaterOrEqual, .lessOrEqual: .comparison(op)
        case .and, .or, .xor: .logical(op)
        case .where: .where
        case .reduceMean: .reduce(.mean, axesInputFrom: 18)
        case .reduceSum: .reduce(.sum, axesInputFrom: 13)
        case .reduceMax: .reduce(.max, axesInputFrom: 18)
        case .reduceMin: .reduce(.min, axesInputFrom: 18)
        case .flatten: .flatten
        case .reshape: .reshape
        case .transpose: .transpose
        case .squeeze: .squeeze
        case .unsqueeze: .unsqueeze
        case .concat: .concat
        case .split: .split
        case .slice: .slice
        case .gather: .gather
        case .shape: .shape
        case .size: .size
        case .constant: .constant
        case .constantOfShape: .constantOfShape
        case .cast: .cast
        case .expand: .expand
        case .range: .range
        case .pad: .pad
        case .identity: .identity
        case .dropout: .dropout
        }
    }
}
