import Testing
@testable import PetrelProtocol

@Suite struct InferDataTypeTests {
    @Test func namesRoundTripAndNothingElseMatches() {
        for t in InferDataType.allCases { #expect(InferDataType(rawValue: t.rawValue) == t) }
        for name in ["", "fp32", "FP3", "FP321", "\u{0}FP32", "FP32\u{0}", "UINT128", "BYTESXYZ", "FP32 "] {
            #expect(InferDataType(rawValue: name) == nil, "\(name)")
        }
    }
}
