import Testing
@testable import PetrelRuntime

/// `ColocationPolicy`: pinned after a tick with no overlap, spread at the first overlap, pinned
/// again only after a whole tick without one.
struct ColocationPolicyTests {
    @Test func pinsAtTheFirstTickWhenIdleOrSerial() {
        var idle = ColocationPolicy()
        #expect(idle.tick() == .pin && idle.pinned)
        #expect(idle.tick() == .none && idle.pinned)

        var serial = ColocationPolicy()
        for _ in 0..<5 {
            #expect(serial.started() == .none)
            serial.finished()
        }
        #expect(serial.tick() == .pin)
        #expect(serial.started() == .none && serial.pinned)   // one in flight: stays pinned
    }

    @Test func secondRequestInFlightSpreadsAtOnce() {
        var p = ColocationPolicy()
        _ = p.tick()
        #expect(p.started() == .none)
        #expect(p.started() == .unpin && !p.pinned && p.inFlight == 2)
        #expect(p.started() == .none)   // already spread
    }

    @Test func repinsOnlyAfterATickWithoutOverlap() {
        var p = ColocationPolicy()
        _ = p.tick()
        _ = p.started(); _ = p.started()
        p.finished(); p.finished()
        #expect(p.tick() == .none)          // the overlap happened since the last tick
        #expect(p.tick() == .pin)           // a quiet tick
        _ = p.started(); _ = p.started()    // overlap again, still running at the next tick
        #expect(p.tick() == .none)
        p.finished()
        #expect(p.tick() == .none)          // it was still overlapping at the previous tick
        #expect(p.tick() == .pin)
    }

    @Test func finishedNeverGoesNegative() {
        var p = ColocationPolicy()
        p.finished()
        #expect(p.inFlight == 0)
        #expect(p.started() == .none)       // a stray finish does not hide a real overlap later
        #expect(p.inFlight == 1)
    }
}
