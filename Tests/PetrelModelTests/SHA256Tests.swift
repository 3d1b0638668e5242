import Foundation
import Testing
@testable import PetrelModel

/// FIPS 180-2 vectors: cache keys and artifact checksums are these digests.
@Suite struct SHA256Tests {
    @Test func knownVectors() {
        #expect(SHA256.hex(SHA256.digest([UInt8](), 0)) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        var abc = SHA256(); abc.update("abc")
        #expect(SHA256.hex(abc.finish()) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        var long = SHA256(); long.update("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
        #expect(SHA256.hex(long.finish()) == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    /// A million 'a's fed in uneven pieces: the context carries partial blocks across updates.
    @Test func piecewiseUpdatesMatchOneShot() {
        let bytes = [UInt8](repeating: UInt8(ascii: "a"), count: 1_000_000)
        var h = SHA256()
        var at = 0, step = 1
        bytes.withUnsafeBytes { buf in
            while at < bytes.count {
                let n = min(step, bytes.count - at)
                h.update(buf.baseAddress! + at, n)
                at += n
                step = step * 7 % 1001 + 1
            }
        }
        let piecewise = SHA256.hex(h.finish())
        #expect(piecewise == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0")
        #expect(piecewise == SHA256.hex(SHA256.digest(bytes, bytes.count)))
    }
}
