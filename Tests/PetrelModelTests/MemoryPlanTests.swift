import Testing
@testable import PetrelModel

@Suite struct MemoryPlanTests {
    func assertValid(_ reqs: [MemoryPlan.Request], _ p: MemoryPlan) -> String? {
        for i in reqs.indices {
            if p.offsets[i] % MemoryPlan.alignment != 0 { return "buffer \(i) misaligned at \(p.offsets[i])" }
            if p.offsets[i] + reqs[i].bytes > p.arenaBytes { return "buffer \(i) past the arena" }
            for j in reqs.indices where j > i {
                let timeOverlap = reqs[i].first <= reqs[j].last && reqs[j].first <= reqs[i].last
                let spaceOverlap = p.offsets[i] < p.offsets[j] + reqs[j].bytes && p.offsets[j] < p.offsets[i] + reqs[i].bytes
                if timeOverlap && spaceOverlap { return "buffers \(i) \(reqs[i]) and \(j) \(reqs[j]) overlap at \(p.offsets[i]), \(p.offsets[j])" }
            }
        }
        return nil
    }

    @Test func chainReusesMemory() {
        // a → b → c → d: each buffer dies when the next is made, so two slots suffice.
        let reqs = (0..<4).map { MemoryPlan.Request(bytes: 1000, first: $0, last: $0 + 1) }
        let p = MemoryPlan(reqs)
        #expect(assertValid(reqs, p) == nil)
        #expect(p.arenaBytes == 2 * 1024)
    }

    @Test func randomLifetimesNeverOverlap() {
        var rng = SplitMix(seed: 42)
        for round in 0..<300 {
            let n = Int(rng.next() % 30) + 1
            let reqs = (0..<n).map { _ -> MemoryPlan.Request in
                let a = Int(rng.next() % 20), len = Int(rng.next() % 6)
                return .init(bytes: Int(rng.next() % 5000) + 1, first: a, last: a + len)
            }
            let p = MemoryPlan(reqs)
            let problem = assertValid(reqs, p)
            #expect(problem == nil, "round \(round): \(problem ?? "")")
            #expect(p.arenaBytes <= reqs.map { MemoryPlan.align($0.bytes) }.reduce(0, +))
        }
    }
}

struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
