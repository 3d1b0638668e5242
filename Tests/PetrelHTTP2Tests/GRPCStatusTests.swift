import Testing
@testable import PetrelHTTP2

@Suite struct GRPCStatusTests {
    /// The spelled-out names must stay the case names metrics and logs have always shown.
    @Test func namesAreTheCaseNames() {
        for raw in Int32(0)...16 {
            let status = GRPCStatus(rawValue: raw)!
            #expect(status.name == "\(status)")
        }
    }
}
