import Foundation
import GRDB
import Testing
@testable import PetrelRegistry

@Suite struct KeyTests {
    @Test func keysHaveTheDocumentedForm() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let (record, key) = try r.createKey(name: "  ci  ", scope: .functions(["b", "a", "b"]))
        #expect(record.name == "ci")
        #expect(record.scope == .functions(["a", "b"]))
        #expect(record.revokedAt == nil)
        #expect(record.id.count == 12 && Names.isHex(record.id))
        #expect(key.hasPrefix("pk_" + record.id + "_"))
        let secret = key.dropFirst(16)
        #expect(secret.count == 43)
        #expect(secret.utf8.allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 65 && $0 <= 90) || ($0 >= 97 && $0 <= 122) || $0 == 45 || $0 == 95 })
        #expect(KeyFormat.id(ofKey: key) == record.id)
        let other = try r.createKey(name: "ci", scope: .admin)
        #expect(other.key != key && other.record.id != record.id)
    }

    @Test func base64urlHasNoPaddingAndURLSafeCharacters() {
        #expect(KeyFormat.base64url([0xfb, 0xff]) == "-_8")
        #expect(KeyFormat.base64url(Array(repeating: 0, count: 32)).count == 43)
        #expect(KeyFormat.hex([0x00, 0xab, 0x0f]) == "00ab0f")
    }

    @Test func checkAnswersEachCase() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let (fn, fnKey) = try r.createKey(name: "a only", scope: .functions(["a"]))
        let (any, anyKey) = try r.createKey(name: "any function", scope: .functions([]))
        let (admin, adminKey) = try r.createKey(name: "ops", scope: .admin)
        let ring = try r.keyRing()

        #expect(ring.check(authorization: "Bearer " + fnKey, function: "a") == .allowed(keyID: fn.id))
        #expect(ring.check(authorization: "bearer " + fnKey, function: "a") == .allowed(keyID: fn.id))
        #expect(ring.check(authorization: "  BEARER \t" + fnKey + " ", function: "a") == .allowed(keyID: fn.id))
        #expect(ring.check(authorization: "Bearer " + fnKey, function: "b") == .forbidden(keyID: fn.id))
        #expect(ring.check(authorization: "Bearer " + fnKey, function: nil) == .forbidden(keyID: fn.id))
        #expect(ring.check(authorization: "Bearer " + anyKey, function: "b") == .allowed(keyID: any.id))
        #expect(ring.check(authorization: "Bearer " + anyKey, function: nil) == .forbidden(keyID: any.id))
        for function in ["a", "b", nil] {
            #expect(ring.check(authorization: "Bearer " + adminKey, function: function) == .allowed(keyID: admin.id))
        }

        for missing in [nil, "", "   "] as [String?] {
            #expect(ring.check(authorization: missing, function: "a") == .missing)
        }
        // Wrong secret: same id, one character changed.
        let last = fnKey.last == "A" ? "B" : "A"
        let wrongSecret = String(fnKey.dropLast()) + last
        // Unknown id: a well-formed key that was never issued.
        let unknownID = "pk_0123456789ab_" + fnKey.dropFirst(16)
        for bad in ["Bearer " + wrongSecret, "Bearer " + unknownID,
                    fnKey, "Basic " + fnKey, "Bearer", "Bearer ", "Bearer" + fnKey, "Bearer pk_", "Bearer pk_" + fn.id,
                    "Bearer " + fnKey + "x", "Bearer " + String(fnKey.dropLast()), "Bearer " + fnKey.uppercased(),
                    "Bearer " + fnKey + " extra", "Bearer " + fnKey.replacingOccurrences(of: "pk_", with: "sk_")] {
            #expect(ring.check(authorization: bad, function: "a") == .invalid, "\(bad)")
        }
        #expect(KeyRing.empty.check(authorization: "Bearer " + fnKey, function: "a") == .invalid)
        #expect(KeyRing.empty.check(authorization: nil, function: nil) == .missing)
    }

    @Test func revokedKeysAreInvalidInTheNextRing() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let (rec, key) = try r.createKey(name: "k", scope: .admin)
        let oldRing = try r.keyRing()
        #expect(try r.hasActiveAdminKey())
        let revoked = try r.revokeKey(rec.id)
        #expect(revoked.id == rec.id && revoked.revokedAt != nil && revoked.createdAt == rec.createdAt)
        #expect(try r.keyRing().check(authorization: "Bearer " + key, function: nil) == .invalid)
        #expect(try !r.hasActiveAdminKey())
        // A ring is a snapshot: the server reloads it after a change.
        #expect(oldRing.check(authorization: "Bearer " + key, function: nil) == .allowed(keyID: rec.id))
        // Revoking twice is fine and keeps the first time.
        #expect(try r.revokeKey(rec.id) == revoked)
        #expect(throws: RegistryError(.notFound, "API key '000000000000' does not exist")) { try r.revokeKey("000000000000") }
    }

    @Test func keysAreListedOldestFirstWithTheRevoked() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let a = try r.createKey(name: "a", scope: .admin).record
        let b = try r.createKey(name: "b", scope: .functions(["f"])).record
        let revokedA = try r.revokeKey(a.id)
        #expect(try r.keys() == [revokedA, b])
        #expect(try !r.hasActiveAdminKey())
        _ = try r.createKey(name: "c", scope: .functions([]))
        #expect(try !r.hasActiveAdminKey())
        _ = try r.createKey(name: "d", scope: .admin)
        #expect(try r.hasActiveAdminKey())
        #expect(try r.keys().map(\.name) == ["a", "b", "c", "d"])
    }

    @Test func createKeyValidates() throws {
        let dir = try TempDir()
        let r = try dir.open()
        #expect(throws: RegistryError(.invalid, "an API key needs a name")) { try r.createKey(name: " ", scope: .admin) }
        #expect(throws: RegistryError(.invalid, "API key 'ci': function name 'A/B' is not valid: it must be a DNS label (lower-case letters, digits and '-', 1–63 characters, not starting or ending with '-')")) {
            try r.createKey(name: "ci", scope: .functions(["ok", "A/B"]))
        }
        #expect(try r.keys().isEmpty)
    }

    /// Neither the key nor its secret is stored anywhere: not in the row, not in the database file
    /// or its write-ahead log. Only the salt and the salted hash are.
    @Test func onlyASaltedHashIsStored() throws {
        let dir = try TempDir()
        let r = try dir.open()
        let (record, key) = try r.createKey(name: "ci", scope: .functions(["f"]))
        let secret = String(key.dropFirst(16))

        let rows = try r.rawRows("SELECT * FROM api_key")
        #expect(rows.count == 1)
        let row = try #require(rows.first)
        #expect(Set(row.columnNames) == ["id", "name", "scope_json", "salt", "hash", "created_at", "revoked_at"])
        for (column, value) in row {
            let bytes: [UInt8]
            switch value.storage {
            case .string(let s): bytes = Array(s.utf8)
            case .blob(let d): bytes = Array(d)
            default: bytes = Array(value.description.utf8)
            }
            #expect(!contains(bytes, Array(secret.utf8)), "column \(column)")
            #expect(!contains(bytes, Array(key.utf8)), "column \(column)")
        }
        let salt = [UInt8](row["salt"] as Data), hash = [UInt8](row["hash"] as Data)
        #expect(salt.count == 16 && hash.count == 32)
        #expect(hash == KeyFormat.hash(salt: salt, key: key))
        #expect(row["id"] as String == record.id)
        #expect(row["scope_json"] as String == #"{"functions":["f"],"kind":"functions"}"#)

        for file in [dir.registryPath, dir.registryPath + "-wal"] {
            guard let data = FileManager.default.contents(atPath: file) else { continue }
            #expect(!contains(Array(data), Array(secret.utf8)), "\(file)")
        }
    }

    @Test func saltsDifferPerKey() throws {
        let dir = try TempDir()
        let r = try dir.open()
        _ = try r.createKey(name: "a", scope: .admin)
        _ = try r.createKey(name: "b", scope: .admin)
        let salts = try r.rawRows("SELECT salt FROM api_key").map { $0["salt"] as Data }
        #expect(salts.count == 2 && salts[0] != salts[1])
    }

    @Test func scopeCodingIsStable() throws {
        let admin = try JSONEncoder().encode(KeyScope.admin)
        #expect(String(decoding: admin, as: UTF8.self) == #"{"kind":"admin"}"#)
        for scope in [KeyScope.admin, .functions([]), .functions(["a", "b"])] {
            #expect(try JSONDecoder().decode(KeyScope.self, from: JSONEncoder().encode(scope)) == scope)
        }
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(KeyScope.self, from: Data(#"{"kind":"root"}"#.utf8)) }
        #expect(KeyScope.functions(["a"]).allows(function: "a"))
        #expect(!KeyScope.functions(["a"]).allows(function: "b"))
        #expect(KeyScope.functions([]).allows(function: "b"))
        #expect(KeyScope.admin.allows(function: "b"))
    }

    func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
        guard needle.count <= haystack.count else { return false }
        return (0...(haystack.count - needle.count)).contains { i in haystack[i..<(i + needle.count)].elementsEqual(needle) }
    }
}
