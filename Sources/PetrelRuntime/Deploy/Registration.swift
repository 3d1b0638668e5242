import Foundation
import PetrelRegistry

/// Registering a prepared revision, shared by the admin API and the offline CLI: the same
/// function.yaml and model deployed again reuse their revision (as Knative makes no new revision
/// for an unchanged spec); a tag moves to it.
public enum Registration {
    public static func addOrReuse(_ p: PreparedRevision, function: String, registry: Registry) throws -> (revision: RevisionRecord, reused: Bool) {
        // A tag that cannot be set must refuse the deploy before a revision is registered.
        if let tag = p.tag, let problem = Registry.tagProblem(tag, function: function) { throw problem }
        var rev: RevisionRecord
        var reused = true
        if let existing = try registry.findRevision(function: function, config: p.configText, modelSHA256: p.modelSHA256) {
            rev = existing
        } else {
            rev = try registry.addRevision(function: function, config: p.configText, modelSHA256: p.modelSHA256,
                                           artifactDigest: p.artifactDigest, source: p.origin)
            reused = false
        }
        if let tag = p.tag { _ = try registry.setTag(function, tag: tag, revision: rev.id) }
        return (rev, reused)
    }

    /// Offline (no server runs): registers and routes at once; there is no worker to wait for.
    public static func deployOffline(_ p: PreparedRevision, function: String, registry: Registry, traffic: Int?) throws
        -> (revision: RevisionRecord, state: FunctionState, reused: Bool) {
        let (rev, reused) = try addOrReuse(p, function: function, registry: registry)
        var state = try registry.function(function)!
        if let traffic { state = try registry.shiftTraffic(function, to: rev.id, percent: traffic) }
        return (rev, state, reused)
    }
}
