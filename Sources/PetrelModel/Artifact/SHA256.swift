import COpenSSL
import Foundation

/// SHA-256 through OpenSSL's libcrypto (SHA-NI where the CPU has it), by its low-level API: the
/// EVP one costs ~1.5 ms of provider set-up on a process's first digest, which every worker's
/// start paid for its artifact's metadata checksum (`COpenSSL/shim.h`).
struct SHA256 {
    private var ctx = SHA256_CTX()

    init() { petrel_sha256_init(&ctx) }

    mutating func update(_ p: UnsafeRawPointer, _ n: Int) { if n > 0 { petrel_sha256_update(&ctx, p, n) } }
    mutating func update(_ d: Data) { d.withUnsafeBytes { if let b = $0.baseAddress { update(b, $0.count) } } }
    mutating func update(_ s: String) { update(Data(s.utf8)) }

    mutating func finish() -> [UInt8] {
        var out = [UInt8](repeating: 0, count: 32)
        petrel_sha256_final(&ctx, &out)
        return out
    }

    static func hex(_ bytes: [UInt8]) -> String { bytes.map { String(format: "%02x", $0) }.joined() }

    static func digest(_ p: UnsafeRawPointer, _ n: Int) -> [UInt8] {
        var h = SHA256(); h.update(p, n); return h.finish()
    }
}
