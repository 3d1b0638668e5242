import Testing
@testable import PetrelProtocol

@Suite struct ErrorTests {
    @Test func statuses() {
        let table: [(ProtocolError.Code, Int, Int32)] = [
            (.invalidArgument, 400, 3), (.notFound, 404, 5), (.unavailable, 503, 14),
            (.resourceExhausted, 429, 8), (.deadlineExceeded, 504, 4), (.unimplemented, 501, 12),
            (.unauthenticated, 401, 16), (.permissionDenied, 403, 7), (.payloadTooLarge, 413, 8),
            (.internal, 500, 13),
        ]
        for (code, http, grpc) in table {
            let e = ProtocolError(code, "x")
            #expect(e.httpStatus == http, "\(code)")
            #expect(e.grpcStatus == grpc, "\(code)")
        }
    }

    @Test func errorBody() {
        #expect(text(OIPRest.encodeError(.invalidArgument("bad \"x\"\n"))) == #"{"error":"bad \"x\"\n"}"#)
    }

    @Test func byteSizes() {
        #expect(InferDataType.fp32.byteSize == 4)
        #expect(InferDataType.bytes.byteSize == nil)
        #expect(InferDataType.bf16.byteSize == 2)
        #expect(InferDataType.bool.byteSize == 1)
        #expect(InferDataType.uint64.byteSize == 8)
        #expect(InferDataType.allCases.count == 14)
    }
}
