/// The lines a worker writes on its report pipe (fd 3) and the pool reads: `PHASE NANOS` with
/// CLOCK_MONOTONIC nanoseconds, or `error MESSAGE`. One definition for both ends.
public enum WorkerReport: Equatable, Sendable {
    /// Entered `main`.
    case main(UInt64)
    /// Listening on its socket.
    case ready(UInt64)
    /// Its artifact is mapped (it serves).
    case mapped(UInt64)
    /// A prewarmed worker finished its warm-up request and premapping.
    case warmed(UInt64)
    case error(String)

    public var line: String {
        switch self {
        case .main(let t): "main \(t)"
        case .ready(let t): "ready \(t)"
        case .mapped(let t): "mapped \(t)"
        case .warmed(let t): "warmed \(t)"
        case .error(let m): "error \(m)"
        }
    }

    public init?(line: String) {
        let parts = line.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { return nil }
        let value = String(parts[1])
        if parts[0] == "error" { self = .error(value); return }
        guard let t = UInt64(value) else { return nil }
        switch parts[0] {
        case "main": self = .main(t)
        case "ready": self = .ready(t)
        case "mapped": self = .mapped(t)
        case "warmed": self = .warmed(t)
        default: return nil
        }
    }
}
