import Foundation
import PetrelProtocol
import PetrelRegistry
import Testing
@testable import PetrelRuntime

@Suite struct RoutingTableTests {
    func rev(_ n: Int) -> RevisionRecord {
        RevisionRecord(id: String(format: "mlp-%05d", n), function: "mlp", number: n, config: "name: mlp\nmodel: m.onnx\n",
                       modelSHA256: String(repeating: "a", count: 64), artifactDigest: String(repeating: "b", count: 64),
                       source: "/f", createdAt: Date(timeIntervalSince1970: 0))
    }

    func table(traffic: [TrafficTarget], tags: [String: String] = [:], loaded: [Int] = [1, 2, 3], keyed: Set<Int> = []) -> RoutingTable {
        let state = FunctionState(name: "mlp", createdAt: Date(), revisions: [rev(1), rev(2), rev(3)], traffic: traffic, tags: tags)
        var revisions: [String: GatewayRevision] = [:]
        for n in loaded {
            let r = rev(n)
            revisions[r.id] = GatewayRevision(id: r.id, number: n, function: "mlp", artifactPath: "/a/\(n)",
                                              signature: ModelSignature(name: "mlp", inputs: [], outputs: []),
                                              settings: PoolSettings(), auth: keyed.contains(n) ? .key : .public)
        }
        return RoutingTable(states: [state], revisions: revisions)
    }

    func resolved(_ t: RoutingTable, version: String? = nil, label: String? = nil, roll: Int? = nil) -> String {
        switch t.resolve("mlp", version: version, label: label, roll: roll.map { r in { r } }) {
        case .success(let r): r.id
        case .failure(let e): "\(e.code): \(e.message)"
        }
    }

    @Test func trafficSplitsByRoll() {
        let t = table(traffic: [TrafficTarget(revision: "mlp-00001", percent: 90), TrafficTarget(revision: "mlp-00002", percent: 10)])
        let picks = (0..<100).map { resolved(t, roll: $0) }
        #expect(picks.filter { $0 == "mlp-00001" }.count == 90 && picks.filter { $0 == "mlp-00002" }.count == 10)
    }

    @Test func versionsTagsAndIdsAddressOneRevision() {
        let t = table(traffic: [TrafficTarget(revision: "mlp-00001", percent: 100)], tags: ["canary": "mlp-00003", "2": "mlp-00003"])
        #expect(resolved(t, version: "canary", roll: 5) == "mlp-00003")
        #expect(resolved(t, version: "1", roll: 5) == "mlp-00001")
        // A numeric tag (a repository's version folder) wins over the revision of that number.
        #expect(resolved(t, version: "2", roll: 5) == "mlp-00003")
        #expect(resolved(t, version: "mlp-00002", roll: 5) == "mlp-00002")
        #expect(resolved(t, version: "nope").hasPrefix("notFound: model 'mlp' has no version 'nope' (revisions: mlp-00001, mlp-00002, mlp-00003"))
        #expect(resolved(t, label: "canary") == "mlp-00003")
        #expect(resolved(t, label: "latest") == "mlp-00003")
        #expect(resolved(t, label: "stable") == "mlp-00001")
        #expect(resolved(t, label: "beta").hasPrefix("notFound: model 'mlp' has no version label 'beta'"))
        #expect(resolved(t, version: "x") .hasPrefix("notFound"))
    }

    @Test func metadataWithoutVersionDescribesTheLargestShare() {
        let t = table(traffic: [TrafficTarget(revision: "mlp-00001", percent: 50), TrafficTarget(revision: "mlp-00002", percent: 50)])
        #expect(resolved(t) == "mlp-00002")   // a tie goes to the newer
        let sig = t.functions["mlp"]!.revisions["mlp-00002"]!.signature
        #expect(sig.versions == ["2", "1", "3"])   // its own number first (TF Serving reports the first)
    }

    @Test func unknownFunctionAndUnloadedRevision() {
        let t = table(traffic: [TrafficTarget(revision: "mlp-00002", percent: 100)], loaded: [1])
        #expect(resolved(t, roll: 0) == "unavailable: model 'mlp' has no revision ready to serve")
        if case .failure(let e) = t.resolve("nope", version: nil, roll: { 0 }) { #expect(e.code == .notFound) } else { Issue.record("resolved") }
    }

    @Test func oneKeyedRevisionGuardsTheWholeFunction() {
        #expect(table(traffic: [TrafficTarget(revision: "mlp-00001", percent: 100)]).functions["mlp"]!.requiresKey == false)
        // v3 says auth: key while v1 (public) still takes the traffic: v1 is guarded too.
        #expect(table(traffic: [TrafficTarget(revision: "mlp-00001", percent: 100)], keyed: [3]).functions["mlp"]!.requiresKey)
    }

    @Test func neverRoutedAnswersOnlyVersions() {
        let t = table(traffic: [])
        #expect(resolved(t, roll: 1) == "unavailable: model 'mlp' has no traffic routed yet: address a version, or route it with `petrel traffic`")
        #expect(resolved(t, version: "2", roll: 1) == "mlp-00002")
        #expect(resolved(t) == "mlp-00003")   // metadata describes the newest
    }
}
