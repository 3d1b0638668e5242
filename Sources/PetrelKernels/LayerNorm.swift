/// ONNX LayerNormalization over the trailing `cols` elements of each of `rows` rows (axis = -1, or
/// the trailing axes flattened). Mean and variance are two-pass as ONNX defines them
/// (Var = mean((x − mean)²)), which stays accurate for rows with a large mean.
public enum LayerNorm {
    /// y = (x − mean)·invStdDev·scale + bias, invStdDev = 1/√(var + epsilon). `mean` and `invStdDev`
    /// (ONNX outputs 2 and 3, `rows` floats each) are written when given. x may alias y.
    public static func run(x: UnsafePointer<Float>, scale: UnsafePointer<Float>, bias: UnsafePointer<Float>? = nil,
                           y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, epsilon: Float = 1e-5,
                           mean: UnsafeMutablePointer<Float>? = nil, invStdDev: UnsafeMutablePointer<Float>? = nil,
                           pool: ThreadPool? = nil) {
        guard rows > 0, cols > 0 else { return }
        let kernel = KernelTable.current.vector.layerNormRow
        parallelRanges(rows, grain: Swift.max(1, parallelGrain / 4 / cols), pool: pool) { r in
            for i in r {
                var m: Float = 0, s: Float = 0
                kernel(x + i * cols, scale, bias, y + i * cols, cols, epsilon, &m, &s)
                mean?[i] = m
                invStdDev?[i] = s
            }
        }
    }
}
