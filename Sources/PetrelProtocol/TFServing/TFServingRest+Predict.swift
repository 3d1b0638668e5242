extension TFServingRest {
    /// Decodes a `:predict` body against `signature`.
    /// Row form `{"signature_name"?, "instances": [...]}`: each instance is an object keyed by input
    /// name, or a bare value when the model has one input; instances are stacked along a new first
    /// (batch) dimension and must agree in shape. Columnar form `{"inputs": value | {name: value}}`
    /// takes each value's nesting as its whole shape.
    public static func decodePredictRequest(body: [UInt8], signature: ModelSignature,
                                            modelVersion: String? = nil) throws(ProtocolError) -> PredictRequest {
        let result = body.withUnsafeBufferPointer { buf in
            Result { () throws(ProtocolError) in try decodePredict(buf, signature, modelVersion) }
        }
        return try result.get()
    }

    private static func decodePredict(_ body: UnsafeBufferPointer<UInt8>, _ signature: ModelSignature,
                                      _ modelVersion: String?) throws(ProtocolError) -> PredictRequest {
        var r = JSONReader(body)
        var signatureName: String? = nil
        var format: Format? = nil
        var inputs: [InferTensor] = []
        guard try r.peek() == UInt8(ascii: "{") else { throw r.error("the request must be a JSON object") }
        try r.enter(UInt8(ascii: "{"))
        var first = true
        while let key = try r.nextKey(&first) {
            switch key {
            case "signature_name":
                guard try r.peek() == UInt8(ascii: "\"") else { throw .invalidArgument("'signature_name' must be a string") }
                signatureName = try r.readString()
            case "instances", "inputs":
                guard format == nil else { throw .invalidArgument("the request has both 'instances' and 'inputs'") }
                format = key == "instances" ? .row : .columnar
                inputs = key == "instances" ? try readInstances(&r, signature) : try readColumns(&r, signature)
            default:
                try r.skipValue()
            }
        }
        try r.expectEnd()
        guard let format else { throw .invalidArgument("the request has neither 'instances' nor 'inputs'") }
        let request = InferRequest(modelName: signature.name, modelVersion: modelVersion, inputs: inputs)
        return PredictRequest(inference: request, format: format, signatureName: signatureName)
    }

    private struct Column {
        var spec: TensorSpec
        var data: [UInt8] = []
        var instanceShape: [Int]? = nil
    }

    private static func readInstances(_ r: inout JSONReader, _ signature: ModelSignature) throws(ProtocolError) -> [InferTensor] {
        guard try r.peek() == UInt8(ascii: "[") else { throw .invalidArgument("'instances' must be an array, got \(try r.describeValue())") }
        try r.enter(UInt8(ascii: "["))
        var columns = signature.inputs.map { Column(spec: $0) }
        var n = 0
        var first = true
        while try r.nextElement(&first) {
            if try r.peek() == UInt8(ascii: "{") {
                try r.enter(UInt8(ascii: "{"))
                var seen = Set<Int>()
                var firstKey = true
                while let key = try r.nextKey(&firstKey) {
                    guard let c = columns.firstIndex(where: { $0.spec.name == key }) else {
                        throw .invalidArgument("instance \(n): unknown input '\(key)' (inputs: \(names(signature.inputs)))")
                    }
                    guard seen.insert(c).inserted else { throw .invalidArgument("instance \(n): duplicate input '\(key)'") }
                    try readInstanceValue(&r, &columns[c], instance: n)
                }
                if let missing = columns.indices.first(where: { !seen.contains($0) }) {
                    throw .invalidArgument("instance \(n): missing input '\(columns[missing].spec.name)'")
                }
            } else {
                guard columns.count == 1 else {
                    throw .invalidArgument("instance \(n): the model has \(columns.count) inputs, so each instance must be an object keyed by input name")
                }
                try readInstanceValue(&r, &columns[0], instance: n)
            }
            n += 1
        }
        guard n > 0 else { throw .invalidArgument("'instances' is empty") }
        return columns.map {
            InferTensor(name: $0.spec.name, datatype: $0.spec.datatype, shape: [n] + ($0.instanceShape ?? []), data: $0.data)
        }
    }

    private static func readInstanceValue(_ r: inout JSONReader, _ column: inout Column, instance: Int) throws(ProtocolError) {
        let shape: [Int]
        do {
            shape = try r.readTensorData(column.spec.datatype, into: &column.data).shape
        } catch {
            throw .invalidArgument("instance \(instance): input '\(column.spec.name)': \(error.message)")
        }
        if let s = column.instanceShape, s != shape {
            throw .invalidArgument("instance \(instance): input '\(column.spec.name)' has shape \(shapeText(shape)), earlier instances \(shapeText(s))")
        }
        column.instanceShape = shape
    }

    private static func readColumns(_ r: inout JSONReader, _ signature: ModelSignature) throws(ProtocolError) -> [InferTensor] {
        func read(_ r: inout JSONReader, _ spec: TensorSpec) throws(ProtocolError) -> InferTensor {
            var data: [UInt8] = []
            do {
                let shape = try r.readTensorData(spec.datatype, into: &data).shape
                return InferTensor(name: spec.name, datatype: spec.datatype, shape: shape, data: data)
            } catch {
                throw .invalidArgument("input '\(spec.name)': \(error.message)")
            }
        }
        guard try r.peek() == UInt8(ascii: "{") else {
            guard signature.inputs.count == 1 else {
                throw .invalidArgument("the model has \(signature.inputs.count) inputs, so 'inputs' must be an object keyed by input name")
            }
            return [try read(&r, signature.inputs[0])]
        }
        try r.enter(UInt8(ascii: "{"))
        var tensors: [InferTensor] = []
        var first = true
        while let key = try r.nextKey(&first) {
            guard let spec = signature.inputs.first(where: { $0.name == key }) else {
                throw .invalidArgument("unknown input '\(key)' (inputs: \(names(signature.inputs)))")
            }
            guard !tensors.contains(where: { $0.name == key }) else { throw .invalidArgument("duplicate input '\(key)'") }
            tensors.append(try read(&r, spec))
        }
        if let missing = signature.inputs.first(where: { s in !tensors.contains { $0.name == s.name } }) {
            throw .invalidArgument("missing input '\(missing.name)'")
        }
        return tensors
    }

    static func names(_ specs: [TensorSpec]) -> String { specs.map { "'\($0.name)'" }.joined(separator: ", ") }

    /// Encodes the response in the request's format. Row form: `{"predictions": [...]}` with one
    /// entry per instance (the outputs' first dimension), a bare value when there is one output,
    /// else an object keyed by output name. Columnar: `{"outputs": value | {name: value}}`.
    public static func encodePredictResponse(_ response: InferResponse, request: PredictRequest) throws(ProtocolError) -> [UInt8] {
        let outputs = try request.inference.selectOutputs(of: response).map(\.tensor)
        var w = JSONWriter(capacity: 64 + outputs.reduce(0) { $0 + 16 * ($1.shapeElementCount ?? 0) })
        switch request.format {
        case .columnar:
            w.raw("{\"outputs\":")
            if outputs.count == 1 {
                try w.tensorData(outputs[0], nested: true)
            } else {
                w.byte(UInt8(ascii: "{"))
                for (i, t) in outputs.enumerated() {
                    if i > 0 { w.byte(0x2C) }
                    w.string(t.name); w.byte(UInt8(ascii: ":"))
                    try w.tensorData(t, nested: true)
                }
                w.byte(UInt8(ascii: "}"))
            }
            w.byte(UInt8(ascii: "}"))
        case .row:
            guard let batch = outputs.first?.shape.first else {
                throw .init(.internal, "row-format predictions need outputs with a batch dimension")
            }
            for t in outputs where t.shape.first != batch {
                throw .init(.internal, "output '\(t.name)' has shape \(shapeText(t.shape)); row-format predictions need first dimension \(batch)")
            }
            w.raw("{\"predictions\":[")
            for i in 0..<batch {
                if i > 0 { w.byte(0x2C) }
                if outputs.count == 1 {
                    try instance(outputs[0], i, &w)
                } else {
                    w.byte(UInt8(ascii: "{"))
                    for (j, t) in outputs.enumerated() {
                        if j > 0 { w.byte(0x2C) }
                        w.string(t.name); w.byte(UInt8(ascii: ":"))
                        try instance(t, i, &w)
                    }
                    w.byte(UInt8(ascii: "}"))
                }
            }
            w.raw("]}")
        }
        return w.bytes
    }

    private static func instance(_ t: InferTensor, _ i: Int, _ w: inout JSONWriter) throws(ProtocolError) {
        let inner = t.shape.dropFirst()
        let per = elementCount(of: Array(inner)) ?? 0
        try w.tensorData(t, range: (i * per)..<((i + 1) * per), dims: inner)
    }
}
