extension OIPRest {
    /// `GET /v2`: `{"name":"petrel","version":...,"extensions":[...]}`
    public static func encodeServerMetadata(version: String, extensions: [String] = OIPRest.extensions) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"name\":"); w.string(serverName)
        w.raw(",\"version\":"); w.string(version)
        w.raw(",\"extensions\":[")
        for (i, e) in extensions.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.string(e)
        }
        w.raw("]}")
        return w.bytes
    }

    /// `GET /v2/models/{m}`: `{"name","versions","platform","inputs":[{"name","datatype","shape"}],"outputs":[...]}`
    public static func encodeModelMetadata(_ s: ModelSignature) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"name\":"); w.string(s.name)
        w.raw(",\"versions\":[")
        for (i, v) in s.versions.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.string(v)
        }
        w.raw("],\"platform\":"); w.string(s.platform)
        w.raw(",\"inputs\":"); tensorMetadata(s.inputs, &w)
        w.raw(",\"outputs\":"); tensorMetadata(s.outputs, &w)
        w.byte(UInt8(ascii: "}"))
        return w.bytes
    }

    private static func tensorMetadata(_ specs: [TensorSpec], _ w: inout JSONWriter) {
        w.byte(UInt8(ascii: "["))
        for (i, t) in specs.enumerated() {
            if i > 0 { w.byte(0x2C) }
            w.raw("{\"name\":"); w.string(t.name)
            w.raw(",\"datatype\":\""); w.ascii(t.datatype.rawValue)
            w.raw("\",\"shape\":"); w.shape(t.shape)
            w.byte(UInt8(ascii: "}"))
        }
        w.byte(UInt8(ascii: "]"))
    }

    /// Health bodies. KServe's live and ready endpoints answer with the status code alone; Triton
    /// and KServe's Python server also send `{"live": true}` / `{"ready": true}`, which is what we
    /// send so either kind of client is content.
    public static func encodeLive(_ live: Bool) -> [UInt8] { live ? Array("{\"live\":true}".utf8) : Array("{\"live\":false}".utf8) }
    public static func encodeReady(_ ready: Bool) -> [UInt8] { ready ? Array("{\"ready\":true}".utf8) : Array("{\"ready\":false}".utf8) }

    /// `{"error": "..."}`, the body KServe and Triton send with any failing status.
    public static func encodeError(_ error: ProtocolError) -> [UInt8] { encodeError(message: error.message) }

    public static func encodeError(message: String) -> [UInt8] {
        var w = JSONWriter()
        w.raw("{\"error\":"); w.string(message); w.byte(UInt8(ascii: "}"))
        return w.bytes
    }
}
