import Foundation
import GRDB
import Testing
@testable import PetrelRegistry

/// Two `Registry` instances on one file stand for two processes (two CLI deploys racing, or the
/// CLI and the server): separate SQLite connections, serialised only by SQLite's locks.
@Suite struct ConcurrencyTests {
    @Test func concurrentAddsGetDistinctNumbers() throws {
        let dir = try TempDir()
        let registries = [try dir.open(), try dir.open()]
        let perThread = 20
        let numbers = Locked<[[Int]]>([[], []])
        let failures = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            for i in 0..<perThread {
                do {
                    let rec = try registries[t].deploy("racer", "\(t)-\(i)")
                    numbers.withLock { $0[t].append(rec.number) }
                } catch {
                    failures.withLock { $0.append("thread \(t), add \(i): \(error)") }
                }
            }
        }
        #expect(failures.withLock { $0 } == [])
        let all = numbers.withLock { $0 }
        #expect(all.flatMap { $0 }.sorted() == Array(1...(2 * perThread)))
        for list in all { #expect(list == list.sorted(), "each writer's numbers grow") }
        let state = try dir.open().state("racer")
        #expect(state.revisions.map(\.number) == Array(1...(2 * perThread)))
        #expect(Set(state.revisions.map(\.config)).count == 2 * perThread)
    }

    /// A writer shifting traffic while another connection reads: every read sees a whole split
    /// (sum 100), never one half-written.
    @Test func readersSeeWholeSplitsWhileAnotherConnectionWrites() throws {
        let dir = try TempDir()
        let writer = try dir.open(), reader = try dir.open()
        try writer.deploy("f"); try writer.deploy("f"); try writer.deploy("f")
        _ = try writer.setTraffic("f", split("1:50 2:30 3:20"))
        let bad = Locked<[String]>([])
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            for i in 0..<30 {
                do {
                    if t == 0 {
                        _ = try writer.shiftTraffic("f", to: "\(i % 3 + 1)", percent: (i * 37) % 90 + 5)
                        if i % 5 == 0 { try writer.deploy("f") }
                    } else {
                        let s = try reader.state("f")
                        let sum = s.traffic.reduce(0) { $0 + $1.percent }
                        if sum != 100 { bad.withLock { $0.append("read \(i): \(s.traffic)") } }
                        _ = try reader.setTag("f", tag: "t\(i % 4)", revision: "\(i % 3 + 1)")
                    }
                } catch {
                    bad.withLock { $0.append("thread \(t), step \(i): \(error)") }
                }
            }
        }
        #expect(bad.withLock { $0 } == [])
        #expect(try reader.state("f").revisions.count == 9)
    }

    /// Another connection holding the write lock (a deploy in another process, mid-transaction)
    /// makes a write wait for it, within the busy timeout, instead of failing with SQLITE_BUSY.
    @Test func aWriterWaitsForAnotherConnectionsTransaction() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f")
        var config = Configuration()
        config.journalMode = .wal
        let other = try DatabaseQueue(path: dir.registryPath, configuration: config)
        let locked = DispatchSemaphore(value: 0)
        let released = DispatchSemaphore(value: 0)
        Thread {
            do {
                try other.writeWithoutTransaction { db in
                    try db.inTransaction(.immediate) {
                        locked.signal()
                        Thread.sleep(forTimeInterval: 0.3)
                        return .commit
                    }
                }
            } catch {
                Issue.record(error)
                locked.signal()
            }
            released.signal()
        }.start()
        locked.wait()
        let start = Date()
        let rec = try r.deploy("f")
        #expect(rec.number == 2)
        #expect(Date().timeIntervalSince(start) > 0.2)
        released.wait()
    }
}
