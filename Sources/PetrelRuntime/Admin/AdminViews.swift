import Foundation
import PetrelRegistry

/// The JSON of the admin API and of the CLI's `--json`, one shape whether the CLI asked a
/// running server or read the registry itself (then without workers and cold starts).
public struct FunctionView: Codable, Sendable {
    public var name: String
    public var created: Date
    public var revisions: [RevisionView]
    public var traffic: [TrafficTarget]
    public var tags: [String: String]

    public init(_ state: FunctionState, runtime: [String: RevisionRuntime] = [:]) {
        name = state.name
        created = state.createdAt
        traffic = state.traffic
        tags = state.tags
        revisions = state.revisions.map { r in
            let config = try? Deployer.config(of: r)
            return RevisionView(id: r.id, number: r.number, created: r.createdAt, modelSha256: r.modelSHA256,
                                artifact: r.artifactDigest, source: r.source, auth: config?.auth.rawValue ?? "public",
                                percent: state.traffic.first { $0.revision == r.id }?.percent ?? 0,
                                tags: state.tags.filter { $0.value == r.id }.map(\.key).sorted(), runtime: runtime[r.id])
        }
    }
}

public struct RevisionView: Codable, Sendable {
    public var id: String
    public var number: Int
    public var created: Date
    public var modelSha256: String
    public var artifact: String
    public var source: String
    public var auth: String
    public var percent: Int
    public var tags: [String]
    /// Only from a running server.
    public var runtime: RevisionRuntime?
}

/// A revision's workers and cold starts, as a running server sees them.
public struct RevisionRuntime: Codable, Sendable {
    public var workers: [String: Int]
    public var queued: Int
    public var desired: Int?
    public var panicking: Bool
    /// Phase → count, p50_ms, p90_ms, p99_ms, max_ms.
    public var coldStarts: [String: [String: Double]]
}

public struct KeyView: Codable, Sendable {
    public var id: String
    public var name: String
    /// "admin", "*" (every function) or the functions it may invoke.
    public var scope: String
    public var created: Date
    public var revoked: Date?
    /// Only in the answer to a create: the key itself, shown once.
    public var key: String?

    public init(_ r: APIKeyRecord, key: String? = nil) {
        id = r.id; name = r.name; created = r.createdAt; revoked = r.revokedAt; self.key = key
        switch r.scope {
        case .admin: scope = "admin"
        case .functions(let fs): scope = fs.isEmpty ? "*" : fs.joined(separator: ",")
        }
    }
}

public struct DeployView: Codable, Sendable {
    public var revision: String
    /// The same function.yaml and model were deployed before: that revision was reused.
    public var reused: Bool
    public var function: FunctionView
    public init(revision: String, reused: Bool, function: FunctionView) { self.revision = revision; self.reused = reused; self.function = function }
}

/// Requests of the admin API.
public struct DeployRequest: Codable, Sendable {
    public var config: String
    public var modelSha256: String
    public var origin: String
    public var tag: String?
    /// Percent of traffic once ready; nil: none (`--no-traffic`).
    public var traffic: Int?
    public init(config: String, modelSha256: String, origin: String, tag: String?, traffic: Int?) {
        self.config = config; self.modelSha256 = modelSha256; self.origin = origin; self.tag = tag; self.traffic = traffic
    }
}

public struct TrafficRequest: Codable, Sendable {
    public var traffic: [TrafficTarget]
    public init(traffic: [TrafficTarget]) { self.traffic = traffic }
}

public struct RollbackRequest: Codable, Sendable {
    public var to: String?
    public init(to: String?) { self.to = to }
}

public struct TagRequest: Codable, Sendable {
    public var revision: String
    public init(revision: String) { self.revision = revision }
}

public struct KeyRequest: Codable, Sendable {
    public var name: String
    /// "admin", or the functions the key may invoke ([] = all).
    public var admin: Bool
    public var functions: [String]
    public init(name: String, admin: Bool, functions: [String]) { self.name = name; self.admin = admin; self.functions = functions }
}

public struct ErrorView: Codable, Sendable {
    public var error: String
}

public enum AdminJSON {
    public static func encoder() -> JSONEncoder {
        let e = JSONEncoder()
        e.keyEncodingStrategy = .convertToSnakeCase
        e.dateEncodingStrategy = .iso8601
        e.outputFormatting = [.sortedKeys]
        return e
    }
    public static func decoder() -> JSONDecoder {
        let d = JSONDecoder()
        d.keyDecodingStrategy = .convertFromSnakeCase
        d.dateDecodingStrategy = .iso8601
        return d
    }
}
