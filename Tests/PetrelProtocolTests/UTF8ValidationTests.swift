import Testing
@testable import PetrelProtocol

/// `String(utf8Validating:)` must accept and refuse exactly what `String(validating:as:)` does.
@Suite struct UTF8ValidationTests {
    static let cases: [[UInt8]] = [
        [], Array("digits-mlp".utf8), Array("/inference.GRPCInferenceService/ModelInfer".utf8),
        Array("größe".utf8), Array("模型-名前-😀".utf8), Array("long ascii then é at the end".utf8),
        [0xEF, 0xBF, 0xBD],                     // U+FFFD itself is valid
        [0x61, 0x80], [0xC3], [0xC3, 0x28],     // lone continuation, truncated, bad continuation
        [0xC0, 0xAF], [0xE0, 0x80, 0xAF],       // overlong
        [0xED, 0xA0, 0x80],                     // surrogate
        [0xF4, 0x90, 0x80, 0x80], [0xFF],       // past U+10FFFF, never valid
        Array("12345678".utf8) + [0xE9] + Array("abcdefgh".utf8),   // invalid byte between whole words
        [0xEF, 0xBF, 0x41],                     // a replacement character's prefix, then 'A'
    ]

    @Test(arguments: cases)
    func agreesWithTheStandardLibrary(bytes: [UInt8]) {
        #expect(String(utf8Validating: bytes) == String(validating: bytes, as: UTF8.self), "\(bytes)")
    }

    @Test func everySingleAndPairOfHighBytes() {
        for a in UInt8(0x80)...0xFF {
            #expect(String(utf8Validating: [0x41, a]) == String(validating: [0x41, a], as: UTF8.self))
            for b in UInt8(0x80)...0xBF {
                #expect(String(utf8Validating: [a, b]) == String(validating: [a, b], as: UTF8.self), "\(a) \(b)")
            }
        }
    }
}
