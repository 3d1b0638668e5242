import COpenSSL
import Foundation

/// SHA-256 through OpenSSL's libcrypto (SHA-NI where the CPU has it).
struct SHA256 {
    private var ctx: OpaquePointer

    init() {
        ctx = EVP_MD_CTX_new()
        EVP_DigestInit_ex(ctx, EVP_sha256(), nil)
    }

    mutating func update(_ p: UnsafeRawPointer, _ n: Int) { if n > 0 { EVP_DigestUpdate(ctx, p, n) } }
    mutating func update(_ d: Data) { d.withUnsafeBytes { if let b = $0.baseAddress { update(b, $0.count) } } }
    mutating func update(_ s: String) { update(Data(s.utf8)) }

    mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        var len: UInt32 = 0
        EVP_DigestFinal_ex(ctx, &out, &len)
        EVP_MD_CTX_free(ctx)
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func digest(_ p: UnsafeRawPointer, _ n: Int) -> [UInt8] {
        var h = SHA256(); h.update(p, n); return h.finish()
    }
}
