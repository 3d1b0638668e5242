import Foundation
import NIOCore
import PetrelKernels

/// When the gateway's event loop and its workers' event loops should share one CPU. Pure: the
/// caller reports requests and ticks and carries out the actions.
///
/// Why: a request through a worker crosses two processes twice. On separate CPUs every crossing
/// wakes an idle CPU (an inter-processor interrupt, and on a VM a halted vCPU's exit): on this
/// 2-vCPU Zen 4 VM the warm hop measured +61–73 µs over in-process with the threads free and
/// +36–51 µs with both loops on one CPU. Sharing a CPU serialises the two processes, which costs
/// nothing while requests come one at a time and a third of the throughput when they overlap
/// (digits-mlp at h2load -c 8 -m 16: 35 k against 52–56 k req/s). So: pinned while requests do not
/// overlap, spread as soon as two are in flight, pinned again after a tick without overlap.
public struct ColocationPolicy: Equatable, Sendable {
    public enum Action: Equatable, Sendable { case none, pin, unpin }

    public private(set) var pinned = false
    public private(set) var inFlight = 0
    private var overlapped = false

    public init() {}

    /// A request is forwarded to a worker.
    public mutating func started() -> Action {
        inFlight += 1
        guard inFlight > 1 else { return .none }
        overlapped = true
        if pinned { pinned = false; return .unpin }
        return .none
    }

    /// A forwarded request is answered (or failed).
    public mutating func finished() { inFlight = max(0, inFlight - 1) }

    /// The periodic decision: pin when no two requests overlapped since the last tick.
    public mutating func tick() -> Action {
        defer { overlapped = inFlight > 1 }
        if !pinned && !overlapped { pinned = true; return .pin }
        return .none
    }
}

/// The gateway side of `ColocationPolicy`: pins its own event loop thread, and tells each worker
/// where to run its event loop in the `petrel-colocate` header of every forwarded request (a CPU
/// number, or `none`); the worker applies it to its loop thread (`WorkerService`). Only for a
/// gateway with one event loop on a machine with more than one CPU to spread over.
public final class Colocation: @unchecked Sendable {
    public static let header = "petrel-colocate"
    static let tick: TimeAmount = .seconds(2)

    private let lock = NSLock()
    private var policy = ColocationPolicy()
    /// The header value, and where the loop thread belongs: a CPU number while pinned, else `none`.
    private var place = "none"
    private var task: RepeatedTask?
    private let loop: EventLoop
    private let allowed: [Int]

    public init?(loop: EventLoop) {
        let allowed = ThreadAffinity.atStart   // read here, before anything is pinned
        guard allowed.count > 1 else { return nil }
        self.loop = loop
        self.allowed = allowed
    }

    public func start() {
        lock.withLock { task = loop.scheduleRepeatedTask(initialDelay: Self.tick, delay: Self.tick) { [self] _ in tick() } }
    }

    public func stop() {
        lock.withLock { task?.cancel(); task = nil; policy = ColocationPolicy(); place = "none" }
        loop.execute { [self] in apply() }
    }

    /// Call when a request is forwarded; returns the header value to send with it.
    func started() -> String {
        let (action, value): (ColocationPolicy.Action, String) = lock.withLock {
            let a = policy.started()
            if a == .unpin { place = "none" }
            return (a, place)
        }
        if action == .unpin {
            if loop.inEventLoop { apply() } else { loop.execute { [self] in apply() } }
        }
        return value
    }

    func finished() { lock.withLock { policy.finished() } }

    private func tick() {
        guard let here = ThreadAffinity.currentCPU else { return }
        let pin: Bool = lock.withLock {
            guard task != nil, policy.tick() == .pin else { return false }
            place = String(here)
            return true
        }
        if pin { apply() }
    }

    /// Puts the loop thread (the caller) where the policy says now: ordered on the loop, so a late
    /// unpin never undoes a newer pin.
    private func apply() {
        let want = lock.withLock { place }
        let cpu = Int(want)
        if !ThreadAffinity.set(cpu.map { [$0] } ?? allowed), cpu != nil {
            lock.withLock { if place == want { place = "none" } }   // refused: stay spread
        }
    }
}
