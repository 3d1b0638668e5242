/// ONNX LayerNormalization over the trailing `cols` elements of each of `rows` rows (axis = -1, or
/// the trailing axes flattened). Mean and variance are two-pass as ONNX defines them
/// (Var = mean((x − mean)²)), which stays accurate for rows with a large mean.
public enum LayerNorm {
    /// y = (x − mean)·invStdDev·scale + bias, invStdDev = 1/√(var + epsilon). `mean` and `invStdDev`
    /// (ONNX outputs 2 and 3, `rows` floats each) are written when given. x may alias y.
    ///
    /// With `skip` (same shape as x, may alias y too) the row normalised is x + skip, summed into y
    /// row by row while it is in L1: a transformer's residual Add and the LayerNorm after it in one
    /// pass over memory instead of two (MiniLM at batch 8: the Adds were 2 ms of 230).
    public static func run(x: UnsafePointer<Float>, skip: UnsafePointer<Float>? = nil, scale: UnsafePointer<Float>,
                           bias: UnsafePointer<Float>? = nil,
                           y: UnsafeMutablePointer<Float>, rows: Int, cols: Int, epsilon: Float = 1e-5,
                           mean: UnsafeMutablePointer<Float>? = nil, invStdDev: UnsafeMutablePointer<Float>? = nil,
                           pool: ThreadPool? = nil) {
        guard rows > 0, cols > 0 else { return }
        let kernel = KernelTable.current.vector.layerNormRow
        parallelRanges(rows, grain: Swift.max(1, parallelGrain / 4 / cols), pool: pool) { r in
            for i in r {
                var m: Float = 0, s: Float = 0
                if let skip {
                    let xr = x + i * cols, sr = skip + i * cols, yr = y + i * cols
                    for j in 0..<cols { yr[j] = xr[j] + sr[j] }
                    kernel(yr, scale, bias, yr, cols, epsilon, &m, &s)
                } else {
                    kernel(x + i * cols, scale, bias, y + i * cols, cols, epsilon, &m, &s)
                }
                mean?[i] = m
                invStdDev?[i] = s
            }
        }
    }
}
