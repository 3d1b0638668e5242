import PetrelProtocol

/// Dynamic batching's pure half: which requests stack into one batch, the stacked request, and
/// the batch's response cut back into one response per request. No I/O, no clocks.
///
/// Rows are joined along dim 0 of every input and cut along dim 0 of every output, so a batch
/// answers exactly as its requests would alone only for a model that treats rows independently;
/// that is why batching is opt-in per function (`batching.maxBatchSize`), as in Triton.
enum BatchAssembly {
    /// Rows a request contributes: the dim 0 that all of its inputs share; nil when it has no
    /// inputs, a scalar input, or inputs that disagree on dim 0 (such a request runs alone).
    static func rows(_ r: InferRequest) -> Int? {
        guard let first = r.inputs.first?.shape.first, first > 0 else { return nil }
        for t in r.inputs where t.shape.first != first { return nil }
        return first
    }

    /// Whether `b`'s inputs stack under `a`'s: same names and datatypes in the same order (both are
    /// in signature order after validation) and the same dims after the first.
    static func stacks(_ a: InferRequest, _ b: InferRequest) -> Bool {
        guard a.inputs.count == b.inputs.count else { return false }
        for (x, y) in zip(a.inputs, b.inputs) {
            guard x.name == y.name, x.datatype == y.datatype, x.shape.count == y.shape.count,
                  x.shape.dropFirst() == y.shape.dropFirst() else { return false }
        }
        return true
    }

    /// Splits `requests` into consecutive groups that stack and hold at most
    /// `maxRows` rows; a request that cannot be batched is a group of its own.
    static func groups(_ requests: [InferRequest], maxRows: Int) -> [Range<Int>] {
        var out: [Range<Int>] = []
        var i = 0
        while i < requests.count {
            var j = i + 1
            if var total = rows(requests[i]) {
                while j < requests.count, let r = rows(requests[j]), total + r <= maxRows, stacks(requests[i], requests[j]) {
                    total += r
                    j += 1
                }
            }
            out.append(i..<j)
            i = j
        }
        return out
    }

    /// The requests' inputs joined along dim 0, under the first request's id and options.
    static func stack(_ requests: ArraySlice<InferRequest>) -> InferRequest {
        var stacked = requests.first!
        for k in stacked.inputs.indices {
            var data: [UInt8] = []
            data.reserveCapacity(requests.reduce(0) { $0 + $1.inputs[k].data.count })
            var rows = 0
            for r in requests {
                data.append(contentsOf: r.inputs[k].data)
                rows += r.inputs[k].shape[0]
            }
            stacked.inputs[k].data = data
            stacked.inputs[k].shape[0] = rows
        }
        return stacked
    }

    /// The batch's response cut into one response per request, each with its own id; nil when an
    /// output does not have the batch's rows in dim 0 or holds BYTES (whose elements have no
    /// fixed size), in which case the caller runs the requests one by one.
    static func split(_ response: InferResponse, _ requests: ArraySlice<InferRequest>) -> [InferResponse]? {
        let counts = requests.map { rows($0) ?? 0 }
        let total = counts.reduce(0, +)
        var parts = requests.map { InferResponse(modelName: response.modelName, modelVersion: response.modelVersion, id: $0.id, outputs: []) }
        for t in response.outputs {
            guard let size = t.datatype.byteSize, t.shape.first == total, total > 0,
                  let n = t.shapeElementCount, n * size == t.data.count else { return nil }
            let rowBytes = t.data.count / total
            var at = 0
            // Requests of the same row count (usually all of them: one row each) share one shape
            // array rather than allocating a copy each.
            var last: (rows: Int, shape: [Int])?
            for (i, rows) in counts.enumerated() {
                let shape: [Int]
                if let last, last.rows == rows {
                    shape = last.shape
                } else {
                    var s = t.shape
                    s[0] = rows
                    shape = s
                    last = (rows, s)
                }
                let bytes = Array(t.data[at..<(at + rows * rowBytes)])
                parts[i].outputs.append(InferTensor(name: t.name, datatype: t.datatype, shape: shape, data: bytes))
                at += rows * rowBytes
            }
        }
        return parts
    }
}
