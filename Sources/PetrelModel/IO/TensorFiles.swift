import Foundation

/// Reading and writing tensors in the files users have: NumPy `.npy`, JSON, ONNX TensorProto `.pb`.
public enum TensorFiles {
    public static func read(path: String, expected: TensorSignature? = nil) throws -> Tensor {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw ModelError(.io, "cannot read \(path): \(error.localizedDescription)")
        }
        switch (path as NSString).pathExtension.lowercased() {
        case "npy": return try readNpy(data, path: path)
        case "json": return try readJSON(data, path: path, expected: expected)
        case "pb": return try Tensor(tensorProtoBytes: data, what: path)
        default: throw ModelError(.invalidInput, "\(path): unknown tensor file type (use .npy, .json or .pb)")
        }
    }

    static let npyTypes: [String: DType] = [
        "f4": .float32, "f8": .float64, "f2": .float16, "i1": .int8, "i2": .int16, "i4": .int32, "i8": .int64,
        "u1": .uint8, "u2": .uint16, "u4": .uint32, "u8": .uint64, "b1": .bool,
    ]

    /// NumPy format 1.0/2.0/3.0, little-endian, C order.
    public static func readNpy(_ d: Data, path: String) throws -> Tensor {
        let b = [UInt8](d)
        func bad(_ why: String) -> ModelError { ModelError(.invalidInput, "\(path): not a usable .npy file: \(why)") }
        guard b.count >= 10, b[0] == 0x93, Array(b[1...5]) == Array("NUMPY".utf8) else { throw bad("bad magic") }
        let major = b[6]
        let headerLen: Int, start: Int
        if major == 1 { headerLen = Int(b[8]) | Int(b[9]) << 8; start = 10 }
        else { guard b.count >= 12 else { throw bad("truncated") }; headerLen = Int(b[8]) | Int(b[9]) << 8 | Int(b[10]) << 16 | Int(b[11]) << 24; start = 12 }
        guard b.count >= start + headerLen else { throw bad("truncated header") }
        let header = String(decoding: b[start..<(start + headerLen)], as: UTF8.self)
        guard let descr = field(header, "descr"), let shapeText = field(header, "shape") else { throw bad("header lacks descr or shape") }
        if field(header, "fortran_order") == "True" { throw bad("Fortran order is not supported; save with np.ascontiguousarray") }
        let code = descr.trimmingCharacters(in: CharacterSet(charactersIn: "'\" "))
        guard code.first == "<" || code.first == "|" || code.first == "=", let dtype = npyTypes[String(code.dropFirst())] else {
            throw bad("dtype \(code) is not supported (little-endian numeric types only)")
        }
        let shape = shapeText.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).split(separator: ",")
            .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }.compactMap { Int($0) }
        let count = try checkedElementCount(shape, dtype: dtype, what: path)
        let body = start + headerLen
        guard b.count - body == count * dtype.size else { throw bad("shape \(shape) needs \(count * dtype.size) bytes of data, the file has \(b.count - body)") }
        let t = Tensor(dtype: dtype, shape: shape)
        b.withUnsafeBytes { t.raw.copyMemory(from: $0.baseAddress! + body, byteCount: count * dtype.size) }
        return t
    }

    /// The value text of `'key': value` in a .npy header dict.
    private static func field(_ header: String, _ key: String) -> String? {
        guard let r = header.range(of: "'\(key)':") else { return nil }
        let rest = header[r.upperBound...].trimmingCharacters(in: .whitespaces)
        if rest.hasPrefix("(") { return rest.firstIndex(of: ")").map { String(rest[...$0]) } }
        return rest.split(separator: ",", maxSplits: 1).first.map { String($0).trimmingCharacters(in: .whitespaces) }
    }

    public static func npyBytes(_ t: Tensor) -> Data {
        let code = npyTypes.first { $0.value == t.dtype }!.key
        let shape = t.shape.isEmpty ? "()" : t.shape.count == 1 ? "(\(t.shape[0]),)" : "(" + t.shape.map(String.init).joined(separator: ", ") + ")"
        var header = "{'descr': '\(t.dtype == .bool ? "|" : "<")\(code)', 'fortran_order': False, 'shape': \(shape), }"
        while (10 + header.utf8.count + 1) % 64 != 0 { header += " " }
        header += "\n"
        var d = Data([0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.utf8.count & 0xff), UInt8(header.utf8.count >> 8)])
        d.append(Data(header.utf8))
        d.append(Data(bytes: t.raw, count: t.byteCount))
        return d
    }

    /// JSON: a nested array (shape from nesting), or {"shape": [...], "data": [...flat...]}.
    /// The dtype is the model input's; without one, float.
    public static func readJSON(_ d: Data, path: String, expected: TensorSignature?) throws -> Tensor {
        let obj: Any
        do { obj = try JSONSerialization.jsonObject(with: d, options: [.fragmentsAllowed]) } catch {
            throw ModelError(.invalidInput, "\(path): not valid JSON (\(error.localizedDescription))")
        }
        return try fromJSON(obj, what: path, dtype: expected?.dtype ?? .float32)
    }

    public static func fromJSON(_ obj: Any, what: String, dtype: DType) throws -> Tensor {
        var shape: [Int] = []
        var flat: [Any] = []
        if let dict = obj as? [String: Any], let s = dict["shape"] as? [Int], let data = dict["data"] as? [Any] {
            shape = s; flat = data
        } else {
            func walk(_ v: Any, depth: Int) throws {
                if let a = v as? [Any] {
                    if depth == shape.count { shape.append(a.count) }
                    else if shape[depth] != a.count { throw ModelError(.invalidInput, "\(what): ragged array (rows of \(shape[depth]) and \(a.count) elements at depth \(depth))") }
                    for x in a { try walk(x, depth: depth + 1) }
                } else {
                    if depth != shape.count { throw ModelError(.invalidInput, "\(what): ragged array (a number at depth \(depth), arrays elsewhere)") }
                    flat.append(v)
                }
            }
            try walk(obj, depth: 0)
        }
        let count = try checkedElementCount(shape, dtype: dtype, what: what)
        guard flat.count == count else { throw ModelError(.invalidInput, "\(what): shape \(shape) needs \(count) elements, got \(flat.count)") }
        let t = Tensor(dtype: dtype, shape: shape)
        let tmp = Tensor(dtype: .float64, shape: shape)
        let p = tmp.pointer(Double.self)
        for (i, v) in flat.enumerated() {
            if let n = v as? NSNumber, !(v is String) { p[i] = n.doubleValue }
            else if let b = v as? Bool { p[i] = b ? 1 : 0 }
            else { throw ModelError(.invalidInput, "\(what): element \(i) is not a number (\(v))") }
        }
        if dtype == .int64 {
            // Keep full int64 precision where JSON gave integers.
            let q = t.pointer(Int64.self)
            for (i, v) in flat.enumerated() { q[i] = (v as? NSNumber)?.int64Value ?? Int64(p[i]) }
            return t
        }
        try castStep(tmp, t)()
        return t
    }

    /// A tensor as nested JSON arrays.
    public static func jsonValue(_ t: Tensor) -> Any {
        func build(_ dim: Int, _ offset: Int) -> Any {
            if dim == t.shape.count {
                let v = t.element(at: offset)
                if t.dtype == .bool { return v != 0 }
                if t.dtype.isFloat { return v.isFinite ? v : (v.isNaN ? "NaN" : (v > 0 ? "Infinity" : "-Infinity")) }
                return Int64(v)
            }
            let stride = t.shape[(dim + 1)...].reduce(1, *)
            return (0..<t.shape[dim]).map { build(dim + 1, offset + $0 * stride) }
        }
        return build(0, 0)
    }
}
