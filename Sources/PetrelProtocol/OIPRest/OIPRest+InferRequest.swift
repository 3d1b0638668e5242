extension OIPRest {
    /// Decodes a `POST .../infer` body. With `inferenceHeaderLength` (the Inference-Header-Content-
    /// Length header) the JSON is that many bytes and the rest holds, in input order, the raw data
    /// of the inputs whose `parameters.binary_data_size` is set. Every error is `.invalidArgument`
    /// and names the input and the mismatch.
    public static func decodeInferRequest(body: [UInt8], inferenceHeaderLength: Int? = nil,
                                          modelName: String, modelVersion: String? = nil)
        throws(ProtocolError) -> InferRequest
    {
        let result = body.withUnsafeBufferPointer { buf in
            Result { () throws(ProtocolError) in
                try decodeInferRequest(body: buf, inferenceHeaderLength: inferenceHeaderLength,
                                       modelName: modelName, modelVersion: modelVersion)
            }
        }
        return try result.get()
    }

    public static func decodeInferRequest(body: UnsafeBufferPointer<UInt8>, inferenceHeaderLength: Int? = nil,
                                          modelName: String, modelVersion: String? = nil)
        throws(ProtocolError) -> InferRequest
    {
        let headerLength = inferenceHeaderLength ?? body.count
        guard headerLength >= 0, headerLength <= body.count else {
            throw .invalidArgument("\(inferenceHeaderContentLength) \(headerLength) is outside the body's \(body.count) bytes")
        }
        var r = JSONReader(UnsafeBufferPointer(rebasing: body[..<headerLength]))
        var request = InferRequest(modelName: modelName, modelVersion: modelVersion, inputs: [])
        var pending: [PendingInput] = []
        var sawInputs = false
        guard try r.peek() == UInt8(ascii: "{") else { throw r.error("the request must be a JSON object") }
        try r.enter(UInt8(ascii: "{"))
        var first = true
        while let key = try r.nextKey(&first) {
            switch key {
            case "id":
                guard try r.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("'id' must be a string, got \(try r.describeValue())") }
                request.id = try r.readString()
            case "parameters":
                request.parameters = try r.readParameters("")
                if let v = request.parameters.removeValue(forKey: "binary_data_output") {
                    guard let b = v.boolValue else { throw .invalidArgument("parameter 'binary_data_output' must be a bool") }
                    request.binaryOutputsByDefault = b
                }
                try rejectSharedMemory(request.parameters, "")
            case "inputs":
                sawInputs = true
                guard try r.peek() == UInt8(ascii: "[") else { throw .invalidArgument("'inputs' must be an array, got \(try r.describeValue())") }
                try r.enter(UInt8(ascii: "["))
                var firstInput = true
                while try r.nextElement(&firstInput) {
                    pending.append(try readInput(&r, index: pending.count))
                }
            case "outputs":
                guard try r.peek() == UInt8(ascii: "[") else { throw .invalidArgument("'outputs' must be an array, got \(try r.describeValue())") }
                try r.enter(UInt8(ascii: "["))
                var firstOutput = true
                while try r.nextElement(&firstOutput) {
                    request.outputs.append(try readRequestedOutput(&r, index: request.outputs.count))
                }
            default:
                try r.skipValue()
            }
        }
        try r.expectEnd()
        guard sawInputs else { throw .invalidArgument("the request has no 'inputs'") }

        // Binary tensors follow the JSON in input order.
        var offset = headerLength
        request.inputs.reserveCapacity(pending.count)
        for p in pending {
            var t = p.tensor
            if let size = p.binaryDataSize {
                guard size <= body.count - offset else {
                    throw .invalidArgument("input '\(t.name)': binary_data_size \(size) runs past the end of the body (\(body.count - offset) bytes left)")
                }
                t.data = Array(UnsafeBufferPointer(rebasing: body[offset..<(offset + size)]))
                offset += size
                try t.checkDataMatchesShape()
            }
            request.inputs.append(t)
        }
        if offset != body.count {
            throw .invalidArgument("the body has \(body.count - offset) bytes of binary data that no input's binary_data_size claims")
        }
        return request
    }

    private struct PendingInput {
        var tensor: InferTensor
        var binaryDataSize: Int?
    }

    /// One `{"name","shape","datatype","parameters","data"}`. Keys may come in any order; when
    /// `data` precedes `datatype` or `shape` it is skipped and read once the object is complete.
    private static func readInput(_ r: inout JSONReader, index: Int) throws(ProtocolError) -> PendingInput {
        guard try r.peek() == UInt8(ascii: "{") else {
            throw .invalidArgument("input #\(index) must be an object, got \(try r.describeValue())")
        }
        try r.enter(UInt8(ascii: "{"))
        var name: String? = nil
        var datatype: InferDataType? = nil
        var shape: [Int]? = nil
        var binaryDataSize: Int? = nil
        var data: [UInt8] = []
        var dataCount: Int? = nil
        var deferredData: JSONReader? = nil
        var first = true
        func label() -> String { name.map { "input '\($0)'" } ?? "input #\(index)" }
        while let key = try r.nextKey(&first) {
            switch key {
            case "name":
                guard try r.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("\(label()): 'name' must be a string") }
                name = try r.readString()
            case "datatype":
                guard try r.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("\(label()): 'datatype' must be a string") }
                let text = try r.readString()
                guard let dt = InferDataType(rawValue: text) else {
                    throw .invalidArgument("\(label()): unknown datatype '\(text)'")
                }
                datatype = dt
            case "shape":
                shape = try readShape(&r, label())
            case "parameters":
                var params = try r.readParameters("\(label()): ")
                if let v = params.removeValue(forKey: "binary_data_size") {
                    guard let n = v.intValue, n >= 0 else {
                        throw .invalidArgument("\(label()): parameter 'binary_data_size' must be a non-negative integer")
                    }
                    binaryDataSize = Int(n)
                }
                try rejectSharedMemory(params, "\(label()): ")
            case "data":
                if let dt = datatype, let s = shape, name != nil {
                    if let n = elementCount(of: s), let size = dt.byteSize { data.reserveCapacity(n * size) }
                    dataCount = try readData(&r, dt, into: &data, label())
                } else {
                    deferredData = r
                    try r.skipValue()
                }
            default:
                try r.skipValue()
            }
        }
        guard let name else { throw .invalidArgument("input #\(index): missing 'name'") }
        guard let datatype else { throw .invalidArgument("\(label()): missing 'datatype'") }
        guard let shape else { throw .invalidArgument("\(label()): missing 'shape'") }
        if var d = deferredData {
            dataCount = try readData(&d, datatype, into: &data, label())
        }
        let hasData = dataCount != nil
        if hasData && binaryDataSize != nil {
            throw .invalidArgument("\(label()): has both 'data' and parameter 'binary_data_size'")
        }
        if !hasData && binaryDataSize == nil {
            throw .invalidArgument("\(label()): missing 'data' (or parameter 'binary_data_size' for binary data)")
        }
        guard let expected = elementCount(of: shape) else {
            throw .invalidArgument("\(label()): shape \(shapeText(shape)) has too many elements")
        }
        if let n = dataCount, n != expected {
            throw .invalidArgument("\(label()): expected \(expected) elements for shape \(shapeText(shape)), got \(n)")
        }
        return PendingInput(tensor: InferTensor(name: name, datatype: datatype, shape: shape, data: data),
                            binaryDataSize: binaryDataSize)
    }

    private static func readData(_ r: inout JSONReader, _ dt: InferDataType, into out: inout [UInt8],
                                 _ label: String) throws(ProtocolError) -> Int {
        do {
            return try r.readTensorData(dt, into: &out).count
        } catch {
            throw .invalidArgument("\(label): \(error.message)")
        }
    }

    static func readShape(_ r: inout JSONReader, _ label: String) throws(ProtocolError) -> [Int] {
        guard try r.peek() == UInt8(ascii: "[") else {
            throw .invalidArgument("\(label): 'shape' must be an array of non-negative integers, got \(try r.describeValue())")
        }
        try r.enter(UInt8(ascii: "["))
        var dims: [Int] = []
        var first = true
        while try r.nextElement(&first) {
            dims.append(try r.readCount("\(label): 'shape' dimension \(dims.count)"))
        }
        return dims
    }

    /// `{"name", "parameters": {"binary_data": bool}}`
    private static func readRequestedOutput(_ r: inout JSONReader, index: Int) throws(ProtocolError) -> RequestedOutput {
        guard try r.peek() == UInt8(ascii: "{") else {
            throw .invalidArgument("output #\(index) must be an object, got \(try r.describeValue())")
        }
        try r.enter(UInt8(ascii: "{"))
        var name: String? = nil
        var binary: Bool? = nil
        var first = true
        while let key = try r.nextKey(&first) {
            switch key {
            case "name":
                guard try r.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("output #\(index): 'name' must be a string") }
                name = try r.readString()
            case "parameters":
                let label = name.map { "output '\($0)': " } ?? "output #\(index): "
                let params = try r.readParameters(label)
                if let v = params["binary_data"] {
                    guard let b = v.boolValue else { throw .invalidArgument("\(label)parameter 'binary_data' must be a bool") }
                    binary = b
                }
                try rejectSharedMemory(params, label)
            default:
                try r.skipValue()
            }
        }
        guard let name else { throw .invalidArgument("output #\(index): missing 'name'") }
        return RequestedOutput(name: name, binary: binary)
    }

    /// Triton's shared-memory extension needs a shared address space we do not have.
    private static func rejectSharedMemory(_ params: [String: ParameterValue], _ label: String) throws(ProtocolError) {
        if params["shared_memory_region"] != nil {
            throw .init(.unimplemented, "\(label)shared memory (parameter 'shared_memory_region') is not supported")
        }
    }
}
