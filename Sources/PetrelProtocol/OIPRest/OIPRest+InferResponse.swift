extension OIPRest {
    /// Encodes an infer response for `request`: only the requested outputs when it names any
    /// (an unknown name is `.invalidArgument`), binary ones per Triton's extension after the JSON.
    /// `inferenceHeaderLength` is non-nil exactly when binary data follows; the HTTP layer sends it
    /// as Inference-Header-Content-Length.
    public static func encodeInferResponse(_ response: InferResponse, request: InferRequest)
        throws(ProtocolError) -> (body: [UInt8], inferenceHeaderLength: Int?)
    {
        let selected = try request.selectOutputs(of: response)
        var binaryBytes = 0
        var jsonEstimate = 128
        for o in selected {
            let t = o.tensor, binary = o.binary
            if binary { binaryBytes += t.data.count } else { jsonEstimate += 16 * (t.shapeElementCount ?? 0) + t.data.count }
        }
        var w = JSONWriter(capacity: jsonEstimate + binaryBytes)
        w.raw("{\"model_name\":")
        w.string(response.modelName)
        if let v = response.modelVersion { w.raw(",\"model_version\":"); w.string(v) }
        if let id = response.id { w.raw(",\"id\":"); w.string(id) }
        w.raw(",\"outputs\":[")
        for (i, o) in selected.enumerated() {
            let t = o.tensor, binary = o.binary
            if i > 0 { w.byte(0x2C) }
            _ = try ElementView(t)  // the data must match the shape in either form
            w.raw("{\"name\":")
            w.string(t.name)
            w.raw(",\"datatype\":\"")
            w.ascii(t.datatype.rawValue)
            w.raw("\",\"shape\":")
            w.shape(t.shape)
            if binary {
                w.raw(",\"parameters\":{\"binary_data_size\":")
                w.int(t.data.count)
                w.raw("}}")
            } else {
                w.raw(",\"data\":")
                try w.tensorData(t, nested: false)
                w.byte(UInt8(ascii: "}"))
            }
        }
        w.raw("]}")
        guard selected.contains(where: { $0.binary }) else { return (w.bytes, nil) }
        let headerLength = w.bytes.count
        for o in selected where o.binary { w.bytes.append(contentsOf: o.tensor.data) }
        return (w.bytes, headerLength)
    }
}
