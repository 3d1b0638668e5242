extension WorkerLifecycle {
    /// Applies one event and returns what the pool must do. Illegal events throw and leave the
    /// state unchanged.
    public mutating func handle(_ event: Event) throws(IllegalTransition) -> Action {
        let illegal = IllegalTransition(state: state, event: event)
        switch (state, event) {
        // A request can reach a worker the router has not (or no longer) listed: a race, not a bug.
        case (.spawning, .requestStarted), (.starting, .requestStarted), (.draining, .requestStarted),
             (.exited, .requestStarted), (.failed, .requestStarted):
            return .retryRequestElsewhere

        case (.spawning, .spawned(let pid)):
            state = .starting(pid: pid, enteredMain: false)
            return .none
        case (.spawning, .drain):
            state = .draining(pid: nil, inFlight: 0)
            return .none
        case (.spawning, .timedOut):
            state = .failed(.spawnTimedOut)
            return .removeWorker(inFlight: 0)
        case (.spawning, .exited(let status)):
            state = .failed(.exitedBeforeReady(status: status))
            return .removeWorker(inFlight: 0)

        case (.starting(let pid, false), .enteredMain):
            state = .starting(pid: pid, enteredMain: true)
            return .none
        case (.starting(let pid, _), .becameReady):
            state = .ready(pid: pid, inFlight: 0)
            return .markReady
        case (.starting(let pid, _), .drain):
            state = .draining(pid: pid, inFlight: 0)
            return .reapIdle
        case (.starting(_, let enteredMain), .timedOut):
            state = .failed(.startTimedOut(enteredMain: enteredMain))
            return .killProcess(inFlight: 0)
        case (.starting, .exited(let status)):
            state = .failed(.exitedBeforeReady(status: status))
            return .removeWorker(inFlight: 0)

        case (.ready(let pid, let n), .requestStarted):
            state = .ready(pid: pid, inFlight: n + 1)
            return .none
        case (.ready(let pid, let n), .requestFinished) where n > 0:
            state = .ready(pid: pid, inFlight: n - 1)
            return .none
        case (.ready(let pid, let n), .drain):
            state = .draining(pid: pid, inFlight: n)
            return n == 0 ? .reapIdle : .stopRouting
        case (.ready(_, let n), .timedOut):
            state = .failed(.unresponsive)
            return .killProcess(inFlight: n)
        case (.ready(_, let n), .exited(let status)):
            state = .failed(.crashed(status: status))
            return .removeWorker(inFlight: n)

        // The spawn returned after the drain began: nothing can be in flight, stop it at once.
        case (.draining(nil, 0), .spawned(let pid)):
            state = .draining(pid: pid, inFlight: 0)
            return .reapIdle
        case (.draining(let pid, let n), .requestFinished) where n > 0:
            state = .draining(pid: pid, inFlight: n - 1)
            return n == 1 ? .reapIdle : .none
        case (.draining, .drain), (.draining, .enteredMain), (.draining, .becameReady):
            return .none  // a second SIGTERM, or a worker finishing its start while we drain
        case (.draining(_, let n), .timedOut):
            state = .failed(.drainTimedOut)
            return .killProcess(inFlight: n)
        case (.draining(_, let n), .exited(let status)):
            state = .exited(status: status)
            return .removeWorker(inFlight: n)

        case (.failed, .exited):
            return .none  // the reap after our kill; already removed or about to be
        default:
            throw illegal
        }
    }
}
