/// Something that happens to a simulated pool at an instant. Arrivals are not events: they come
/// from the sorted trace and are merged with this queue as the clock advances.
struct SimulationEvent {
    enum Kind: UInt64 {
        // Raw values order events at the same instant: a worker that became ready at t serves a
        // request arriving at t; a request finishing at t is out of the second sampled at t; the
        // tick at t decides on the sample taken at t (as knative records, then scales).
        case workerReady = 0, requestDone = 1, sample = 3, tick = 4
        /// Not queued; its rank among the others (see `SimulatedPool.run`).
        static let arrivalRank: UInt64 = 2
    }

    var time: Int64
    /// kind << 56 | sequence: ties in time go by kind, then first scheduled first.
    var order: UInt64
    var worker: Int32

    var kind: Kind { Kind(rawValue: order >> 56)! }

    @inline(__always)
    static func < (a: SimulationEvent, b: SimulationEvent) -> Bool {
        a.time != b.time ? a.time < b.time : a.order < b.order
    }
}

/// A binary min-heap of events: O(log n) push and pop, one array, no allocation per event once
/// it has grown to the peak number pending (about the requests in flight plus the workers).
struct SimulationEventQueue {
    private var heap: [SimulationEvent] = []
    private var sequence: UInt64 = 0

    var isEmpty: Bool { heap.isEmpty }
    var count: Int { heap.count }
    var first: SimulationEvent? { heap.first }

    mutating func push(_ kind: SimulationEvent.Kind, at time: Int64, worker: Int32 = -1) {
        sequence += 1
        heap.append(SimulationEvent(time: time, order: kind.rawValue << 56 | sequence, worker: worker))
        var i = heap.count - 1
        let e = heap[i]
        while i > 0 {
            let parent = (i - 1) / 2
            guard e < heap[parent] else { break }
            heap[i] = heap[parent]
            i = parent
        }
        heap[i] = e
    }

    mutating func pop() -> SimulationEvent? {
        guard let top = heap.first else { return nil }
        let last = heap.removeLast()
        guard !heap.isEmpty else { return top }
        var i = 0
        let n = heap.count
        while true {
            let l = 2 * i + 1
            guard l < n else { break }
            let child = l + 1 < n && heap[l + 1] < heap[l] ? l + 1 : l
            guard heap[child] < last else { break }
            heap[i] = heap[child]
            i = child
        }
        heap[i] = last
        return top
    }
}
