import PetrelModel
import PetrelProtocol

/// Moves tensors between the protocol's wire form (little-endian bytes) and the executor's.
/// x86-64 is little-endian, so both directions are one copy.
enum TensorBridge {
    static func spec(_ sig: TensorSignature) -> TensorSpec {
        TensorSpec(name: sig.name, datatype: datatype(sig.dtype),
                   shape: sig.shape.map { if case .fixed(let n) = $0 { Int64(n) } else { -1 } })
    }

    static func datatype(_ d: DType) -> InferDataType {
        switch d {
        case .float32: .fp32; case .float64: .fp64; case .float16: .fp16; case .bool: .bool
        case .int8: .int8; case .int16: .int16; case .int32: .int32; case .int64: .int64
        case .uint8: .uint8; case .uint16: .uint16; case .uint32: .uint32; case .uint64: .uint64
        }
    }

    /// The caller has validated the request against the signature, so sizes agree.
    static func tensor(_ t: InferTensor, dtype: DType) -> Tensor {
        // Not zeroed: every byte is overwritten below.
        let out = Tensor(dtype: dtype, shape: t.shape,
                         storage: TensorStorage(byteCount: t.shape.reduce(1, *) * dtype.size, zeroed: false))
        precondition(out.byteCount == t.data.count, "validated tensor '\(t.name)' has \(t.data.count) bytes, expected \(out.byteCount)")
        t.data.withUnsafeBytes { src in
            if let base = src.baseAddress, src.count > 0 { out.raw.copyMemory(from: base, byteCount: src.count) }
        }
        return out
    }

    static func inferTensor(name: String, _ t: Tensor) -> InferTensor {
        let bytes = [UInt8](UnsafeRawBufferPointer(start: t.raw, count: t.byteCount))
        return InferTensor(name: name, datatype: datatype(t.dtype), shape: t.shape, data: bytes)
    }
}
