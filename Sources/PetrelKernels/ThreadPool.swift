import CPetrelMicrokernels
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// Intra-op parallelism: a fixed set of threads that run `parallelFor` chunks; the calling thread
/// takes part, so `threads: 1` runs everything inline with no synchronisation.
///
/// Latency: a parallel region is published with one atomic increment; workers that finished a
/// region recently are still spinning (≈50 µs, `pause` between polls) and pick it up within
/// ~100 ns, so back-to-back GEMMs of one inference never pay a futex wake-up. Idle workers then
/// sleep on a condition variable (no CPU burnt between requests). The caller waits only for the
/// workers that joined its region: one still waking up (or descheduled on a busy core) when the
/// chunks run out is not waited for.
///
/// Concurrency: a pool runs one region at a time. A second caller arriving while a region runs
/// (another request's thread, or a nested `parallelFor` from inside a body) does not wait and does
/// not corrupt anything: it runs its own loop inline on its own thread. Give each concurrently
/// served model its own pool to get parallelism for both.
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int

    /// The current region: generation (bumped once per region, release; workers poll it), whether
    /// it is closed to late workers, and how many workers joined it (see `generationShift`).
    private let state = Atomic<Int>(1 << 15)
    /// Next chunk index to claim.
    private let next = Atomic<Int>(0)
    /// Workers asleep on `wake` (so the caller only takes the mutex when someone must be woken).
    private let sleepers = Atomic<Int>(0)
    /// 0 = free, 1 = a region is running (try-acquired by callers).
    private let busy = Atomic<Int>(0)
    /// Written by the caller before publishing a region; read by workers after seeing it.
    private var job: ((Int) -> Void)?
    private var jobCount = 0
    /// The region runs `job(slot)` once per joined thread, slot = the thread's index, instead of
    /// handing out chunk indices.
    private var jobBySlot = false
    private let mutex: UnsafeMutablePointer<pthread_mutex_t>
    private let wake: UnsafeMutablePointer<pthread_cond_t>

    private static let pools = Mutex<[Int: ThreadPool]>([:])

    /// The process-wide pool of `threads` threads. Workers live as long as the process, so every
    /// executor of the same width shares one pool instead of starting (and never stopping) its own.
    public static func shared(threads: Int = ThreadPool.defaultThreadCount()) -> ThreadPool {
        let n = max(1, threads)
        return pools.withLock { pools in
            if let p = pools[n] { return p }
            let p = ThreadPool(threads: n)
            pools[n] = p
            return p
        }
    }

    /// Default: one thread per online core.
    public static func defaultThreadCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    public init(threads: Int = ThreadPool.defaultThreadCount()) {
        self.threads = max(1, threads)
        mutex = .allocate(capacity: 1); wake = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil); pthread_cond_init(wake, nil)
        for index in 1..<self.threads {
            var tid = pthread_t()
            // Workers hold the pool strongly: a pool lives for the process (one per model/executor).
            let me = Unmanaged.passRetained(WorkerStart(pool: self, index: index)).toOpaque()
            pthread_create(&tid, nil, { arg in
                let start = Unmanaged<WorkerStart>.fromOpaque(arg!).takeRetainedValue()
                start.pool.workerLoop(index: start.index)
                return nil
            }, me)
            pthread_detach(tid)
        }
    }

    private static func nowNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// How long an idle worker polls before sleeping.
    private static let spinNanos: UInt64 = 50_000

    private final class WorkerStart {
        let pool: ThreadPool, index: Int
        init(pool: ThreadPool, index: Int) { self.pool = pool; self.index = index }
    }

    /// `index`: this worker's slot in a by-slot region (the caller is slot 0).
    private func workerLoop(index: Int) {
        var seen = 0
        while true {
            // Spin for a new region, then sleep.
            var g = Self.generation(of: state.load(ordering: .acquiring))
            if g == seen {
                let start = ThreadPool.nowNanos()
                var polls = 0
                while g == seen {
                    petrel_cpu_pause()
                    polls &+= 1
                    if polls & 255 == 0 && ThreadPool.nowNanos() &- start > ThreadPool.spinNanos { break }
                    g = Self.generation(of: state.load(ordering: .acquiring))
                }
                if g == seen {
                    pthread_mutex_lock(mutex)
                    sleepers.add(1, ordering: .sequentiallyConsistent)
                    while true {
                        g = Self.generation(of: state.load(ordering: .sequentiallyConsistent))
                        if g != seen { break }
                        pthread_cond_wait(wake, mutex)
                    }
                    sleepers.subtract(1, ordering: .relaxed)
                    pthread_mutex_unlock(mutex)
                }
            }
            seen = g
            guard join(seen) else { continue }
            // `job` is released before leaving: the caller's closure must not outlive its region.
            takeJob(index: index)
            state.subtract(1, ordering: .releasing)
        }
    }

    /// A worker's part of the region it joined. Not inlined: the worker's reference to `job` must
    /// be gone when it leaves the region, before the caller checks its closure did not escape, and
    /// a function's locals are released by its return.
    @inline(never)
    private func takeJob(index: Int) {
        if let body = job { take(body, index: index) }
    }

    /// A joined thread's part of the current region: its own slot (`index`; the caller is 0), or
    /// chunk indices claimed until none are left.
    private func take(_ body: (Int) -> Void, index: Int) {
        if jobBySlot {
            if index < jobCount { body(index) }
            return
        }
        while true {
            let i = next.add(1, ordering: .relaxed).oldValue
            if i >= jobCount { break }
            body(i)
        }
    }

    /// Joins region `g` if it is still open; a worker that comes late (woken after the caller
    /// finished every chunk) stays out, and the caller never waits for it.
    private func join(_ g: Int) -> Bool {
        var s = state.load(ordering: .relaxed)
        while Self.generation(of: s) == g && s & Self.closedBit == 0 {
            let r = state.compareExchange(expected: s, desired: s + 1, ordering: .acquiringAndReleasing)
            if r.exchanged { return true }
            s = r.original
        }
        return false
    }

    /// Runs body(0..<count), spread over the pool; returns when all have finished.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        region(count, bySlot: false, body)
    }

    /// With `bySlot`, each thread that joins runs body(its index) once (the caller 0, worker w
    /// w < count); a slot whose thread does not join is not run, so the body must finish the
    /// others' work (`parallelClaim`). Inline (one thread, or the pool busy) every slot runs in turn.
    private func region(_ count: Int, bySlot: Bool, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threads == 1 || count == 1 { for i in 0..<count { body(i) }; return }
        // Busy (concurrent or nested use): run inline rather than block or interleave.
        guard busy.compareExchange(expected: 0, desired: 1, ordering: .acquiring).exchanged else {
            for i in 0..<count { body(i) }
            return
        }
        withoutActuallyEscaping(body) { body in
            job = body; jobCount = count; jobBySlot = bySlot
            next.store(0, ordering: .relaxed)
            // Only the holder of `busy` changes the generation; the last region is closed and empty.
            let g = Self.generation(of: state.load(ordering: .relaxed)) &+ 1
            state.store(g << Self.generationShift, ordering: .sequentiallyConsistent)
            if sleepers.load(ordering: .sequentiallyConsistent) > 0 {
                pthread_mutex_lock(mutex); pthread_cond_broadcast(wake); pthread_mutex_unlock(mutex)
            }
            take(body, index: 0)
            // Close the region, then wait only for the workers that joined it.
            var s = state.bitwiseOr(Self.closedBit, ordering: .acquiringAndReleasing).newValue
            var polls = 0
            while s & Self.activeMask != 0 {
                petrel_cpu_pause()
                polls &+= 1
                if polls & 1023 == 0 { sched_yield() }  // a worker may be descheduled (shared cores)
                s = state.load(ordering: .acquiring)
            }
            job = nil
        }
        busy.store(0, ordering: .releasing)
    }

    /// Runs body(slot, item) for every item in 0..<count on up to `slots` threads; `slot`
    /// (0..<slots) is the running thread's, for per-thread scratch. Slot s first takes its own
    /// share, [count·s/slots, count·(s+1)/slots), from the front, one item at a time; then it takes
    /// the other shares' items from their backs. Own shares first keep each thread on the same
    /// items as a fixed split, so data a previous op's fixed split left in that core's cache
    /// stays there (digits-cnn at batch 64 on 2 threads: the first conv 18 → 11 µs when the
    /// second took items from one shared counter and moved half the images between cores); the
    /// taking evens out threads that run at different speeds (on this VM one vCPU sometimes ran
    /// the Winograd conv 10–25 % slower, and a fixed split waited for it).
    ///
    /// The slot is the thread's, not a chunk index: the caller always runs slot 0 and worker w
    /// slot w, so consecutive ops give a thread the same share (chunk indices go to whichever
    /// thread asks first, and a spinning worker sometimes beat the caller to chunk 0).
    public func parallelClaim(_ count: Int, slots: Int, _ body: (_ slot: Int, _ item: Int) -> Void) {
        if slots <= 1 || count <= 1 { for i in 0..<count { body(0, i) }; return }
        precondition(count < 1 << 32, "parallelClaim: more than 2^32 items")
        let stride = 8  // a cache line per range: an owner's claims do not bounce the others' lines
        withUnsafeTemporaryAllocation(of: UInt64.self, capacity: slots * stride + stride) { ranges in
            let r = UnsafeMutablePointer<UInt64>(bitPattern: (Int(bitPattern: ranges.baseAddress!) + 63) & ~63)!
            for s in 0..<slots {
                r[s * stride] = UInt64(count * s / slots) | UInt64(count * (s + 1) / slots) << 32
            }
            region(slots, bySlot: true) { slot in
                for k in 0..<slots {
                    let s = (slot + k) % slots
                    while true {
                        let i = petrel_claim_end(r + s * stride, k == 0 ? 0 : 1)
                        if i < 0 { break }
                        body(slot, i)
                    }
                }
            }
        }
    }

    /// `state`: the region's generation above bit 16, a closed flag, and how many workers are in it.
    private static let generationShift = 16
    private static let closedBit = 1 << 15
    private static let activeMask = closedBit - 1
    private static func generation(of s: Int) -> Int { s >> generationShift }
}
