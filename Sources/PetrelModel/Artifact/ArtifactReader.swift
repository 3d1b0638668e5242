import Foundation
import PetrelKernels
#if canImport(Glibc)
import Glibc
#endif

// # The compiled artifact (format version 1)
//
// One file per (model bytes, compiler version, options), named by the SHA-256 of those in
// `$PETREL_HOME/cache/`. Little-endian. A worker maps it read-only and runs it with no parsing of
// ONNX and no copy of the weights: constants are views into the mapping, shared by every process
// that maps the same file through the page cache.
//
//   offset  size  field
//   0       8     magic "PETRELA\0"
//   8       4     format version (u32) = 1
//   12      4     header size (u32) = 128
//   16      8     file size in bytes (u64): a shorter file is truncated
//   24      8     metadata offset (u64) = 128
//   32      8     metadata size (u64)
//   40      8     weights offset (u64), 64-byte aligned
//   48      8     weights size (u64)
//   56      8     required ISA, ASCII, NUL-padded ("reference", cut to 8: "referenc", "avx2", "avx512"):
//                 packed GEMM weights are laid out for that kernel table
//   64      32    SHA-256 of the metadata
//   96      32    SHA-256 of the weights
//   128     ...   metadata: protobuf `petrel.artifact.Artifact` (Protos/petrel_artifact.proto): the
//                 input/output signature (names, dtypes, symbolic shapes), the optimised graph in
//                 execution order (the plan; per-shape memory plans are made at first use and
//                 cached), and the constant table (dtype, shape, offset, length)
//   ...           zero padding to 64 bytes
//   weights       each constant at a 64-byte aligned offset; GEMM weights pre-packed
//
// Loading checks the magic, version, sizes and the metadata checksum every time (microseconds, by
// libcrypto's low-level SHA-256: the EVP API's first use in a process costs ~1.5 ms of set-up).
// The weights checksum covers up to hundreds of MB, and reading it would fault in every page the
// lazy map is meant to avoid, so it is checked when the artifact is written, when `petrel compile`
// finds it in the cache, and on demand (`verifyWeights`), not on a worker's cold start.

enum ArtifactFormat {
    static let magic: [UInt8] = Array("PETRELA\0".utf8)
    static let version: UInt32 = 1
    static let headerBytes = 128
    static func align(_ n: Int) -> Int { (n + 63) & ~63 }

    struct Header {
        var version = ArtifactFormat.version
        var fileBytes: UInt64 = 0, metaOffset: UInt64 = 0, metaBytes: UInt64 = 0
        var weightsOffset: UInt64 = 0, weightsBytes: UInt64 = 0
        var isa = ""
        var metaSHA256 = [UInt8](repeating: 0, count: 32), weightsSHA256 = [UInt8](repeating: 0, count: 32)

        func write(to p: UnsafeMutableRawPointer) {
            for (i, b) in ArtifactFormat.magic.enumerated() { p.storeBytes(of: b, toByteOffset: i, as: UInt8.self) }
            p.storeBytes(of: version.littleEndian, toByteOffset: 8, as: UInt32.self)
            p.storeBytes(of: UInt32(ArtifactFormat.headerBytes).littleEndian, toByteOffset: 12, as: UInt32.self)
            for (off, v) in [(16, fileBytes), (24, metaOffset), (32, metaBytes), (40, weightsOffset), (48, weightsBytes)] {
                p.storeBytes(of: v.littleEndian, toByteOffset: off, as: UInt64.self)
            }
            for (i, b) in Array(isa.utf8.prefix(8)).enumerated() { p.storeBytes(of: b, toByteOffset: 56 + i, as: UInt8.self) }
            for i in 0..<32 {
                p.storeBytes(of: metaSHA256[i], toByteOffset: 64 + i, as: UInt8.self)
                p.storeBytes(of: weightsSHA256[i], toByteOffset: 96 + i, as: UInt8.self)
            }
        }

        init() {}

        init(reading p: UnsafeRawPointer, size: Int, path: String) throws {
            func bad(_ why: String) -> ModelError { ModelError(.badArtifact, "\(path) is not a usable Petrel artifact: \(why)") }
            guard size >= ArtifactFormat.headerBytes else { throw bad("truncated (\(size) bytes, the header alone is 128)") }
            guard (0..<8).allSatisfy({ p.load(fromByteOffset: $0, as: UInt8.self) == ArtifactFormat.magic[$0] }) else {
                throw bad("wrong magic (not an artifact)")
            }
            version = UInt32(littleEndian: p.loadUnaligned(fromByteOffset: 8, as: UInt32.self))
            guard version == ArtifactFormat.version else {
                throw bad("format version \(version); this petrel reads version \(ArtifactFormat.version): recompile the model")
            }
            func u64(_ o: Int) -> UInt64 { UInt64(littleEndian: p.loadUnaligned(fromByteOffset: o, as: UInt64.self)) }
            fileBytes = u64(16); metaOffset = u64(24); metaBytes = u64(32); weightsOffset = u64(40); weightsBytes = u64(48)
            guard fileBytes == UInt64(size) else { throw bad("truncated or extended: the header says \(fileBytes) bytes, the file has \(size)") }
            guard metaOffset == UInt64(ArtifactFormat.headerBytes), metaOffset + metaBytes <= weightsOffset,
                  weightsOffset % 64 == 0, weightsOffset + weightsBytes == fileBytes else { throw bad("inconsistent section table") }
            isa = String(decoding: (56..<64).map { p.load(fromByteOffset: $0, as: UInt8.self) }.filter { $0 != 0 }, as: UTF8.self)
            metaSHA256 = (64..<96).map { p.load(fromByteOffset: $0, as: UInt8.self) }
            weightsSHA256 = (96..<128).map { p.load(fromByteOffset: $0, as: UInt8.self) }
        }
    }
}

/// A read-only mapping of an artifact file; constants viewing it keep it alive.
final class MappedFile {
    let base: UnsafeRawPointer
    let size: Int

    /// `populate`: map every page table entry now (MAP_POPULATE). Measured for MiniLM's 86 MB in
    /// a worker: ~11 ms, about what the first inference's page faults cost anyway, so workers do
    /// not use it (a cold start pays either way); kept for callers that map ahead of need.
    init(path: String, populate: Bool = false) throws {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw ModelError(.io, "cannot open \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0 else { throw ModelError(.io, "cannot stat \(path): \(String(cString: strerror(errno)))") }
        size = Int(st.st_size)
        guard size > 0 else { throw ModelError(.badArtifact, "\(path) is not a usable Petrel artifact: empty file") }
        guard let p = mmap(nil, size, PROT_READ, MAP_PRIVATE | (populate ? 0x08000 /* MAP_POPULATE */ : 0), fd, 0), p != MAP_FAILED else {
            throw ModelError(.io, "cannot map \(path): \(String(cString: strerror(errno)))")
        }
        base = UnsafeRawPointer(p)
    }

    deinit { munmap(UnsafeMutableRawPointer(mutating: base), size) }
}

/// A compiled model loaded from an artifact.
public struct CompiledModel: @unchecked Sendable {
    public let graph: Graph
    public let sourceSHA256: String
    public let options: String
    public let isa: String
    public let sourceOpCounts: [String: Int]
    public let weightsBytes: Int
    /// The mapped weights section; every constant is a view into it.
    let weights: UnsafeRawBufferPointer
    private let file: MappedFile

    public static func load(path: String, verifyWeights: Bool = false, populate: Bool = false) throws -> CompiledModel {
        let file = try MappedFile(path: path, populate: populate)
        let h = try ArtifactFormat.Header(reading: file.base, size: file.size, path: path)
        func bad(_ why: String) -> ModelError { ModelError(.badArtifact, "\(path) is not a usable Petrel artifact: \(why)") }
        let metaStart = file.base + Int(h.metaOffset)
        guard SHA256.digest(metaStart, Int(h.metaBytes)) == h.metaSHA256 else { throw bad("metadata checksum mismatch (corrupt)") }
        let weights = file.base + Int(h.weightsOffset)
        if verifyWeights, SHA256.digest(weights, Int(h.weightsBytes)) != h.weightsSHA256 {
            throw bad("weights checksum mismatch (corrupt)")
        }
        guard h.isa == String(KernelTable.current.isa.rawValue.prefix(8)) else {
            throw bad("compiled for ISA \(h.isa), this process runs \(KernelTable.current.isa.rawValue): recompile the model")
        }
        let meta: Petrel_Artifact_Artifact
        do {
            meta = try Petrel_Artifact_Artifact(serializedBytes: Data(bytesNoCopy: UnsafeMutableRawPointer(mutating: metaStart), count: Int(h.metaBytes), deallocator: .none))
        } catch { throw bad("metadata does not decode (\(error))") }
        guard meta.compilerVersion == petrelCompilerVersion else {
            throw bad("compiled by petrel \(meta.compilerVersion), this is \(petrelCompilerVersion): recompile the model")
        }
        var g = Graph()
        g.opsets = meta.opsets.mapValues { Int($0) }
        g.values = meta.values.map { v in
            ValueInfo(name: v.name, dtype: DType(rawValue: Int(v.dtype)),
                      shape: v.hasShape_p ? v.shape.map { d in
                          switch d.kind { case .fixed(let n)?: .fixed(Int(n)); case .symbol(let s)?: .symbol(s); case nil: .symbol("?") }
                      } : nil)
        }
        let valueCount = g.values.count
        func id(_ i: Int32) throws -> Int {
            guard i >= 0, Int(i) < valueCount else { throw bad("value index \(i) out of range") }
            return Int(i)
        }
        g.inputs = try meta.inputs.map(id)
        g.outputs = try meta.outputs.map(id)
        for c in meta.constants {
            guard let dt = DType(rawValue: Int(c.dtype)) else { throw bad("constant of unknown dtype \(c.dtype)") }
            let shape = c.shape.map { Int($0) }
            let count = try checkedElementCount(shape, dtype: dt, what: "constant")
            guard UInt64(count * dt.size) == c.length, c.offset % 64 == 0, c.offset + c.length <= h.weightsBytes else {
                throw bad("constant \(c.value) lies outside the weights section")
            }
            g.constants[try id(c.value)] = Tensor(dtype: dt, shape: shape,
                storage: TensorStorage(viewing: weights + Int(c.offset), byteCount: Int(c.length), owner: file))
        }
        g.nodes = try meta.nodes.map { n in
            guard let op = Op(rawValue: n.op) else { throw bad("unknown op \(n.op)") }
            var attrs: [String: Attribute] = [:]
            for a in n.attributes {
                switch a.value {
                case .i(let v)?: attrs[a.name] = .int(Int(v))
                case .f(let v)?: attrs[a.name] = .float(v)
                case .s(let v)?: attrs[a.name] = .string(v)
                case .ints(let v)?: attrs[a.name] = .ints(v.values.map { Int($0) })
                case .floats(let v)?: attrs[a.name] = .floats(v.values)
                case .strings(let v)?: attrs[a.name] = .strings(v.values)
                case .tensor(let t)?:
                    guard let dt = DType(rawValue: Int(t.dtype)) else { throw bad("attribute tensor of unknown dtype") }
                    let shape = t.shape.map { Int($0) }
                    guard try checkedElementCount(shape, dtype: dt, what: "attribute") * dt.size == t.raw.count else { throw bad("attribute tensor size") }
                    let tensor = Tensor(dtype: dt, shape: shape)
                    t.raw.withUnsafeBytes { if $0.count > 0 { tensor.raw.copyMemory(from: $0.baseAddress!, byteCount: $0.count) } }
                    attrs[a.name] = .tensor(tensor)
                case nil: break
                }
            }
            return Node(op: op, version: Int(n.version), name: n.name,
                        inputs: try n.inputs.map { $0 < 0 ? nil : try id($0) },
                        outputs: try n.outputs.map { $0 < 0 ? nil : try id($0) }, attributes: attrs)
        }
        _ = try g.topologicalOrder()
        return CompiledModel(graph: g, sourceSHA256: meta.sourceSha256, options: meta.options, isa: h.isa,
                             sourceOpCounts: meta.sourceOpCounts.mapValues { Int($0) }, weightsBytes: Int(h.weightsBytes),
                             weights: UnsafeRawBufferPointer(start: weights, count: Int(h.weightsBytes)), file: file)
    }
}
