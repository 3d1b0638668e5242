/// Helpers the passes share: who consumes a value, and constant lookup.
extension Graph {
    /// value → indices of nodes reading it (graph outputs are not nodes: see `isGraphOutput`).
    func consumers() -> [Int: [Int]] {
        var c: [Int: [Int]] = [:]
        for (i, n) in nodes.enumerated() { for v in n.inputs.compactMap({ $0 }) { c[v, default: []].append(i) } }
        return c
    }

    func isGraphOutput(_ v: Int) -> Bool { outputs.contains(v) }

    /// The one node reading `v` (in `uses`, from `consumers()`), when nothing else — no other node,
    /// no graph output — needs it: the condition for fusing `v` away.
    func soleReader(of v: Int?, _ uses: [Int: [Int]]) -> Int? {
        guard let v, let u = uses[v], u.count == 1, !isGraphOutput(v) else { return nil }
        return u[0]
    }

    func constant(_ v: Int?) -> Tensor? { v.flatMap { constants[$0] } }

    /// A scalar (or one-element) float constant's value.
    func scalar(_ v: Int?) -> Float? {
        guard let t = constant(v), t.count == 1, t.dtype == .float32 else { return nil }
        return t.pointer(Float.self)[0]
    }

    /// Removes nodes by index (after a pass marked them), keeping order.
    mutating func removeNodes(_ dead: Set<Int>) {
        nodes = nodes.enumerated().filter { !dead.contains($0.offset) }.map(\.element)
    }
}
