import Testing
@testable import PetrelHTTP2

@Suite struct ResponseFlushingTests {
    final class Connection: DeferredFlush {
        var flushes = 0
        func flushDeferred() { flushes += 1 }
    }

    @Test func writesHeldInsideABatchLeaveWhenItEnds() {
        let a = Connection(), b = Connection()
        #expect(!ResponseFlushing.defer(a), "outside a batch nothing is held")
        ResponseFlushing.batched {
            #expect(ResponseFlushing.defer(a))
            ResponseFlushing.batched {
                #expect(ResponseFlushing.defer(b))
            }
            #expect(b.flushes == 1 && a.flushes == 0, "an inner batch flushes its own on return")
        }
        #expect(a.flushes == 1 && b.flushes == 1)
        #expect(!ResponseFlushing.defer(a), "and the outer batch is gone")
    }
}
