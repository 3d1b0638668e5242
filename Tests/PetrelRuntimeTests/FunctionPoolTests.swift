import NIOCore
import Testing
@testable import PetrelRuntime

@Suite struct FunctionPoolTests {
    /// A hung request's 504 names the timeout as function.yaml would write it.
    @Test func timeoutsAreWordedAsWritten() {
        #expect(FunctionPool.text(.seconds(300)) == "300 s")
        #expect(FunctionPool.text(.milliseconds(1500)) == "1.5 s")
        #expect(FunctionPool.text(.milliseconds(250)) == "250 ms")
        #expect(FunctionPool.text(.seconds(1)) == "1 s")
    }
}
