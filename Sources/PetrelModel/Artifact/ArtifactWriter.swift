import PetrelKernels
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Serialises a compiled graph into the artifact format documented in ArtifactReader.swift, and
/// writes it atomically: a temporary file in the destination directory, fsync, rename. A reader
/// never sees a half-written artifact; a crash leaves at most a stray temporary file.
public enum ArtifactWriter {
    static func encode(_ g: Graph, sourceSHA256: String, options: String, sourceOpCounts: [String: Int]) throws -> Data {
        var meta = Petrel_Artifact_Artifact()
        meta.compilerVersion = petrelCompilerVersion
        meta.sourceSha256 = sourceSHA256
        meta.options = options
        meta.opsets = g.opsets.mapValues { Int64($0) }
        meta.sourceOpCounts = sourceOpCounts.mapValues { Int64($0) }
        meta.values = g.values.map { v in
            var m = Petrel_Artifact_Value()
            m.name = v.name
            m.dtype = Int32(v.dtype?.rawValue ?? 0)
            if let s = v.shape {
                m.hasShape_p = true
                m.shape = s.map { d in
                    var md = Petrel_Artifact_Dim()
                    switch d { case .fixed(let n): md.fixed = Int64(n); case .symbol(let s): md.symbol = s }
                    return md
                }
            }
            return m
        }
        meta.inputs = g.inputs.map { Int32($0) }
        meta.outputs = g.outputs.map { Int32($0) }
        meta.nodes = g.nodes.map { n in
            var m = Petrel_Artifact_Node()
            m.op = n.op.rawValue; m.version = Int32(n.version); m.name = n.name
            m.inputs = n.inputs.map { Int32($0 ?? -1) }
            m.outputs = n.outputs.map { Int32($0 ?? -1) }
            m.attributes = n.attributes.keys.sorted().map { k in
                var a = Petrel_Artifact_Attribute()
                a.name = k
                switch n.attributes[k]! {
                case .int(let v): a.i = Int64(v)
                case .float(let v): a.f = v
                case .string(let v): a.s = v
                case .ints(let v): a.ints = .with { $0.values = v.map { Int64($0) } }
                case .floats(let v): a.floats = .with { $0.values = v }
                case .strings(let v): a.strings = .with { $0.values = v }
                case .tensor(let t):
                    a.tensor = .with {
                        $0.dtype = Int32(t.dtype.rawValue); $0.shape = t.shape.map { Int64($0) }
                        $0.raw = Data(bytes: t.raw, count: t.byteCount)
                    }
                }
                return a
            }
            return m
        }
        var offset = 0
        let ids = g.constants.keys.sorted()
        for id in ids {
            let t = g.constants[id]!
            meta.constants.append(.with {
                $0.value = Int32(id); $0.dtype = Int32(t.dtype.rawValue); $0.shape = t.shape.map { Int64($0) }
                $0.offset = UInt64(offset); $0.length = UInt64(t.byteCount)
            })
            offset = ArtifactFormat.align(offset + t.byteCount)
        }
        let metaBytes = try meta.serializedData()
        let weightsOffset = ArtifactFormat.align(ArtifactFormat.headerBytes + metaBytes.count)
        let total = weightsOffset + offset
        var file = Data(count: total)
        file.withUnsafeMutableBytes { (buf: UnsafeMutableRawBufferPointer) in
            let base = buf.baseAddress!
            metaBytes.withUnsafeBytes { base.advanced(by: ArtifactFormat.headerBytes).copyMemory(from: $0.baseAddress!, byteCount: $0.count) }
            for (id, c) in zip(ids, meta.constants) {
                let t = g.constants[id]!
                (base + weightsOffset + Int(c.offset)).copyMemory(from: t.raw, byteCount: t.byteCount)
            }
            var h = ArtifactFormat.Header()
            h.fileBytes = UInt64(total)
            h.metaOffset = UInt64(ArtifactFormat.headerBytes); h.metaBytes = UInt64(metaBytes.count)
            h.weightsOffset = UInt64(weightsOffset); h.weightsBytes = UInt64(offset)
            h.isa = KernelTable.current.isa.rawValue
            h.metaSHA256 = SHA256.digest(base + ArtifactFormat.headerBytes, metaBytes.count)
            h.weightsSHA256 = SHA256.digest(base + weightsOffset, offset)
            h.write(to: base)
        }
        return file
    }

    /// Writes `data` to `path` atomically (temporary name in the same directory, fsync, rename).
    /// Written to a temporary name in the same folder, flushed, then renamed: a reader sees the
    /// old file or the whole new one. Used for every file Petrel keeps (artifacts, stored models,
    /// the server file).
    public static func writeAtomically(_ data: Data, to path: String) throws {
        let dir = (path as NSString).deletingLastPathComponent
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        let tmp = "\(dir)/.tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0o644)
        guard fd >= 0 else { throw ModelError(.io, "cannot create \(tmp): \(String(cString: strerror(errno)))") }
        var ok = false
        defer { if !ok { unlink(tmp) } }
        try data.withUnsafeBytes { (buf: UnsafeRawBufferPointer) in
            var done = 0
            while done < buf.count {
                let n = write(fd, buf.baseAddress! + done, buf.count - done)
                if n < 0 {
                    if errno == EINTR { continue }
                    close(fd)
                    throw ModelError(.io, "cannot write \(tmp): \(String(cString: strerror(errno)))")
                }
                done += n
            }
        }
        guard fsync(fd) == 0, close(fd) == 0 else { throw ModelError(.io, "cannot flush \(tmp): \(String(cString: strerror(errno)))") }
        guard rename(tmp, path) == 0 else { throw ModelError(.io, "cannot rename \(tmp) to \(path): \(String(cString: strerror(errno)))") }
        ok = true
    }
}
