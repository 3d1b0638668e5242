extension TFServingRest {
    /// `GET /v1/models/{m}[/versions/{v}]`: every listed version AVAILABLE, as TF Serving reports a
    /// loaded model.
    public static func encodeModelStatus(versions: [String]) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"model_version_status\":[")
        for (i, v) in versions.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.raw("{\"version\":"); w.string(v)
            w.raw(",\"state\":\"AVAILABLE\",\"status\":{\"error_code\":\"OK\",\"error_message\":\"\"}}")
        }
        w.raw("]}")
        return w.bytes
    }

    /// TF's name for each datatype, as `signature_def` reports it.
    public static func tfDataType(_ dt: InferDataType) -> String {
        switch dt {
        case .bool: "DT_BOOL"
        case .uint8: "DT_UINT8"
        case .uint16: "DT_UINT16"
        case .uint32: "DT_UINT32"
        case .uint64: "DT_UINT64"
        case .int8: "DT_INT8"
        case .int16: "DT_INT16"
        case .int32: "DT_INT32"
        case .int64: "DT_INT64"
        case .fp16: "DT_HALF"
        case .fp32: "DT_FLOAT"
        case .fp64: "DT_DOUBLE"
        case .bytes: "DT_STRING"
        case .bf16: "DT_BFLOAT16"
        }
    }

    /// `GET /v1/models/{m}[...]/metadata`: one `serving_default` predict signature shaped like TF
    /// Serving's (proto3 JSON, so int64 dims are strings).
    public static func encodeMetadata(_ s: ModelSignature, version: String?) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"model_spec\":{\"name\":"); w.string(s.name)
        w.raw(",\"signature_name\":\"\",\"version\":"); w.string(version ?? s.versions.last ?? "")
        w.raw("},\"metadata\":{\"signature_def\":{\"signature_def\":{\"serving_default\":{\"inputs\":")
        tensorInfos(s.inputs, &w)
        w.raw(",\"outputs\":")
        tensorInfos(s.outputs, &w)
        w.raw(",\"method_name\":\"tensorflow/serving/predict\"}}}}}")
        return w.bytes
    }

    private static func tensorInfos(_ specs: [TensorSpec], _ w: inout JSONWriter) {
        w.byte(UInt8(ascii: "{"))
        for (i, t) in specs.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.string(t.name)
            w.raw(":{\"dtype\":\""); w.ascii(tfDataType(t.datatype))
            w.raw("\",\"tensor_shape\":{\"dim\":[")
            for (j, d) in t.shape.enumerated() {
                if j > 0 { w.byte(0x2C) }
                w.raw("{\"size\":"); w.quotedInt(d); w.raw(",\"name\":\"\"}")
            }
            w.raw("],\"unknown_rank\":false},\"name\":"); w.string(t.name + ":0")
            w.byte(UInt8(ascii: "}"))
        }
        w.byte(UInt8(ascii: "}"))
    }
}
