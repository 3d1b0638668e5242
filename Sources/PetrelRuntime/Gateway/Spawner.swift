import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Starts worker processes with `posix_spawn` (no fork of a multi-threaded gateway) and watches
/// them: phase lines from the worker's report pipe, and its exit status from `waitpid`, each on a
/// small blocking thread that calls back. The gateway keeps the write end of a "lifeline" pipe;
/// the worker exits when it reads end-of-file, so workers never outlive a crashed gateway.
public final class SpawnedWorker: @unchecked Sendable {
    public let pid: pid_t
    private let lifeline: Int32

    init(pid: pid_t, lifeline: Int32) { self.pid = pid; self.lifeline = lifeline }

    public func terminate() { kill(pid, SIGTERM) }
    public func forceKill() { kill(pid, SIGKILL) }
    deinit { close(lifeline) }

    /// Spawns `executable arguments...` with fd 3 = report pipe, fd 4 = lifeline.
    public static func spawn(executable: String, arguments: [String],
                             onReport: @escaping @Sendable (String) -> Void,
                             onExit: @escaping @Sendable (Int32) -> Void) throws -> SpawnedWorker {
        // One spawn at a time: between pipe() and FD_CLOEXEC another spawn would inherit our ends.
        spawnLock.lock(); defer { spawnLock.unlock() }
        var report: [Int32] = [0, 0], life: [Int32] = [0, 0]
        guard pipe(&report) == 0 else { throw SpawnError("pipe: \(String(cString: strerror(errno)))") }
        guard pipe(&life) == 0 else {
            close(report[0]); close(report[1])
            throw SpawnError("pipe: \(String(cString: strerror(errno)))")
        }
        // Move our ends above the target numbers first: dup2(x, 3) then dup2(y, 4) would copy the
        // wrong pipe if y were 3 already, and dup2(3, 3) would keep close-on-exec set.
        for i in 0..<2 {
            for (k, fd) in [(0, report[i]), (1, life[i])] {
                let high = fcntl(fd, F_DUPFD_CLOEXEC, 10)
                close(fd)
                if k == 0 { report[i] = high } else { life[i] = high }
            }
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_adddup2(&actions, report[1], 3)
        posix_spawn_file_actions_adddup2(&actions, life[0], 4)
        let argv: [UnsafeMutablePointer<CChar>?] = ([executable] + arguments).map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid = pid_t()
        let rc = posix_spawn(&pid, executable, &actions, nil, argv, environ)
        close(report[1]); close(life[0])
        guard rc == 0 else {
            close(report[0]); close(life[1])
            throw SpawnError("posix_spawn \(executable): \(String(cString: strerror(rc)))")
        }
        let readFd = report[0], child = pid
        Thread.detachNewThread {
            var buffer = [UInt8](), chunk = [UInt8](repeating: 0, count: 512)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(readFd, $0.baseAddress, $0.count) }
                if n <= 0 { break }
                buffer += chunk[0..<n]
                while let nl = buffer.firstIndex(of: 10) {
                    onReport(String(decoding: buffer[..<nl], as: UTF8.self))
                    buffer.removeSubrange(...nl)
                }
            }
            close(readFd)
        }
        Thread.detachNewThread {
            var status: Int32 = 0
            while waitpid(child, &status, 0) < 0 && errno == EINTR {}
            onExit(status)
        }
        return SpawnedWorker(pid: pid, lifeline: life[1])
    }

    /// The running binary, for spawning `petrel worker`.
    public static var currentExecutable: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? CommandLine.arguments[0]
    }
}

private let spawnLock = NSLock()

public struct SpawnError: Error, CustomStringConvertible {
    public var description: String
    init(_ d: String) { description = d }
}
