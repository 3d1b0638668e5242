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

/// A thread started by a pinned thread is born pinned; `spreadIfBornPinned` puts it back on the
/// start set, and `unpinned` starts children spread.
@Test func threadsBornOfAPinnedThreadAreSpreadAgain() {
    let start = ThreadAffinity.atStart
    guard start.count > 1 else { return }
    let done = DispatchSemaphore(value: 0)
    nonisolated(unsafe) var seen: (born: [Int], spread: [Int], viaUnpinned: [Int], parentAfter: [Int])?
    Thread {
        ThreadAffinity.set([start[0]])
        let inner = DispatchSemaphore(value: 0)
        nonisolated(unsafe) var born: [Int] = [], spread: [Int] = [], via: [Int] = []
        Thread {
            born = ThreadAffinity.allowed()
            ThreadAffinity.spreadIfBornPinned()
            spread = ThreadAffinity.allowed()
            inner.signal()
        }.start()
        inner.wait()
        ThreadAffinity.unpinned {
            Thread { via = ThreadAffinity.allowed(); inner.signal() }.start()
        }
        inner.wait()
        seen = (born, spread, via, ThreadAffinity.allowed())
        ThreadAffinity.set(start)
        done.signal()
    }.start()
    done.wait()
    #expect(seen!.born == [start[0]])
    #expect(seen!.spread == start)
    #expect(seen!.viaUnpinned == start)
    #expect(seen!.parentAfter == [start[0]])
}
