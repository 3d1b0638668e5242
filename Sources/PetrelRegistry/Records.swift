import Foundation

/// A registry error the CLI and the admin API show as is: the message names the function, the
/// revision or the key and, where it helps, what exists instead.
public struct RegistryError: Error, CustomStringConvertible, Equatable, Sendable {
    public enum Kind: Sendable {
        /// No such function, revision, tag or key (HTTP 404).
        case notFound
        /// A request that can never succeed as written: bad percent, bad tag name (HTTP 400).
        case invalid
        /// Valid, but the registry's state refuses it: nothing to roll back to (HTTP 409).
        case conflict
    }
    public var kind: Kind
    public var message: String
    public var description: String { message }
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
}

/// One immutable deployment of a function: the config and model it was deployed with and the
/// compiled artifact that serves it. Never changed after insertion; removed only with its function.
public struct RevisionRecord: Codable, Equatable, Sendable {
    /// "<function>-<number zero-padded to 5>" (Knative style), e.g. "digits-mlp-00002".
    public var id: String
    public var function: String
    /// 1, 2, … per function; never reused, even after the function is deleted and re-deployed,
    /// so an id seen in a log always means one deployment.
    public var number: Int
    /// The function.yaml text as deployed.
    public var config: String
    /// Hex SHA-256 of the ONNX bytes.
    public var modelSHA256: String
    /// The compiled artifact's cache key (hex).
    public var artifactDigest: String
    /// Where it was deployed from (a path); informational.
    public var source: String
    public var createdAt: Date

    public init(id: String, function: String, number: Int, config: String, modelSHA256: String,
                artifactDigest: String, source: String, createdAt: Date) {
        self.id = id; self.function = function; self.number = number; self.config = config
        self.modelSHA256 = modelSHA256; self.artifactDigest = artifactDigest; self.source = source
        self.createdAt = createdAt
    }

    /// The id for `number` of `function`. The suffix after the last '-' is all digits and function
    /// names are DNS labels, so an id names exactly one (function, number).
    static func id(function: String, number: Int) -> String {
        let digits = String(number)
        return function + "-" + String(repeating: "0", count: max(0, 5 - digits.count)) + digits
    }
}

/// One share of a function's traffic: `percent` of requests go to `revision` (an id).
public struct TrafficTarget: Codable, Equatable, Sendable {
    public var revision: String
    public var percent: Int
    public init(revision: String, percent: Int) { self.revision = revision; self.percent = percent }
}

/// A live function as the registry holds it, read in one transaction.
public struct FunctionState: Equatable, Sendable {
    public var name: String
    /// When the function was first deployed, or re-deployed after a delete.
    public var createdAt: Date
    /// Ascending number.
    public var revisions: [RevisionRecord]
    /// Only percent > 0, ascending revision number, sums to 100 (or empty if never routed).
    public var traffic: [TrafficTarget]
    /// Tag -> revision id.
    public var tags: [String: String]

    public init(name: String, createdAt: Date, revisions: [RevisionRecord], traffic: [TrafficTarget],
                tags: [String: String]) {
        self.name = name; self.createdAt = createdAt; self.revisions = revisions; self.traffic = traffic
        self.tags = tags
    }

    /// Resolves a version string as a client would write it in /v2/models/{m}/versions/{v}: a tag
    /// first (a numeric tag is a model repository's version number and wins), then a revision
    /// number ("2"), then a revision id ("m-00002"). nil if none.
    public func revision(named v: String) -> RevisionRecord? {
        if let id = tags[v] { return revisions.first { $0.id == id } }
        if !v.isEmpty, v.utf8.allSatisfy({ $0 >= 48 && $0 <= 57 }) {
            guard let n = Int(v) else { return nil }
            return revisions.first { $0.number == n }
        }
        return revisions.first { $0.id == v }
    }

    /// "revisions: x-00001, x-00002; tags: canary" — what exists, for error messages.
    public var versionsDescription: String {
        var s = revisions.isEmpty ? "no revisions" : "revisions: " + revisions.map(\.id).joined(separator: ", ")
        if !tags.isEmpty { s += "; tags: " + tags.keys.sorted().joined(separator: ", ") }
        return s
    }
}

/// What an API key may do.
public enum KeyScope: Equatable, Sendable, Codable {
    /// The admin API and every function.
    case admin
    /// Invoke only these functions; [] = every function (not admin).
    case functions([String])

    public func allows(function: String) -> Bool {
        switch self {
        case .admin: return true
        case .functions(let names): return names.isEmpty || names.contains(function)
        }
    }

    // Stored as {"kind":"admin"} or {"kind":"functions","functions":[...]}: readable in the raw
    // table and stable across Swift versions (the synthesised form has "_0" keys).
    private enum CodingKeys: String, CodingKey { case kind, functions }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        switch try c.decode(String.self, forKey: .kind) {
        case "admin": self = .admin
        case "functions": self = .functions(try c.decode([String].self, forKey: .functions))
        case let other:
            throw DecodingError.dataCorruptedError(forKey: .kind, in: c, debugDescription: "unknown key scope '\(other)'")
        }
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        switch self {
        case .admin: try c.encode("admin", forKey: .kind)
        case .functions(let names):
            try c.encode("functions", forKey: .kind)
            try c.encode(names, forKey: .functions)
        }
    }
}

/// An API key as listed: everything but the secret, which the registry never has.
public struct APIKeyRecord: Codable, Equatable, Sendable {
    /// 12 lower-hex chars, random; public, shown in lists and part of the key itself.
    public var id: String
    public var name: String
    public var scope: KeyScope
    public var createdAt: Date
    public var revokedAt: Date?

    public init(id: String, name: String, scope: KeyScope, createdAt: Date, revokedAt: Date?) {
        self.id = id; self.name = name; self.scope = scope; self.createdAt = createdAt; self.revokedAt = revokedAt
    }
}
