extension Autoscaler {
    /// Knative's `Scale(logger, now)`, then its scale-to-zero rule and `applyBounds`.
    ///
    /// - Parameter readyWorkers: workers answering requests now (not those still starting).
    public mutating func decide(now: MonotonicTime, readyWorkers: Int) -> ScaleDecision {
        guard !window.isEmpty(now: now) else { return .invalid(readyWorkers: readyWorkers) }
        let c = config
        let stable = window.average(over: c.stableWindow, now: now)
        let panic = window.average(over: c.panicWindow, now: now)
        // With no worker every ratio below would divide by zero; knative counts one.
        let ready = Double(max(1, readyWorkers))

        // One step grows to at most maxScaleUpRate × ready, rounded up so that a cautious rate
        // still adds a worker. E.g. MSUR=1.1, ready 2, observed 3, target 1 => 3 wanted,
        // 2 × 1.1 = 2.2 would keep 2 forever; ceil gives 3.
        let maxUp = (c.maxScaleUpRate * ready).rounded(.up)
        // One step shrinks to no fewer than ready / maxScaleDownRate. E.g. 9 ready, rate 2 => 4.
        let maxDown = (ready / c.maxScaleDownRate).rounded(.down)

        // E.g. observed 30, target 7 => desired ceil(4.29) = 5.
        var dspc = (stable / c.targetConcurrency).rounded(.up)
        let dppc = (panic / c.targetConcurrency).rounded(.up)
        // A request announced by the activator before any observation saw it is demand too.
        if dspc == 0 && stableWindowSawTraffic(now: now) { dspc = 1 }

        var desiredStable = Int(min(max(dspc, maxDown), maxUp))
        var desiredPanic = Int(min(max(dppc, maxDown), maxUp))
        // Waking up with activationScale 3 starts 3, not 1, whenever there is demand at all.
        if c.activationScale > 1 {
            if dspc > 0 { desiredStable = max(desiredStable, c.activationScale) }
            if dppc > 0 { desiredPanic = max(desiredPanic, c.activationScale) }
        }

        // Panic when the last few seconds ask for twice (200 %) the workers we have.
        // E.g. 2 ready, panic average 30, target 7 => 5 / 2 = 2.5 >= 2.0: panic.
        // The stable average lags a burst by up to a minute; panic mode follows the short
        // window instead, and holds until a whole stable window passes without the condition,
        // by which time the burst is in the stable average too.
        if dppc / ready >= c.panicThreshold {
            panicTime = now
        } else if let since = panicTime, now > since + c.stableWindow {
            panicTime = nil
            maxPanicWorkers = 0
        }

        var desired = desiredStable
        if panicTime != nil {
            // The stable demand can exceed the panic one (traffic fell in the last seconds):
            // provision for the larger, and never scale down while panicking.
            desired = max(desiredStable, desiredPanic, maxPanicWorkers)
            maxPanicWorkers = desired
        }

        // Scale down only to the largest count asked for within scaleDownDelay.
        if delayWindow != nil { desired = delayWindow!.record(desired, at: now) }

        // Zero only after the stable window saw no traffic (desired fell to 0) and then stayed
        // empty for the grace period; until then keep one worker. E.g. last traffic at t=100 s,
        // window 60 s, grace 30 s => 1 worker until t=190 s, 0 from then.
        if desired == 0 && readyWorkers > 0 {
            let quietSince = lastTraffic ?? watchingSince ?? now
            if now < quietSince + c.stableWindow + c.scaleToZeroGracePeriod { desired = 1 }
        }

        return ScaleDecision(desired: c.clampToBounds(desired), panicking: panicTime != nil,
                             stableConcurrency: stable, panicConcurrency: panic,
                             excessBurstCapacity: excessBurstCapacity(readyWorkers: readyWorkers, panic: panic))
    }

    /// E.g. 3 ready × 10 − 200 − 12 => -182: a burst of 200 would not fit.
    func excessBurstCapacity(readyWorkers: Int, panic: Double) -> Int {
        switch config.targetBurstCapacity {
        case 0: return 0
        case ..<0: return -1
        default:
            return Int((Double(readyWorkers) * config.totalTarget - config.targetBurstCapacity - panic)
                .rounded(.down))
        }
    }
}
