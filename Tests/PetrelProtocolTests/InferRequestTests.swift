import Testing
@testable import PetrelProtocol

/// `InferRequest` shares one box between copies; these hold it to value semantics.
@Suite struct InferRequestTests {
    static func sample() -> InferRequest {
        InferRequest(id: "a-request-id-longer-than-fifteen-bytes", modelName: "digits-mlp", modelVersion: "1",
                     inputs: [InferTensor(name: "x", datatype: .fp32, shape: [1, 2], data: [0, 0, 128, 63, 0, 0, 0, 64])],
                     outputs: [RequestedOutput(name: "y")], parameters: ["p": .int(3)], binaryOutputsByDefault: false)
    }

    @Test func aMutatedCopyLeavesTheOriginalAlone() {
        let original = Self.sample()
        var copies = Array(repeating: original, count: 8)
        copies[0].id = nil
        copies[1].modelName = "other"
        copies[2].modelVersion = nil
        copies[3].inputs[0].data[0] = 1
        copies[4].inputs.append(InferTensor(name: "z", datatype: .int64, shape: [0], data: []))
        copies[5].outputs.removeAll()
        copies[6].parameters["q"] = .bool(true)
        copies[7].binaryOutputsByDefault = true
        for (i, c) in copies.enumerated() {
            #expect(c != original, "copy \(i) was changed, so it must differ")
            #expect(original == Self.sample(), "changing copy \(i) changed the original")
        }
        #expect(copies[3].inputs[0].data[0] == 1 && original.inputs[0].data[0] == 0)
        #expect(copies[4].inputs.count == 2 && original.inputs.count == 1)
    }

    @Test func equalRequestsHashAlikeAndDifferentOnesCompareUnequal() {
        var a = Self.sample(), b = Self.sample()
        #expect(a == b && a.hashValue == b.hashValue)
        var set: Set<InferRequest> = [a, b]
        #expect(set.count == 1)
        b.parameters["p"] = .int(4)
        #expect(a != b)
        set.insert(b)
        #expect(set.count == 2)
        a.parameters["p"] = .int(4)   // `a`'s box is shared with the set's element: copied first
        #expect(a == b)
        #expect(set.contains(Self.sample()), "the set's copy of the old `a` changed with it")
        var lone = Self.sample()
        lone.parameters["p"] = .int(4)   // unshared: changed in place
        #expect(lone == b)
    }
}
