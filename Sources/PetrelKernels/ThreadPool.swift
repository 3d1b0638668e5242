#if canImport(Glibc)
import Glibc
#endif

/// Intra-op parallelism: a fixed set of threads that run `parallelFor` chunks; the calling thread
/// takes part, so `threads: 1` runs everything inline with no synchronisation.
/// (Skeleton: mutex + condition variable; the SGEMM work may replace the internals.)
public final class ThreadPool: @unchecked Sendable {
    public let threads: Int
    private var mutex = pthread_mutex_t()
    private var wake = pthread_cond_t()
    private var done = pthread_cond_t()
    private var job: ((Int) -> Void)?
    private var jobCount = 0
    private var next = 0
    private var active = 0
    private var generation = 0

    /// Default: one thread per online core.
    public static func defaultThreadCount() -> Int { max(1, Int(sysconf(Int32(_SC_NPROCESSORS_ONLN)))) }

    public init(threads: Int = ThreadPool.defaultThreadCount()) {
        self.threads = max(1, threads)
        pthread_mutex_init(&mutex, nil); pthread_cond_init(&wake, nil); pthread_cond_init(&done, nil)
        for _ in 1..<self.threads {
            var tid = pthread_t()
            let me = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&tid, nil, { arg in
                let pool = Unmanaged<ThreadPool>.fromOpaque(arg!).takeRetainedValue()
                pool.workerLoop()
                return nil
            }, me)
            pthread_detach(tid)
        }
    }

    private func workerLoop() {
        var seen = 0
        pthread_mutex_lock(&mutex)
        while true {
            while generation == seen { pthread_cond_wait(&wake, &mutex) }
            seen = generation
            runChunks()
        }
    }

    /// Called with the mutex held; returns with it held.
    private func runChunks() {
        while next < jobCount, let body = job {
            let i = next; next += 1; active += 1
            pthread_mutex_unlock(&mutex)
            body(i)
            pthread_mutex_lock(&mutex)
            active -= 1
        }
        if next >= jobCount && active == 0 { pthread_cond_broadcast(&done) }
    }

    /// Runs body(0..<count), spread over the pool; returns when all have finished.
    public func parallelFor(_ count: Int, _ body: (Int) -> Void) {
        if count <= 0 { return }
        if threads == 1 || count == 1 { for i in 0..<count { body(i) }; return }
        withoutActuallyEscaping(body) { body in
            pthread_mutex_lock(&mutex)
            job = body; jobCount = count; next = 0; generation += 1
            pthread_cond_broadcast(&wake)
            runChunks()
            while next < jobCount || active > 0 { pthread_cond_wait(&done, &mutex) }
            job = nil; jobCount = 0
            pthread_mutex_unlock(&mutex)
        }
    }
}
