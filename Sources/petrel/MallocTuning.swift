#if canImport(Glibc)
import Glibc
#endif

/// glibc's per-thread malloc cache (tcache) keeps 7 free chunks of each size. A server answering a
/// tick's requests together (the inline batcher at h2load -c 8 -m 16 runs up to 128 at once) frees
/// far more chunks of a size than that, and the rest go through the arena's bins under its lock:
/// ~2,800 of a gRPC request's ~67,000 instructions (callgrind), ~4 % of its CPU (alternated runs).
///
/// glibc reads its tunables only when a process starts, so `petrel serve` puts
/// `glibc.malloc.tcache_count` into GLIBC_TUNABLES and executes itself again (same PID, ~2 ms,
/// once); the workers it spawns inherit the environment. A tcache setting already in
/// GLIBC_TUNABLES, or PETREL_MALLOC_TUNING=0, is left alone: set one of them when profiling with a
/// tool that does not follow exec (valgrind without --trace-children would lose the server).
enum MallocTuning {
    static let tcacheCount = 256
    private static let marker = "PETREL_MALLOC_TUNED"

    static func reexecIfNeeded() {
        #if os(Linux)
        func env(_ name: String) -> String? { getenv(name).map { String(cString: $0) } }
        if env("PETREL_MALLOC_TUNING") == "0" || env(marker) != nil { return }
        let current = env("GLIBC_TUNABLES") ?? ""
        if current.contains("glibc.malloc.tcache_count") { return }
        setenv("GLIBC_TUNABLES", (current.isEmpty ? "" : current + ":") + "glibc.malloc.tcache_count=\(tcacheCount)", 1)
        setenv(marker, "1", 1)   // never twice, even if the loader dropped the variable
        execv("/proc/self/exe", CommandLine.unsafeArgv)
        // Only reached if execv failed: serve untuned.
        #endif
    }
}
