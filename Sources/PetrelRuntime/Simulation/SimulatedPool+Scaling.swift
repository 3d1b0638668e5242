extension SimulatedPool {
    /// `scaleForQueue`: requests wait and no worker has room.
    mutating func scaleForQueue() {
        let want = readyCount == 0 && startingCount == 0
            ? autoscaler.onRequestAtZero(now: MonotonicTime(nanoseconds: now))
            : readyCount + PoolPolicy.wholeWorkersWaiting(queued: queued, containerConcurrency: containerConcurrency)
        let n = PoolPolicy.workersToStart(want: want, ready: readyCount, starting: startingCount,
                                          maxScale: settings.scaling.maxScale)
        for _ in 0..<n { startWorker() }
    }

    /// `startWorker`: counts as running (and in worker-seconds) from now; ready after a cold start.
    mutating func startWorker() {
        nextWorkerID += 1
        workers.append(Worker(id: nextWorkerID, state: .starting, inFlight: 0, readyAt: .max))
        startingCount += 1
        workerStarts += 1
        peakWorkers = max(peakWorkers, workers.count)
        events.push(.workerReady, at: now + settings.coldStart.sample(&rng), worker: nextWorkerID)
    }

    /// `report("ready")` and the connect that follows it.
    mutating func becameReady(worker id: Int32) {
        let w = index(of: id)
        workers[w].state = .ready
        workers[w].readyAt = now
        startingCount -= 1
        readyCount += 1
        pump()
    }

    /// `exited` after a drain (the caller pumps, as `exited` does).
    mutating func exit(_ w: Int) {
        workers.remove(at: w)
    }

    /// `sample`: the average concurrency of the second just ended goes to the autoscaler.
    mutating func sample() {
        let span = Double(max(1, now - sampleStart))
        autoscaler.record(concurrency: concurrencyIntegral / span, at: MonotonicTime(nanoseconds: now))
        concurrencyIntegral = 0
        sampleStart = now
    }

    /// `tick`: act on the autoscaler's decision.
    mutating func tick() {
        let d = autoscaler.decide(now: MonotonicTime(nanoseconds: now), readyWorkers: readyCount)
        if d.panicking { panicTicks += 1 }
        guard d.valid else { return }
        switch PoolPolicy.tickAction(desired: d.desired, ready: readyCount, starting: startingCount, queueEmpty: queued == 0) {
        case .none: break
        case .start(let n): for _ in 0..<n { startWorker() }
        case .drain(let n):
            // The least busy first, as FunctionPool sorts them (ties: start order).
            let ready = workers.filter { $0.state == .ready }.sorted { $0.inFlight < $1.inFlight }
            for victim in ready.prefix(n) {
                let w = index(of: victim.id)
                workers[w].state = .draining
                readyCount -= 1
                if workers[w].inFlight == 0 { exit(w) }
            }
        }
    }
}
