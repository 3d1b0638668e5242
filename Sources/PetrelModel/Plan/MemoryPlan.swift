/// Offsets for buffers with known lifetimes in one arena: buffers whose lifetimes overlap never share
/// bytes; others reuse them. Greedy by size, largest first, lowest fitting offset (TFLite's
/// "greedy by size" arena planner): within a few percent of optimal on CNN and transformer graphs.
/// Pure: no I/O, tested exhaustively.
struct MemoryPlan {
    struct Request { var bytes: Int; var first: Int; var last: Int }

    static let alignment = 64

    let offsets: [Int]
    let arenaBytes: Int

    init(_ requests: [Request]) {
        let order = requests.indices.sorted {
            requests[$0].bytes != requests[$1].bytes ? requests[$0].bytes > requests[$1].bytes : $0 < $1
        }
        var offsets = [Int](repeating: 0, count: requests.count)
        var placed: [Int] = []
        var peak = 0
        for i in order {
            let r = requests[i]
            let size = MemoryPlan.align(r.bytes)
            // Live buffers that overlap r in time, by offset.
            let conflicts = placed.filter { requests[$0].first <= r.last && r.first <= requests[$0].last }
                .sorted { offsets[$0] < offsets[$1] }
            var candidate = 0
            for c in conflicts {
                if candidate + size <= offsets[c] { break }
                candidate = Swift.max(candidate, offsets[c] + MemoryPlan.align(requests[c].bytes))
            }
            offsets[i] = candidate
            placed.append(i)
            peak = Swift.max(peak, candidate + size)
        }
        self.offsets = offsets
        arenaBytes = peak
    }

    static func align(_ n: Int) -> Int { (Swift.max(n, 1) + alignment - 1) / alignment * alignment }
}
