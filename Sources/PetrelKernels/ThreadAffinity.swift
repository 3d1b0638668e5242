import CPetrelMicrokernels
#if canImport(Glibc)
import Glibc
#endif

/// The calling thread's CPU placement (Linux affinity of this thread only). Kept beside the thread
/// pool, the other code here that cares which CPU a thread runs on.
public enum ThreadAffinity {
    static let maskBytes = 128   // 1,024 CPUs, as glibc's cpu_set_t

    /// The CPU the calling thread is running on, or nil where the system does not say.
    public static var currentCPU: Int? {
        let c = Int(petrel_current_cpu())
        return c >= 0 ? c : nil
    }

    /// The CPUs the process's first caller could run on: the set to spread over and to start
    /// children with. Read it once before pinning any thread (a child inherits its spawning
    /// thread's affinity, pinned or not).
    public static let atStart: [Int] = allowed()

    /// Runs `body` with the calling thread on `atStart`'s CPUs, then puts it back: for spawning a
    /// process from a thread that may be pinned. Two syscalls when it is; none otherwise.
    public static func unpinned<T>(_ body: () throws -> T) rethrows -> T {
        let now = allowed()
        guard !atStart.isEmpty, now != atStart else { return try body() }
        set(atStart)
        defer { set(now) }
        return try body()
    }

    /// Puts the calling thread back on `atStart`'s CPUs if it was born pinned (a thread inherits
    /// its creator's affinity: a Dispatch worker first started by a pinned event loop is pinned
    /// for life). Checked once per thread, then free.
    public static func spreadIfBornPinned() {
        if pthread_getspecific(checkedKey) != nil { return }
        pthread_setspecific(checkedKey, UnsafeRawPointer(bitPattern: 1))
        if !atStart.isEmpty, allowed() != atStart { set(atStart) }
    }

    private static let checkedKey: pthread_key_t = {
        var k = pthread_key_t()
        pthread_key_create(&k, nil)
        return k
    }()

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
