import Testing
@testable import PetrelHTTP2

@Suite struct HeaderInternerTests {
    @Test func internsKnownNamesAndRepeatedLongValues() {
        var i = HeaderInterner()
        func call(_ n: String, _ v: String) -> (name: String, value: String, known: Int?) {
            let nb = Array(n.utf8), vb = Array(v.utf8)
            return nb.withUnsafeBufferPointer { np in vb.withUnsafeBufferPointer { vp in i.strings(np, vp) } }
        }
        let path = "/inference.GRPCInferenceService/ModelInfer"
        let a = call(":path", path), b = call(":path", path)
        #expect(a.name == ":path" && a.value == path && a.known == HeaderInterner.Known.path)
        #expect(b.value == path && b.known == a.known)
        let other = call(":path", "/v2/models/digits-mlp/infer")
        #expect(other.value == "/v2/models/digits-mlp/infer")
        let unknown = call("x-custom", "1")
        #expect(unknown.name == "x-custom" && unknown.value == "1" && unknown.known == nil)
    }

    @Test func headerLookupComparesWholeNames() {
        let h: HTTPHeaders = ["te": "trailers", "grpc-timeout": "1S", "grpc-encodinG": "x", "content-type": "application/grpc"]
        #expect(h["grpc-timeout"] == "1S")
        #expect(h["content-type"] == "application/grpc")
        #expect(h["grpc-encoding"] == nil)   // same length, different bytes
        #expect(h["t"] == nil && h["tee"] == nil)
    }
}

@Suite struct MethodPathTests {
    /// The router's key: equal exactly when the bytes are, and equal keys hash alike.
    @Test func equalityAndHashAgree() {
        let a = MethodPath("/inference.GRPCInferenceService/ModelInfer")
        let b = MethodPath(String(decoding: Array("/inference.GRPCInferenceService/ModelInfer".utf8), as: UTF8.self))
        #expect(a == b && a.hashValue == b.hashValue)
        #expect(MethodPath("/s/K") != MethodPath("/s/\u{212A}"))   // canonically equivalent, different bytes
        #expect(MethodPath("/s/ServerLive") != MethodPath("/s/ModelReady!"))
        let table = [a: 1, MethodPath("/s/x"): 2]
        #expect(table[b] == 1 && table[MethodPath("/s/x")] == 2 && table[MethodPath("/s/y")] == nil)
    }
}
