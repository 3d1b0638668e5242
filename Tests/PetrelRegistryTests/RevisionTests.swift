import Foundation
import Testing
@testable import PetrelRegistry

@Suite struct RevisionTests {
    @Test func revisionsAreNumberedPerFunctionWithKnativeIds() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let a1 = try r.addRevision(function: "digits-mlp", config: "name: digits-mlp\n", modelSHA256: digest("m1"),
                                   artifactDigest: digest("a1"), source: "/work/functions/digits-mlp")
        #expect(a1.id == "digits-mlp-00001" && a1.number == 1 && a1.function == "digits-mlp")
        #expect(a1.config == "name: digits-mlp\n" && a1.modelSHA256 == digest("m1") && a1.artifactDigest == digest("a1"))
        #expect(a1.source == "/work/functions/digits-mlp")
        #expect(abs(a1.createdAt.timeIntervalSinceNow) < 60)
        let a2 = try r.deploy("digits-mlp")
        let b1 = try r.deploy("other")
        #expect(a2.id == "digits-mlp-00002" && a2.number == 2)
        #expect(b1.id == "other-00001")

        let state = try r.state("digits-mlp")
        #expect(state.name == "digits-mlp")
        #expect(state.revisions == [a1, a2])     // as returned, dates included
        #expect(state.traffic.isEmpty)          // adding never routes
        #expect(state.tags.isEmpty)
        #expect(state.createdAt == a1.createdAt)
        #expect(try r.functionNames() == ["digits-mlp", "other"])
        #expect(try r.allFunctions().map(\.name) == ["digits-mlp", "other"])
        #expect(try r.function("missing") == nil)
    }

    @Test func addingARevisionLeavesTrafficAlone() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f")
        _ = try r.setTraffic("f", split("1:100"))
        try r.deploy("f")
        #expect(try r.state("f").traffic == split("f-00001:100"))
    }

    @Test func findRevisionMatchesConfigAndModelExactly() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let first = try r.addRevision(function: "f", config: "c", modelSHA256: digest("m"), artifactDigest: digest("a"), source: "s")
        _ = try r.addRevision(function: "f", config: "c", modelSHA256: digest("m"), artifactDigest: digest("a"), source: "s")
        _ = try r.addRevision(function: "f", config: "c2", modelSHA256: digest("m"), artifactDigest: digest("a"), source: "s")
        #expect(try r.findRevision(function: "f", config: "c", modelSHA256: digest("m")) == first)  // the oldest
        #expect(try r.findRevision(function: "f", config: "c2", modelSHA256: digest("m"))?.number == 3)
        #expect(try r.findRevision(function: "f", config: "c ", modelSHA256: digest("m")) == nil)
        #expect(try r.findRevision(function: "f", config: "c", modelSHA256: digest("other")) == nil)
        #expect(try r.findRevision(function: "g", config: "c", modelSHA256: digest("m")) == nil)
    }

    @Test func numbersAreNeverReusedAcrossDeleteAndRedeploy() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("f"); try r.deploy("f")
        _ = try r.deleteFunction("f")
        let again = try r.deploy("f")
        #expect(again.number == 3 && again.id == "f-00003")
        #expect(try r.state("f").revisions == [again])
        #expect(try r.state("f").createdAt == again.createdAt)   // a new life
        #expect(try Registry(path: dir.registryPath).deploy("f").number == 4)
    }

    @Test func idsPadToFiveDigitsAndGrowBeyond() {
        #expect(RevisionRecord.id(function: "m", number: 2) == "m-00002")
        #expect(RevisionRecord.id(function: "m", number: 99999) == "m-99999")
        #expect(RevisionRecord.id(function: "m", number: 123456) == "m-123456")
    }

    @Test func badNamesAndDigestsAreRefused() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let rule = "it must be a DNS label (lower-case letters, digits and '-', 1–63 characters, not starting or ending with '-')"
        for name in ["", "Digits", "a_b", "-a", "a-", "a/b", String(repeating: "a", count: 64)] {
            #expect(throws: RegistryError(.invalid, "function name '\(name)' is not valid: \(rule)")) {
                try r.addRevision(function: name, config: "", modelSHA256: digest("m"), artifactDigest: digest("a"), source: "")
            }
        }
        #expect(throws: RegistryError(.invalid, "artifact digest '../../etc' of function 'f' is not valid: it must be lower-case hex")) {
            try r.addRevision(function: "f", config: "", modelSHA256: digest("m"), artifactDigest: "../../etc", source: "")
        }
        #expect(throws: RegistryError(.invalid, "model SHA-256 'ABCD' of function 'f' is not valid: it must be lower-case hex")) {
            try r.addRevision(function: "f", config: "", modelSHA256: "ABCD", artifactDigest: digest("a"), source: "")
        }
        #expect(try r.functionNames().isEmpty)
        _ = try r.addRevision(function: String(repeating: "a", count: 63), config: "", modelSHA256: digest("m"),
                              artifactDigest: digest("a"), source: "")
    }

    @Test func versionStringsResolveTagThenNumberThenId() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let v1 = try r.deploy("m"), v2 = try r.deploy("m"), v3 = try r.deploy("m")
        _ = try r.setTag("m", tag: "canary", revision: "3")
        let s = try r.state("m")
        #expect(s.revision(named: "canary") == v3)
        #expect(s.revision(named: "2") == v2)
        #expect(s.revision(named: "002") == v2)
        #expect(s.revision(named: "m-00001") == v1)
        #expect(s.revision(named: "4") == nil)
        #expect(s.revision(named: "m-00004") == nil)
        #expect(s.revision(named: "stable") == nil)
        #expect(s.revision(named: "") == nil)
        #expect(s.revision(named: "99999999999999999999999") == nil)

        // A tag wins over everything (built by hand: the registry refuses such tag names).
        var crafted = s
        crafted.tags = ["2": v1.id, "m-00003": v1.id]
        #expect(crafted.revision(named: "2") == v1)
        #expect(crafted.revision(named: "m-00003") == v1)
    }

    @Test func versionsDescriptionListsRevisionsAndTags() throws {
        let dir = try TempDir()
        let r = try dir.open()
        try r.deploy("x")
        #expect(try r.state("x").versionsDescription == "revisions: x-00001")
        try r.deploy("x")
        _ = try r.setTag("x", tag: "stable", revision: "1")
        _ = try r.setTag("x", tag: "canary", revision: "2")
        #expect(try r.state("x").versionsDescription == "revisions: x-00001, x-00002; tags: canary, stable")
        #expect(FunctionState(name: "y", createdAt: Date(), revisions: [], traffic: [], tags: [:]).versionsDescription == "no revisions")
    }
}
