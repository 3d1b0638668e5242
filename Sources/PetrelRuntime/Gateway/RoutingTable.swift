import PetrelProtocol
import PetrelRegistry

/// A revision the gateway can route to: where its artifact is, what it takes and returns, and
/// how its pool runs.
public struct GatewayRevision: Sendable {
    public var id: String
    public var number: Int
    public var function: String
    public var artifactPath: String
    public var signature: ModelSignature
    public var settings: PoolSettings
    public var auth: FunctionConfig.Auth
}

/// What the gateway serves, rebuilt whole from the registry after every change and swapped in at
/// once, so a request sees either the old routing or the new one, never half of each. Pure: the
/// traffic roll is passed in.
struct RoutingTable: Sendable {
    struct Function: Sendable {
        var state: FunctionState
        /// Revisions loaded for serving, by id.
        var revisions: [String: GatewayRevision]
        /// Metadata without a version describes this one: the largest share of traffic, the
        /// newest on a tie (the newest revision when none has traffic).
        var defaultRevision: String?
        /// A key is required as soon as any revision says `auth: key`: auth guards the function,
        /// so an older public revision, addressed by version or rolled back to, must not open it.
        /// Decided when the table is built, not per request.
        let requiresKey: Bool

        init(state: FunctionState, revisions: [String: GatewayRevision], defaultRevision: String?) {
            self.state = state
            self.revisions = revisions
            self.defaultRevision = defaultRevision
            requiresKey = revisions.values.contains { $0.auth == .key }
        }
    }

    var functions: [String: Function] = [:]

    init(functions: [String: Function] = [:]) { self.functions = functions }

    init(states: [FunctionState], revisions: [String: GatewayRevision]) {
        for state in states {
            var loaded: [String: GatewayRevision] = [:]
            let versions = state.revisions.map { String($0.number) }
            for r in state.revisions {
                guard var g = revisions[r.id] else { continue }
                // Its own number first: TF Serving's metadata reports the first as "the" version.
                g.signature.versions = [String(r.number)] + versions.filter { $0 != String(r.number) }
                loaded[r.id] = g
            }
            let byShare = state.traffic.max { a, b in
                a.percent != b.percent ? a.percent < b.percent : (state.revision(named: a.revision)?.number ?? 0) < (state.revision(named: b.revision)?.number ?? 0)
            }
            functions[state.name] = Function(state: state, revisions: loaded,
                                             defaultRevision: byShare?.revision ?? state.revisions.last?.id)
        }
    }

    /// The revision a request names (`version` or TF Serving `label`: a tag, a revision number or
    /// id), or, with neither, the one traffic picks for `roll()` in 0..<100 (called only when the
    /// split has more than one revision: a random draw costs a syscall).
    func resolve(_ name: String, version: String?, label: String? = nil, roll: (() -> Int)?) -> Result<GatewayRevision, ProtocolError> {
        guard let f = functions[name] else { return .failure(.notFound("unknown model '\(name)'")) }
        let id: String?
        if let v = version ?? label {
            if let r = f.state.revision(named: v) { id = r.id }
            else if label == "latest" { id = f.state.revisions.last?.id }
            else if label == "stable" { id = f.defaultRevision }
            else {
                return .failure(.notFound("model '\(name)' has no \(label == nil ? "version" : "version label") '\(v)' (\(f.state.versionsDescription))"))
            }
        } else if let roll {
            // Never routed (every revision deployed with --no-traffic): only versions answer.
            guard !f.state.traffic.isEmpty else {
                return .failure(ProtocolError(.unavailable, "model '\(name)' has no traffic routed yet: address a version, or route it with `petrel traffic`"))
            }
            id = f.state.traffic.count == 1 ? f.state.traffic[0].revision : TrafficMath.pick(f.state.traffic, roll: roll())
        } else {
            id = f.defaultRevision
        }
        guard let id, let rev = f.revisions[id] else {
            return .failure(ProtocolError(.unavailable, "model '\(name)' has no revision ready to serve"))
        }
        return .success(rev)
    }
}
