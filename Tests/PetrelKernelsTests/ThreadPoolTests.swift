import CPetrelMicrokernels
import Synchronization
import Testing
#if canImport(Glibc)
import Glibc
#endif
@testable import PetrelKernels

@Test func parallelForVisitsEveryIndexOnce() {
    let pool = ThreadPool(threads: 2)
    var hits = [Int](repeating: 0, count: 1000)
    hits.withUnsafeMutableBufferPointer { h in
        let p = h.baseAddress!
        for _ in 0..<50 { pool.parallelFor(1000) { i in p[i] += 1 } }
    }
    #expect(hits.allSatisfy { $0 == 50 })
}

/// Claimed items: each item once, each slot's items never run by two threads at once (the slot
/// owns its scratch), nested calls inline.
@Test func parallelClaimVisitsEveryItemOncePerSlot() {
    let pool = ThreadPool(threads: 3)
    var hits = [Int](repeating: 0, count: 500), inSlot = [Int](repeating: 0, count: 3), clashes = [Int](repeating: 0, count: 3)
    hits.withUnsafeMutableBufferPointer { h in
        inSlot.withUnsafeMutableBufferPointer { busy in
            clashes.withUnsafeMutableBufferPointer { bad in
                for _ in 0..<20 {
                    pool.parallelClaim(500, slots: 3) { slot, item in
                        if busy[slot] != 0 { bad[slot] += 1 }
                        busy[slot] = 1
                        h[item] += 1
                        busy[slot] = 0
                    }
                }
            }
        }
    }
    var nested = [Int](repeating: 0, count: 20)
    nested.withUnsafeMutableBufferPointer { n in
        pool.parallelFor(2) { o in pool.parallelClaim(10, slots: 3) { _, item in n[o * 10 + item] += 1 } }
    }
    #expect(hits.allSatisfy { $0 == 20 })
    #expect(nested.allSatisfy { $0 == 1 })
    #expect(clashes == [0, 0, 0])
}

/// Many short back-to-back regions (the GEMM pattern: pack, compute, pack, …), with sleeps between
/// some so workers go through both the spinning and the sleeping hand-over.
@Test func manyRegionsSpinAndSleep() {
    let pool = ThreadPool(threads: 3)
    var sums = [Int](repeating: 0, count: 3)
    sums.withUnsafeMutableBufferPointer { s in
        let p = s.baseAddress!
        for r in 0..<2000 {
            pool.parallelFor(3) { i in p[i] += i + 1 }
            if r % 500 == 0 { usleep(80_000) }
        }
    }
    #expect(sums == [2000, 4000, 6000])
}

/// A nested region (or a second caller while one runs) runs inline on its own thread.
@Test func nestedUseRunsInline() {
    let pool = ThreadPool(threads: 2)
    var grid = [Int](repeating: 0, count: 64)
    grid.withUnsafeMutableBufferPointer { g in
        let p = g.baseAddress!
        pool.parallelFor(8) { i in pool.parallelFor(8) { j in p[i * 8 + j] += 1 } }
    }
    #expect(grid.allSatisfy { $0 == 1 })
}

@Test func concurrentCallersAreSafe() async {
    let pool = ThreadPool(threads: 2)
    let results = await withTaskGroup(of: Bool.self) { group in
        for _ in 0..<4 {
            group.addTask {
                var v = [Int](repeating: 0, count: 256)
                v.withUnsafeMutableBufferPointer { b in
                    let p = b.baseAddress!
                    for _ in 0..<200 { pool.parallelFor(256) { i in p[i] += 1 } }
                }
                return v.allSatisfy { $0 == 200 }
            }
        }
        var all: [Bool] = []
        for await r in group { all.append(r) }
        return all
    }
    #expect(results == [true, true, true, true])
}

@Test func singleThreadPoolRunsInline() {
    let pool = ThreadPool(threads: 1)
    #expect(pool.threads == 1)
    var order: [Int] = []
    pool.parallelFor(5) { order.append($0) }
    #expect(order == [0, 1, 2, 3, 4])
}

/// Pauses around the workers' spin time make some workers arrive after the caller has run every
/// chunk and closed the region: they must stay out of it (and out of the next one until it opens).
@Test func lateWorkersStayOutOfClosedRegions() {
    let pool = ThreadPool(threads: 3)
    var counts = [Int](repeating: 0, count: 5)
    var expected = [Int](repeating: 0, count: 5)
    var seed: UInt64 = 42
    counts.withUnsafeMutableBufferPointer { c in
        let p = c.baseAddress!
        for _ in 0..<3000 {
            seed = seed &* 6364136223846793005 &+ 1442695040888963407
            let n = 2 + Int(seed >> 61) % 4
            pool.parallelFor(n) { i in p[i] += 1 }
            for i in 0..<n { expected[i] += 1 }
            if seed >> 58 & 7 == 0 { usleep(UInt32(seed >> 40 & 127)) }
        }
    }
    #expect(counts == expected)
}

/// A claimed range gives its owner the front and a thread that ran out of its own work the back,
/// each item once, until the ends meet.
@Test func rangesAreClaimedFromEitherEnd() {
    var r: UInt64 = 3 | 7 << 32
    #expect(petrel_claim_end(&r, 0) == 3)
    #expect(petrel_claim_end(&r, 1) == 6)
    #expect(petrel_claim_end(&r, 1) == 5)
    #expect(petrel_claim_end(&r, 0) == 4)
    #expect(petrel_claim_end(&r, 0) == -1)
    #expect(petrel_claim_end(&r, 1) == -1)
}

/// `parallelClaim`'s slot is the thread's: the caller always runs slot 0, no two threads share a
/// slot in a region (per-slot scratch), every item runs once, with more or fewer slots than threads.
@Test func claimSlotsBelongToThreads() {
    let pool = ThreadPool(threads: 3)
    let caller = pthread_self()
    for (slots, count) in [(3, 40), (2, 9), (5, 31), (3, 2)] {
        for round in 0..<300 {
            var runs = [Int](repeating: 0, count: count)
            var owner = [pthread_t?](repeating: nil, count: slots)
            var ok = true
            let lock = Mutex(())
            runs.withUnsafeMutableBufferPointer { r in
                let p = r.baseAddress!
                pool.parallelClaim(count, slots: slots) { slot, item in
                    lock.withLock { _ in
                        let me = pthread_self()
                        if let o = owner[slot], pthread_equal(o, me) == 0 { ok = false }
                        owner[slot] = me
                        if pthread_equal(me, caller) != 0 && slot != 0 { ok = false }
                    }
                    p[item] += 1
                    if round % 7 == 0 && item % 5 == 0 { usleep(20) }
                }
            }
            #expect(ok, "slots \(slots) round \(round)")
            #expect(runs.allSatisfy { $0 == 1 }, "slots \(slots) round \(round)")
        }
    }
}
