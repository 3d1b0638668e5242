import Foundation
import Testing
@testable import PetrelModel

@Suite struct ArtifactTests {
    func freshArtifact() throws -> (path: String, bytes: Data) {
        _ = testHome
        let (_, r) = try Compiler.compile(path: repoRoot + "/functions/digits-cnn/model.onnx")
        return (r.artifactPath, try Data(contentsOf: URL(fileURLWithPath: r.artifactPath)))
    }

    func damaged(_ bytes: Data, _ edit: (inout Data) -> Void) throws -> String {
        var d = bytes
        edit(&d)
        let p = NSTemporaryDirectory() + "damaged-\(UUID().uuidString).petrel"
        try d.write(to: URL(fileURLWithPath: p))
        return p
    }

    @Test func roundTripsAndIsCached() throws {
        let (path, _) = try freshArtifact()
        let (_, again) = try Compiler.compile(path: repoRoot + "/functions/digits-cnn/model.onnx")
        #expect(again.fromCache)
        #expect(again.artifactPath == path)
        let m = try CompiledModel.load(path: path, verifyWeights: true)
        #expect(m.graph.opCounts["BatchNormalization"] == nil, "BN must be folded into the convs")
        #expect(m.graph.opCounts["Dense"] == 1)
    }

    @Test func refusesTruncated() throws {
        let (_, b) = try freshArtifact()
        for cut in [10, 200, b.count - 1] {
            let p = try damaged(b) { $0 = $0.prefix(cut) }
            #expect(expectModelError(.badArtifact, containing: "truncated") { _ = try CompiledModel.load(path: p) } == nil, "cut \(cut)")
        }
    }

    @Test func refusesCorruptMetadataAndWeights() throws {
        let (_, b) = try freshArtifact()
        let meta = try damaged(b) { $0[ArtifactFormat.headerBytes + 5] ^= 0xff }
        #expect(expectModelError(.badArtifact, containing: "metadata checksum") { _ = try CompiledModel.load(path: meta) } == nil)
        let weights = try damaged(b) { $0[$0.count - 3] ^= 0x01 }
        #expect(expectModelError(.badArtifact, containing: "weights checksum") { _ = try CompiledModel.load(path: weights, verifyWeights: true) } == nil)
    }

    @Test func refusesOtherVersionAndMagic() throws {
        let (_, b) = try freshArtifact()
        let version = try damaged(b) { $0[8] = 99 }
        #expect(expectModelError(.badArtifact, containing: "format version 99") { _ = try CompiledModel.load(path: version) } == nil)
        let magic = try damaged(b) { $0[0] = 0x7f }
        #expect(expectModelError(.badArtifact, containing: "wrong magic") { _ = try CompiledModel.load(path: magic) } == nil)
    }

    @Test func weightsAreMappedNotCopied() throws {
        let (path, _) = try freshArtifact()
        let m = try CompiledModel.load(path: path)
        let file = try Data(contentsOf: URL(fileURLWithPath: path))
        let base = m.weights.baseAddress!
        let weightsOffset = file.count - m.weights.count
        #expect(!m.graph.constants.isEmpty)
        // Every constant points into the mapping (no copy), 64-byte aligned, at its bytes in the file.
        for (id, t) in m.graph.constants {
            let offset = UnsafeRawPointer(t.raw) - base
            #expect(offset >= 0 && offset + t.byteCount <= m.weights.count, "constant \(id) is not inside the mapping")
            #expect(Int(bitPattern: t.raw) % 64 == 0)
            let inFile = file.subdata(in: (weightsOffset + offset)..<(weightsOffset + offset + t.byteCount))
            #expect(inFile == Data(bytes: t.raw, count: t.byteCount))
        }
    }
}
