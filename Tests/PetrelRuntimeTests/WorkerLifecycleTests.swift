import Testing
@testable import PetrelRuntime

@Suite struct WorkerLifecycleTests {
    typealias W = WorkerLifecycle

    /// A machine driven through `events`, which must all be legal.
    func machine(_ events: [W.Event]) throws -> W {
        var m = W()
        for e in events { _ = try m.handle(e) }
        return m
    }

    /// Applies `event`, checking the action returned and the state reached.
    func step(_ m: inout W, _ event: W.Event, _ action: W.Action, _ state: W.State,
              sourceLocation: SourceLocation = #_sourceLocation) throws {
        #expect(try m.handle(event) == action, sourceLocation: sourceLocation)
        #expect(m.state == state, sourceLocation: sourceLocation)
    }

    @Test func wholeLifeWithRequestsAndADrainThatWaitsForThem() throws {
        var m = W()
        #expect(m.state == .spawning && !m.isReady)
        try step(&m, .spawned(pid: 42), .none, .starting(pid: 42, enteredMain: false))
        try step(&m, .enteredMain, .none, .starting(pid: 42, enteredMain: true))
        try step(&m, .becameReady, .markReady, .ready(pid: 42, inFlight: 0))
        #expect(m.isReady)
        try step(&m, .requestStarted, .none, .ready(pid: 42, inFlight: 1))
        try step(&m, .requestStarted, .none, .ready(pid: 42, inFlight: 2))
        try step(&m, .requestFinished, .none, .ready(pid: 42, inFlight: 1))
        try step(&m, .requestStarted, .none, .ready(pid: 42, inFlight: 2))
        try step(&m, .drain, .stopRouting, .draining(pid: 42, inFlight: 2))
        #expect(!m.isReady)
        try step(&m, .requestStarted, .retryRequestElsewhere, .draining(pid: 42, inFlight: 2))
        try step(&m, .drain, .none, .draining(pid: 42, inFlight: 2))
        try step(&m, .requestFinished, .none, .draining(pid: 42, inFlight: 1))
        try step(&m, .requestFinished, .reapIdle, .draining(pid: 42, inFlight: 0))
        try step(&m, .exited(status: 0), .removeWorker(inFlight: 0), .exited(status: 0))
        try step(&m, .requestStarted, .retryRequestElsewhere, .exited(status: 0))
    }

    @Test func drainsAtEveryStage() throws {
        var idle = try machine([.spawned(pid: 1), .becameReady])
        try step(&idle, .drain, .reapIdle, .draining(pid: 1, inFlight: 0))
        var starting = try machine([.spawned(pid: 2), .enteredMain])
        try step(&starting, .drain, .reapIdle, .draining(pid: 2, inFlight: 0))
        try step(&starting, .becameReady, .none, .draining(pid: 2, inFlight: 0))  // too late to serve
        // Drained before posix_spawn returned: stop the process as soon as there is a pid.
        var spawning = W()
        try step(&spawning, .drain, .none, .draining(pid: nil, inFlight: 0))
        try step(&spawning, .spawned(pid: 3), .reapIdle, .draining(pid: 3, inFlight: 0))
        try step(&spawning, .exited(status: 0), .removeWorker(inFlight: 0), .exited(status: 0))
    }

    @Test func failuresKillOrForgetAndAbsorbTheLaterReap() throws {
        var spawn = W()
        try step(&spawn, .timedOut, .removeWorker(inFlight: 0), .failed(.spawnTimedOut))
        var noExec = W()
        try step(&noExec, .exited(status: 127), .removeWorker(inFlight: 0), .failed(.exitedBeforeReady(status: 127)))
        var hung = try machine([.spawned(pid: 4)])
        try step(&hung, .timedOut, .killProcess(inFlight: 0), .failed(.startTimedOut(enteredMain: false)))
        try step(&hung, .exited(status: 137), .none, .failed(.startTimedOut(enteredMain: false)))
        var slowLoad = try machine([.spawned(pid: 5), .enteredMain])
        try step(&slowLoad, .timedOut, .killProcess(inFlight: 0), .failed(.startTimedOut(enteredMain: true)))
        var badModel = try machine([.spawned(pid: 6), .enteredMain])
        try step(&badModel, .exited(status: 1), .removeWorker(inFlight: 0), .failed(.exitedBeforeReady(status: 1)))
        var crash = try machine([.spawned(pid: 7), .becameReady, .requestStarted, .requestStarted, .requestStarted])
        try step(&crash, .exited(status: 139), .removeWorker(inFlight: 3), .failed(.crashed(status: 139)))
        try step(&crash, .requestStarted, .retryRequestElsewhere, .failed(.crashed(status: 139)))
        var stuck = try machine([.spawned(pid: 8), .becameReady, .requestStarted, .requestStarted])
        try step(&stuck, .timedOut, .killProcess(inFlight: 2), .failed(.unresponsive))
        var slowDrain = try machine([.spawned(pid: 9), .becameReady, .requestStarted, .drain])
        try step(&slowDrain, .timedOut, .killProcess(inFlight: 1), .failed(.drainTimedOut))
        try step(&slowDrain, .exited(status: 137), .none, .failed(.drainTimedOut))
    }

    @Test func requestsReachingAWorkerThatCannotServeGoElsewhere() throws {
        for events: [W.Event] in [[], [.spawned(pid: 1)], [.spawned(pid: 1), .enteredMain]] {
            var m = try machine(events)
            let before = m.state
            try step(&m, .requestStarted, .retryRequestElsewhere, before)
        }
    }

    @Test func illegalEventsAreReportedAndChangeNothing() throws {
        let ready: [W.Event] = [.spawned(pid: 1), .becameReady]
        let cases: [([W.Event], W.Event)] = [
            ([], .becameReady), ([], .enteredMain), ([], .requestFinished),
            ([.spawned(pid: 1)], .spawned(pid: 2)), ([.spawned(pid: 1)], .requestFinished),
            ([.spawned(pid: 1), .enteredMain], .enteredMain),
            (ready, .requestFinished), (ready, .becameReady), (ready, .enteredMain), (ready, .spawned(pid: 2)),
            (ready + [.drain], .requestFinished), (ready + [.drain], .spawned(pid: 2)),
            (ready + [.drain, .exited(status: 0)], .drain), (ready + [.drain, .exited(status: 0)], .exited(status: 0)),
            (ready + [.drain, .exited(status: 0)], .timedOut),
            (ready + [.timedOut], .becameReady), (ready + [.timedOut], .drain), (ready + [.timedOut], .timedOut),
        ]
        for (events, event) in cases {
            var m = try machine(events)
            let before = m.state
            #expect(throws: W.IllegalTransition(state: before, event: event)) { try m.handle(event) }
            #expect(m.state == before)
        }
        var m = try machine(ready)
        #expect(throws: W.IllegalTransition.self) { try m.handle(.requestFinished) }
        let error = W.IllegalTransition(state: .ready(pid: 1, inFlight: 0), event: .requestFinished)
        #expect(error.description == "worker lifecycle: requestFinished is illegal in state ready(pid: 1, inFlight: 0)")
    }
}
