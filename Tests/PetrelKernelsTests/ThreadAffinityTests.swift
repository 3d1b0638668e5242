import Foundation
import Testing
import PetrelKernels

/// On a thread of its own, so no other test's thread is ever pinned.
@Test func threadAffinityPinsAndRestoresTheCallingThreadOnly() {
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var seen: (before: [Int], pinned: [Int], onCPU: Int?, after: [Int], refused: Bool)?
    let t = Thread {
        let before = ThreadAffinity.allowed()
        let target = before.last!
        let ok = ThreadAffinity.set([target])
        let pinned = ThreadAffinity.allowed()
        let on = ThreadAffinity.currentCPU
        ThreadAffinity.set(before)
        let refused = !ThreadAffinity.set([]) && !ThreadAffinity.set([1 << 20])
        seen = (before, ok ? pinned : [], on, ThreadAffinity.allowed(), refused)
        done.signal()
    }
    t.start()
    done.wait()
    let s = seen!
    #expect(!s.before.isEmpty)
    #expect(s.pinned == [s.before.last!])
    #expect(s.onCPU == s.before.last!)
    #expect(s.after == s.before)
    #expect(s.refused)
    #expect(ThreadAffinity.allowed() == s.before)   // this thread was never touched
}
