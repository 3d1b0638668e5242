import Foundation
import GRDB
import Testing
@testable import PetrelRegistry

@Suite struct TrafficTests {
    /// "f" with `n` revisions.
    func registry(_ dir: TempDir, revisions n: Int) throws -> Registry {
        let r = try dir.open()
        for _ in 0..<n { try r.deploy("f") }
        return r
    }

    @Test func setTrafficAcceptsEveryVersionFormAndStoresIds() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 3)
        _ = try r.setTag("f", tag: "canary", revision: "3")
        let s = try r.setTraffic("f", split("canary:10 f-00001:60 2:30"))
        #expect(s.traffic == split("f-00001:60 f-00002:30 f-00003:10"))   // ascending number
        #expect(try r.state("f") == s)
        // Shares of 0 are accepted and dropped.
        #expect(try r.setTraffic("f", split("1:0 2:100")).traffic == split("f-00002:100"))
    }

    @Test func setTrafficValidationNamesTheProblem() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 2)
        _ = try r.setTag("f", tag: "canary", revision: "2")
        #expect(throws: RegistryError(.invalid, "function 'f': traffic sums to 90 %; it must sum to 100 %")) {
            try r.setTraffic("f", split("1:50 2:40"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic sums to 110 %; it must sum to 100 %")) {
            try r.setTraffic("f", split("1:60 2:50"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic sums to 0 %; it must sum to 100 %")) {
            try r.setTraffic("f", [])
        }
        #expect(throws: RegistryError(.notFound, "function 'f' has no revision 'f-00007' (revisions: f-00001, f-00002; tags: canary)")) {
            try r.setTraffic("f", split("1:50 f-00007:50"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic names revision 'f-00001' twice")) {
            try r.setTraffic("f", split("1:50 1:50"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic names revision 'f-00002' twice (as 'canary' and '2')")) {
            try r.setTraffic("f", split("canary:50 2:50"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic for revision '2' is -10 %; it must be 0...100")) {
            try r.setTraffic("f", split("2:-10 1:110"))
        }
        #expect(throws: RegistryError(.invalid, "function 'f': traffic for revision '1' is 101 %; it must be 0...100")) {
            try r.setTraffic("f", split("1:101"))
        }
        #expect(throws: RegistryError(.notFound, "function 'g' does not exist")) {
            try r.setTraffic("g", split("1:100"))
        }
        #expect(try r.state("f").traffic.isEmpty)
        #expect(try r.rawRows("SELECT * FROM traffic_history").isEmpty)
    }

    @Test func aFailedWriteLeavesThePreviousState() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 2)
        _ = try r.setTraffic("f", split("1:100"))
        let before = try r.state("f")
        // A valid target, then an invalid one: nothing of it is kept.
        #expect(throws: RegistryError.self) { try r.setTraffic("f", split("2:50 9:50")) }
        #expect(try r.state("f") == before)
        #expect(try r.rawRows("SELECT * FROM traffic_history").isEmpty)

        // A transaction that has already written when it throws is rolled back whole.
        struct Crash: Error {}
        #expect(throws: Crash.self) {
            try r.write { db in
                try SQL.pushHistory(db, "f", before.traffic, at: Date(), limit: 10)
                try SQL.replaceTraffic(db, "f", split("f-00002:100"))
                try SQL.setTag(db, "f", "canary", "f-00002")
                throw Crash()
            }
        }
        #expect(try r.state("f") == before)
        #expect(try Registry(path: dir.registryPath).state("f") == before)
        #expect(try r.rawRows("SELECT * FROM traffic_history").isEmpty)
        #expect(throws: RegistryError(.conflict, "function 'f' has no earlier traffic to roll back to")) {
            try r.rollback("f", to: nil)
        }
    }

    @Test func theSchemaRefusesWhatTheAPIRefuses() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 1)
        // A second line of defence: foreign keys and checks, should a bug bypass validation.
        #expect(throws: DatabaseError.self) { try r.write { try SQL.replaceTraffic($0, "f", split("g-00001:100")) } }
        #expect(throws: DatabaseError.self) { try r.write { try SQL.replaceTraffic($0, "f", split("f-00001:101")) } }
        #expect(throws: DatabaseError.self) { try r.write { try SQL.setTag($0, "f", "t", "f-00009") } }
    }

    @Test func shiftScalesTheOthersWithLargestRemainder() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 4)
        _ = try r.setTraffic("f", split("1:50 2:30 3:20"))
        #expect(try r.shiftTraffic("f", to: "4", percent: 10).traffic == split("f-00001:45 f-00002:27 f-00003:18 f-00004:10"))
        // 45/27/18 into 67: 33.5/20.1/13.4 → 33/20/13 + 1 to the largest remainder (.5).
        #expect(try r.shiftTraffic("f", to: "f-00004", percent: 33).traffic == split("f-00001:34 f-00002:20 f-00003:13 f-00004:33"))
        // To 0: gone from the split, the others fill it.
        #expect(try r.shiftTraffic("f", to: "4", percent: 0).traffic == split("f-00001:51 f-00002:30 f-00003:19"))
        // To 100: the others are dropped.
        #expect(try r.shiftTraffic("f", to: "2", percent: 100).traffic == split("f-00002:100"))
        // Nothing else has traffic: the shifted one takes 100 whatever was asked.
        #expect(try r.shiftTraffic("f", to: "2", percent: 30).traffic == split("f-00002:100"))
        #expect(try r.state("f").traffic == split("f-00002:100"))
    }

    @Test func shiftOnAnUnroutedFunctionGivesItAll() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 1)
        #expect(try r.shiftTraffic("f", to: "1", percent: 10).traffic == split("f-00001:100"))
        #expect(try r.rawRows("SELECT * FROM traffic_history").isEmpty)   // nothing to remember
    }

    @Test func shiftValidation() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 1)
        #expect(throws: RegistryError(.invalid, "function 'f': traffic for revision '1' is 101 %; it must be 0...100")) {
            try r.shiftTraffic("f", to: "1", percent: 101)
        }
        #expect(throws: RegistryError(.notFound, "function 'f' has no revision 'next' (revisions: f-00001)")) {
            try r.shiftTraffic("f", to: "next", percent: 10)
        }
    }

    @Test func rollbackWalksTheHistoryBack() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f")
        _ = try r.setTraffic("f", split("1:100"))
        try r.deploy("f")
        #expect(try r.shiftTraffic("f", to: "2", percent: 10).traffic == split("f-00001:90 f-00002:10"))
        #expect(try r.rollback("f", to: nil).traffic == split("f-00001:100"))
        #expect(try r.state("f").traffic == split("f-00001:100"))
        #expect(throws: RegistryError(.conflict, "function 'f' has no earlier traffic to roll back to")) {
            try r.rollback("f", to: nil)
        }
    }

    @Test func rollbackWalksSeveralStepsAndToARevision() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 3)
        _ = try r.setTraffic("f", split("1:100"))
        _ = try r.shiftTraffic("f", to: "2", percent: 50)
        _ = try r.shiftTraffic("f", to: "3", percent: 20)
        // Rolling back to a revision is a change like any other: it is pushed.
        #expect(try r.rollback("f", to: "1").traffic == split("f-00001:100"))
        #expect(try r.rollback("f", to: nil).traffic == split("f-00001:40 f-00002:40 f-00003:20"))
        #expect(try r.rollback("f", to: nil).traffic == split("f-00001:50 f-00002:50"))
        #expect(try r.rollback("f", to: nil).traffic == split("f-00001:100"))
        #expect(throws: RegistryError.self) { try r.rollback("f", to: nil) }
        #expect(throws: RegistryError(.notFound, "function 'f' has no revision '7' (revisions: f-00001, f-00002, f-00003)")) {
            try r.rollback("f", to: "7")
        }
    }

    @Test func settingTheSameSplitDoesNotPushHistory() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 2)
        _ = try r.setTraffic("f", split("1:100"))
        _ = try r.setTraffic("f", split("2:100"))
        _ = try r.setTraffic("f", split("f-00002:100"))
        _ = try r.rollback("f", to: "2")
        #expect(try r.rollback("f", to: nil).traffic == split("f-00001:100"))
    }

    @Test func historyIsBounded() throws {
        let dir = try TempDir()
        let r = try registry(dir, revisions: 2)
        _ = try r.setTraffic("f", split("1:100"))
        for i in 1...(Registry.historyLimit + 5) {
            _ = try r.shiftTraffic("f", to: "2", percent: i % 2 == 0 ? 10 : 20)
        }
        #expect(try r.rawRows("SELECT * FROM traffic_history").count == Registry.historyLimit)
    }
}
