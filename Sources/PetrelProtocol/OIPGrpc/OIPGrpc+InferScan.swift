extension OIPGrpc {
    /// The common ModelInferRequest, read straight from the wire: names, datatypes, shapes and one
    /// `raw_input_contents` entry per input, no parameters and no typed `contents`. That is what
    /// tritonclient and grpcio stubs send, and reading it here costs a third of SwiftProtobuf's
    /// decode (which builds a `Data` per field and a message per tensor before we copy them out).
    ///
    /// Nil means "not the common case, or not well-formed": the caller then decodes with
    /// SwiftProtobuf, which accepts every valid message and words every error. So this reader
    /// never has to reject anything itself; it only has to agree with SwiftProtobuf on what it
    /// accepts (later singular fields win, packed or unpacked shapes, unknown fields skipped).
    static func scanInferRequest(_ bytes: UnsafeBufferPointer<UInt8>) -> ScannedInferRequest? {
        var r = ProtoReader(bytes: bytes)
        var s = ScannedInferRequest()
        while let (field, value) = r.next() {
            switch (field, value) {
            case (1, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; s.modelName = v
            case (2, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; s.modelVersion = v
            case (3, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; s.id = v
            case (5, .bytes(let range)):
                guard let input = scanInput(UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
                s.inputs.append(input)
            case (6, .bytes(let range)):
                guard let name = scanOutputName(UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
                s.outputs.append(RequestedOutput(name: name))
            case (7, .bytes(let range)): s.raw.append(Array(bytes[range]))
            case (1...7, _), (-1, _): return nil   // parameters (4), a wrong wire type, or malformed
            default: continue                       // unknown field: skipped, as SwiftProtobuf does
            }
        }
        if !s.inputs.isEmpty && s.raw.isEmpty { return nil }   // typed contents: the general path
        return s
    }

    struct ScannedInferRequest {
        var modelName = "", modelVersion = "", id = ""
        var inputs: [ScannedInput] = []
        var outputs: [RequestedOutput] = []
        var raw: [[UInt8]] = []
    }

    /// A struct, not a tuple: arrays of tuples go through the runtime's generic tuple witnesses.
    struct ScannedInput {
        var name: String
        var datatype: String
        var shape: [Int]
    }

    private static func scanInput(_ bytes: UnsafeBufferPointer<UInt8>) -> ScannedInput? {
        var r = ProtoReader(bytes: bytes)
        var name = "", datatype = ""
        var shape: [Int] = []
        shape.reserveCapacity(4)
        while let (field, value) = r.next() {
            switch (field, value) {
            case (1, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; name = v
            case (2, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; datatype = v
            case (3, .varint(let v)): shape.append(Int(Int64(bitPattern: v)))
            case (3, .bytes(let range)):
                var packed = ProtoReader(bytes: UnsafeBufferPointer(rebasing: bytes[range]))
                while packed.pos < packed.bytes.count {
                    guard let v = packed.varint() else { return nil }
                    shape.append(Int(Int64(bitPattern: v)))
                }
            case (1...5, _), (-1, _): return nil   // parameters (4), typed contents (5), or malformed
            default: continue
            }
        }
        return ScannedInput(name: name, datatype: datatype, shape: shape)
    }

    /// A requested output's name. An output with parameters goes the general way: SwiftProtobuf
    /// validates their map entries (UTF-8 keys, well-formed values) even though they are unused.
    private static func scanOutputName(_ bytes: UnsafeBufferPointer<UInt8>) -> String? {
        var r = ProtoReader(bytes: bytes)
        var name = ""
        while let (field, value) = r.next() {
            switch (field, value) {
            case (1, .bytes(let range)): guard let v = string(bytes, range) else { return nil }; name = v
            case (1...2, _), (-1, _): return nil
            default: continue
            }
        }
        return name
    }

    private static func string(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> String? {
        String(utf8Validating: UnsafeBufferPointer(rebasing: bytes[range]))
    }
}
