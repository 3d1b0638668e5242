import Foundation
import Testing
@testable import PetrelRegistry

@Suite struct TagTests {
    @Test func tagsPointMoveAndGo() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f"); try r.deploy("f")
        #expect(try r.setTag("f", tag: "stable", revision: "1").tags == ["stable": "f-00001"])
        #expect(try r.setTag("f", tag: "canary", revision: "f-00002").tags == ["stable": "f-00001", "canary": "f-00002"])
        // Moving: by any version form, including another tag.
        #expect(try r.setTag("f", tag: "stable", revision: "canary").tags == ["stable": "f-00002", "canary": "f-00002"])
        #expect(try r.setTag("f", tag: "canary", revision: nil).tags == ["stable": "f-00002"])
        #expect(try r.state("f").tags == ["stable": "f-00002"])
        #expect(try r.state("f").revision(named: "stable")?.number == 2)
        #expect(throws: RegistryError(.notFound, "function 'f' has no tag 'canary' (tags: stable)")) {
            try r.setTag("f", tag: "canary", revision: nil)
        }
        _ = try r.setTag("f", tag: "stable", revision: nil)
        #expect(throws: RegistryError(.notFound, "function 'f' has no tag 'stable' (it has no tags)")) {
            try r.setTag("f", tag: "stable", revision: nil)
        }
        #expect(throws: RegistryError(.notFound, "function 'f' has no revision '3' (revisions: f-00001, f-00002)")) {
            try r.setTag("f", tag: "next", revision: "3")
        }
        #expect(throws: RegistryError(.notFound, "function 'g' does not exist")) {
            try r.setTag("g", tag: "next", revision: "1")
        }
    }

    @Test func tagNamesMustBeDNSLabelsAndNotAddressRevisions() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f")
        let dns = "it must be a DNS label (lower-case letters, digits and '-', 1–63 characters, not starting or ending with '-')"
        for bad in ["", "Canary", "-a", "a-", "a_b", "a.b", "ça", String(repeating: "t", count: 64)] {
            #expect(throws: RegistryError(.invalid, "tag '\(bad)' is not valid: \(dns)")) {
                try r.setTag("f", tag: bad, revision: "1")
            }
        }
        // A numeric tag is a model repository's version number: it wins over revision numbers.
        try r.deploy("f")
        _ = try r.setTag("f", tag: "2", revision: "1")
        #expect(try r.state("f").revision(named: "2")?.number == 1)
        _ = try r.setTag("f", tag: "2", revision: nil)
        #expect(throws: RegistryError(.invalid, "tag '00001' is not valid: a numeric tag is a version number, written without leading zeros")) {
            try r.setTag("f", tag: "00001", revision: "1")
        }
        #expect(throws: RegistryError(.invalid, "tag 'f-00002' is not valid: 'f-<digits>' addresses revision ids")) {
            try r.setTag("f", tag: "f-00002", revision: "1")
        }
        #expect(try r.state("f").tags.isEmpty)
        // Allowed: digits with letters, a 63-char label, another function's id shape.
        for good in ["v2", "2a", "g-00001", "f-canary", String(repeating: "t", count: 63)] {
            _ = try r.setTag("f", tag: good, revision: "1")
        }
        #expect(try r.state("f").tags.count == 5)
    }

    @Test func trafficAndTagsAddressTheSameRevisions() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f"); try r.deploy("f")
        _ = try r.setTag("f", tag: "canary", revision: "2")
        #expect(try r.shiftTraffic("f", to: "canary", percent: 100).traffic == split("f-00002:100"))
        // Moving the tag afterwards does not move traffic: the split holds ids.
        _ = try r.setTag("f", tag: "canary", revision: "1")
        #expect(try r.state("f").traffic == split("f-00002:100"))
    }
}

@Suite struct DeleteTests {
    @Test func deleteTombstonesAndReturnsTheLastState() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f", "1"); try r.deploy("f", "2"); try r.deploy("keep", "k")
        _ = try r.setTraffic("f", split("1:100"))
        _ = try r.shiftTraffic("f", to: "2", percent: 20)
        _ = try r.setTag("f", tag: "canary", revision: "2")
        let before = try r.state("f")
        #expect(try r.deleteFunction("f") == before)

        #expect(try r.function("f") == nil)
        #expect(try r.functionNames() == ["keep"])
        #expect(try r.allFunctions().map(\.name) == ["keep"])
        #expect(try r.wasDeleted("f"))
        #expect(try !r.wasDeleted("keep"))
        #expect(try !r.wasDeleted("never"))
        for table in ["revision", "traffic", "tag", "traffic_history"] {
            #expect(try r.rawRows("SELECT * FROM \(table) WHERE function = 'f'").isEmpty, "\(table)")
        }
        #expect(try r.findRevision(function: "f", config: before.revisions[0].config, modelSHA256: before.revisions[0].modelSHA256) == nil)

        #expect(throws: RegistryError(.notFound, "function 'f' does not exist (it was deleted)")) { try r.deleteFunction("f") }
        #expect(throws: RegistryError(.notFound, "function 'f' does not exist (it was deleted)")) {
            try r.setTraffic("f", split("1:100"))
        }
        #expect(throws: RegistryError(.notFound, "function 'never' does not exist")) { try r.deleteFunction("never") }

        // Re-deploying clears the tombstone; the old life's traffic, tags and history stay gone.
        let again = try r.deploy("f", "3")
        #expect(try !r.wasDeleted("f"))
        #expect(try r.functionNames() == ["f", "keep"])
        let s = try r.state("f")
        #expect(s.revisions == [again] && s.traffic.isEmpty && s.tags.isEmpty)
        #expect(throws: RegistryError(.conflict, "function 'f' has no earlier traffic to roll back to")) {
            try r.rollback("f", to: nil)
        }
    }

    @Test func referencedDigestsAreThoseOfLiveRevisions() throws {
        let dir = try TempDir()
        let r = try dir.open()
        #expect(try r.referencedArtifactDigests().isEmpty)
        let a = try r.deploy("a", "1"), b = try r.deploy("b", "2")
        // Two revisions sharing one artifact count it once.
        _ = try r.addRevision(function: "a", config: "other", modelSHA256: a.modelSHA256, artifactDigest: a.artifactDigest, source: "")
        #expect(try r.referencedArtifactDigests() == [a.artifactDigest, b.artifactDigest])
        #expect(try r.referencedModelSHA256s() == [a.modelSHA256, b.modelSHA256])
        let deleted = try r.deleteFunction("b")
        #expect(deleted.revisions.map(\.artifactDigest) == [b.artifactDigest])   // what the caller may collect
        #expect(try r.referencedArtifactDigests() == [a.artifactDigest])
        #expect(try r.referencedModelSHA256s() == [a.modelSHA256])
    }
}
