import COpenSSL
import Foundation

// API keys: "pk_<id>_<secret>". The id (12 lower-hex chars) is public and locates the key; the
// secret (32 random bytes, base64url without padding) is shown once and never stored. The registry
// keeps a 16-byte random salt and SHA-256(salt || whole key string): a stolen database yields no
// usable key, and the secret has 256 bits so one fast hash is enough (no password stretching).

extension Registry {
    /// Returns the record and the key, shown once: "pk_<id>_<secret>" where secret is 32 bytes from
    /// OpenSSL RAND_bytes, base64url without padding. Only a 16-byte random salt and SHA-256(salt ||
    /// full key string) are stored. A function scope's names must be DNS labels (they need not be
    /// deployed yet); they are stored sorted and without duplicates.
    public func createKey(name: String, scope: KeyScope) throws -> (record: APIKeyRecord, key: String) {
        let name = name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty else { throw RegistryError(.invalid, "an API key needs a name") }
        var scope = scope
        if case .functions(let names) = scope {
            for f in names {
                if let why = Names.dnsLabelProblem(f) {
                    throw RegistryError(.invalid, "API key '\(name)': function name '\(f)' is not valid: \(why)")
                }
            }
            scope = .functions(Array(Set(names)).sorted())
        }
        return try write { db in
            var id: String
            repeat { id = KeyFormat.hex(KeyFormat.randomBytes(KeyFormat.idBytes)) } while try SQL.keyExists(db, id)
            let key = KeyFormat.prefix + id + "_" + KeyFormat.base64url(KeyFormat.randomBytes(KeyFormat.secretBytes))
            let salt = KeyFormat.randomBytes(KeyFormat.saltBytes)
            let record = APIKeyRecord(id: id, name: name, scope: scope, createdAt: Millis.now(), revokedAt: nil)
            try SQL.insertKey(db, record, salt: salt, hash: KeyFormat.hash(salt: salt, key: key))
            return (record, key)
        }
    }

    /// Every key, revoked ones included, oldest first.
    public func keys() throws -> [APIKeyRecord] {
        try read { try SQL.keys($0) }
    }

    /// Revokes the key with this id (`.notFound` naming it if there is none). Revoking twice is fine
    /// and keeps the first revocation time.
    public func revokeKey(_ id: String) throws -> APIKeyRecord {
        try write { db in
            guard try SQL.keyExists(db, id) else { throw RegistryError(.notFound, "API key '\(id)' does not exist") }
            try SQL.revokeKey(db, id, at: Millis.now())
            return try SQL.keys(db, id: id)[0]
        }
    }

    /// Whether some unrevoked key may use the admin API.
    public func hasActiveAdminKey() throws -> Bool {
        try read { try SQL.activeKeys($0).contains { $0.record.scope == .admin } }
    }

    /// A snapshot of the active keys for the server's per-request checks; reload after a change.
    public func keyRing() throws -> KeyRing {
        try read { db in
            KeyRing(entries: Dictionary(uniqueKeysWithValues: try SQL.activeKeys(db).map {
                ($0.record.id, KeyRing.Entry(salt: $0.salt, hash: $0.hash, scope: $0.record.scope))
            }))
        }
    }
}

/// Active keys in memory: the server checks every request against this, never SQLite.
public struct KeyRing: Sendable {
    public enum Verdict: Equatable, Sendable {
        case allowed(keyID: String)
        /// No Authorization header (or an empty one).
        case missing
        /// Malformed, unknown id, wrong secret or revoked: the same answer for all, so a caller
        /// learns nothing about which.
        case invalid
        /// A valid key whose scope does not cover the function (or the admin API).
        case forbidden(keyID: String)
    }

    struct Entry: Sendable {
        var salt: [UInt8]
        var hash: [UInt8]
        var scope: KeyScope
    }

    let entries: [String: Entry]

    public static let empty = KeyRing(entries: [:])

    /// `authorization` is the raw header value ("Bearer pk_..."; scheme case-insensitive). function
    /// nil = an admin route (needs .admin). Missing header → .missing; malformed, unknown id, wrong
    /// secret or revoked → .invalid; valid key whose scope does not allow it → .forbidden. The hash
    /// comparison is constant time (OpenSSL CRYPTO_memcmp) and the lookup is by the public id, so
    /// timing reveals nothing about the secret.
    public func check(authorization: String?, function: String?) -> Verdict {
        guard let header = authorization, header.utf8.contains(where: { $0 != 32 && $0 != 9 }) else { return .missing }
        guard let key = KeyFormat.bearerToken(header), let id = KeyFormat.id(ofKey: key),
              let entry = entries[id] else { return .invalid }
        guard KeyFormat.equal(KeyFormat.hash(salt: entry.salt, key: key), entry.hash) else { return .invalid }
        let allowed = function.map { entry.scope.allows(function: $0) } ?? (entry.scope == .admin)
        return allowed ? .allowed(keyID: id) : .forbidden(keyID: id)
    }
}

/// The key format and the OpenSSL primitives behind it.
enum KeyFormat {
    static let prefix = "pk_"
    static let idBytes = 6        // 12 hex chars
    static let secretBytes = 32   // 43 base64url chars
    static let saltBytes = 16
    static let keyLength = 3 + 2 * idBytes + 1 + 43

    /// Cryptographically random bytes. A failing CSPRNG must not yield a weak key, so it stops.
    static func randomBytes(_ n: Int) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: n)
        precondition(RAND_bytes(&bytes, Int32(n)) == 1, "OpenSSL RAND_bytes failed")
        return bytes
    }

    /// SHA-256(salt || key), as stored.
    static func hash(salt: [UInt8], key: String) -> [UInt8] {
        var input = salt
        input.append(contentsOf: key.utf8)
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        precondition(EVP_Digest(input, input.count, &out, &len, EVP_sha256(), nil) == 1 && len == 32)
        return out
    }

    /// Constant-time equality (CRYPTO_memcmp), so a wrong secret's timing says nothing.
    static func equal(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        a.count == b.count && CRYPTO_memcmp(a, b, a.count) == 0
    }

    static func hex(_ bytes: [UInt8]) -> String {
        let digits = Array("0123456789abcdef".utf8)
        var s: [UInt8] = []
        s.reserveCapacity(bytes.count * 2)
        for b in bytes { s.append(digits[Int(b >> 4)]); s.append(digits[Int(b & 15)]) }
        return String(decoding: s, as: UTF8.self)
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    /// The credentials of "Bearer <key>" (scheme case-insensitive, surrounding blanks ignored).
    static func bearerToken(_ header: String) -> String? {
        func blank(_ c: UInt8) -> Bool { c == 32 || c == 9 }
        let u = Array(header.utf8)
        var i = 0, j = u.count
        while i < j, blank(u[i]) { i += 1 }
        while j > i, blank(u[j - 1]) { j -= 1 }
        guard j - i > 7 else { return nil }
        for (k, c) in "bearer".utf8.enumerated() where u[i + k] | 0x20 != c { return nil }
        i += 6
        guard blank(u[i]) else { return nil }
        while i < j, blank(u[i]) { i += 1 }
        return String(decoding: u[i..<j], as: UTF8.self)
    }

    /// The id of a well-formed key ("pk_" + 12 lower-hex + "_" + 43 base64url chars), else nil.
    static func id(ofKey key: String) -> String? {
        let u = Array(key.utf8)
        guard u.count == keyLength, key.hasPrefix(prefix), u[3 + 2 * idBytes] == UInt8(ascii: "_") else { return nil }
        let id = u[3..<(3 + 2 * idBytes)]
        guard id.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }) else { return nil }
        let secret = u[(4 + 2 * idBytes)...]
        guard secret.allSatisfy({ ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        else { return nil }
        return String(decoding: id, as: UTF8.self)
    }
}
