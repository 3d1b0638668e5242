/// One worker process's life, as a state machine that does no I/O: the pool feeds it events
/// (`handle(_:)`) and carries out the action it returns (hummingbird's
/// `+StateMachine.swift` shape). Tests drive it without processes or sockets.
///
/// ```
/// spawning --spawned(pid)--> starting --becameReady--> ready --drain--> draining --exited--> exited
///     \________________________\_______________________\___________________\--> failed
/// ```
/// `starting` covers the process from `posix_spawn` until it answers on its socket (entering
/// main, mapping the model); `ready` counts requests in flight so a drain ends when the last one
/// finishes. Anything that ends a worker other than a finished drain leads to `failed`.
public struct WorkerLifecycle: Sendable {
    public enum State: Equatable, Sendable {
        /// Asked for; `posix_spawn` has not returned a pid yet.
        case spawning
        case starting(pid: Int32, enteredMain: Bool)
        case ready(pid: Int32, inFlight: Int)
        /// No new requests; waits for `inFlight` to reach 0, then asks the process to exit.
        /// pid is nil when the drain came before the spawn returned.
        case draining(pid: Int32?, inFlight: Int)
        /// Reaped after a drain.
        case exited(status: Int32)
        /// Ended any other way. Terminal: a later `exited` (the reap after a kill) is absorbed.
        case failed(Failure)
    }

    public enum Failure: Equatable, Sendable {
        /// No pid within the spawn deadline.
        case spawnTimedOut
        /// Not ready within the cold-start deadline; `enteredMain` tells a slow model load
        /// (true) from a process that never got going (false).
        case startTimedOut(enteredMain: Bool)
        case exitedBeforeReady(status: Int32)
        /// Exited while serving, without being asked to.
        case crashed(status: Int32)
        /// A health or request deadline passed while serving.
        case unresponsive
        /// In-flight requests did not finish within the drain deadline.
        case drainTimedOut
    }

    public enum Event: Equatable, Sendable {
        case spawned(pid: Int32)
        /// The worker reported that its `main` started (a cold-start phase).
        case enteredMain
        /// The worker answered on its socket.
        case becameReady
        case requestStarted
        case requestFinished
        /// Scale-down or shutdown picked this worker.
        case drain
        /// `waitpid` reported the process gone.
        case exited(status: Int32)
        /// The deadline of the current state passed (spawn, cold start, health, drain).
        case timedOut
    }

    public enum Action: Equatable, Sendable {
        case none
        /// Add to the router's ready set.
        case markReady
        /// Leave the ready set; requests in flight may finish.
        case stopRouting
        /// Nothing in flight and draining: leave the ready set and ask the process to exit (SIGTERM).
        case reapIdle
        /// Leave the ready set and SIGKILL; `inFlight` requests are lost and must be answered.
        case killProcess(inFlight: Int)
        /// This worker cannot take the request: route it to another (or queue it).
        case retryRequestElsewhere
        /// The process is gone: forget the worker; `inFlight` requests were lost with it.
        case removeWorker(inFlight: Int)
    }

    /// An event that makes no sense in the current state: a bug in the caller or a confused
    /// worker. The state is left as it was; the caller logs it and carries on.
    public struct IllegalTransition: Error, Equatable, Sendable, CustomStringConvertible {
        public var state: State
        public var event: Event
        public var description: String { "worker lifecycle: \(event) is illegal in state \(state)" }
    }

    public internal(set) var state: State = .spawning

    public init() {}

    /// Whether the router may send this worker requests.
    public var isReady: Bool {
        if case .ready = state { return true }
        return false
    }
}
