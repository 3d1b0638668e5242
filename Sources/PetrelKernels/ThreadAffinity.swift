import CPetrelMicrokernels

/// The calling thread's CPU placement (Linux affinity of this thread only). Kept beside the thread
/// pool, the other code here that cares which CPU a thread runs on.
public enum ThreadAffinity {
    static let maskBytes = 128   // 1,024 CPUs, as glibc's cpu_set_t

    /// The CPU the calling thread is running on, or nil where the system does not say.
    public static var currentCPU: Int? {
        let c = Int(petrel_current_cpu())
        return c >= 0 ? c : nil
    }

    /// The CPUs the calling thread may run on (empty if the system does not say).
    public static func allowed() -> [Int] {
        var mask = [UInt8](repeating: 0, count: maskBytes)
        guard petrel_thread_affinity(&mask, maskBytes, 0) == 0 else { return [] }
        return (0..<(maskBytes * 8)).filter { mask[$0 / 8] & (1 << ($0 % 8)) != 0 }
    }

    /// Restricts the calling thread to `cpus`; false if refused (e.g. a CPU outside the cpuset).
    @discardableResult
    public static func set(_ cpus: [Int]) -> Bool {
        guard !cpus.isEmpty, cpus.allSatisfy({ (0..<(maskBytes * 8)).contains($0) }) else { return false }
        var mask = [UInt8](repeating: 0, count: maskBytes)
        for c in cpus { mask[c / 8] |= UInt8(1 << (c % 8)) }
        return petrel_thread_affinity(&mask, maskBytes, 1) == 0
    }
}
