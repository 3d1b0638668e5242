import Foundation
import PetrelKernels
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

    /// The fd a spawned worker finds its `listening` socket at (`petrel worker --listen-fd 5`).
    public static let listenerFd: Int32 = 5

    /// A Unix socket bound to `path` and listening, for a worker to inherit (`spawn(listening:)`).
    public static func listeningSocket(path: String) throws -> Int32 {
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw SpawnError("socket: \(String(cString: strerror(errno)))") }
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            close(fd)
            throw SpawnError("socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        unlink(path)
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size)) }
        }
        guard bound == 0, listen(fd, 128) == 0 else {
            let why = String(cString: strerror(errno))
            close(fd)
            throw SpawnError("bind/listen \(path): \(why)")
        }
        return fd
    }

    /// Spawns `executable arguments...` with fd 3 = report pipe, fd 4 = lifeline, and, when given,
    /// fd 5 = `listening` (a socket from `listeningSocket(path:)`; this call closes the caller's copy).
    public static func spawn(executable: String, arguments: [String], listening: Int32? = nil,
                             onReport: @escaping @Sendable (String) -> Void,
                             onExit: @escaping @Sendable (Int32) -> Void) throws -> SpawnedWorker {
        // Called on the gateway's loop thread, which co-location may have pinned to one CPU: the
        // child process and the two watcher threads would inherit it (the child for every thread,
        // inference included).
        try ThreadAffinity.unpinned {
            try spawnHere(executable: executable, arguments: arguments, listening: listening, onReport: onReport, onExit: onExit)
        }
    }

    private static func spawnHere(executable: String, arguments: [String], listening: Int32?,
                                  onReport: @escaping @Sendable (String) -> Void,
                                  onExit: @escaping @Sendable (Int32) -> Void) throws -> SpawnedWorker {
        var listener = listening
        defer { if let listener { close(listener) } }
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
        if let l = listener {
            let high = fcntl(l, F_DUPFD_CLOEXEC, 10)
            close(l)
            listener = high >= 0 ? high : nil
            guard high >= 0 else {
                close(report[0]); close(report[1]); close(life[0]); close(life[1])
                throw SpawnError("fcntl: \(String(cString: strerror(errno)))")
            }
            posix_spawn_file_actions_adddup2(&actions, high, listenerFd)
        }
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
        // Named: a thread inherits its creator's name (here the event loop's), which made them
        // look like event loops in /proc.
        Thread.detachNewThread {
            Thread.current.name = "worker-report"
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
            Thread.current.name = "worker-waitpid"
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
