import Foundation
import SwiftProtobuf

/// The Open Inference Protocol over gRPC (`inference.GRPCInferenceService`): message bytes in,
/// message bytes out. The transport frames them and maps `ProtocolError.grpcStatus`.
public enum OIPGrpc {
    /// Full method paths, as they appear in the :path pseudo-header.
    public enum Method: String, Sendable, CaseIterable {
        case serverLive = "/inference.GRPCInferenceService/ServerLive"
        case serverReady = "/inference.GRPCInferenceService/ServerReady"
        case modelReady = "/inference.GRPCInferenceService/ModelReady"
        case serverMetadata = "/inference.GRPCInferenceService/ServerMetadata"
        case modelMetadata = "/inference.GRPCInferenceService/ModelMetadata"
        case modelInfer = "/inference.GRPCInferenceService/ModelInfer"
    }

    /// The model a serialized ModelInferRequest names, read from fields 1 and 2 alone so a gateway
    /// can route without decoding tensors. An empty version is nil; nil for malformed bytes.
    public static func peekModelName(_ bytes: UnsafeBufferPointer<UInt8>) -> (name: String, version: String?)? {
        var r = ProtoReader(bytes: bytes)
        var name = ""
        var version = ""
        // Proto3 lets a later occurrence of a field win, so walk them all; skipping costs one varint
        // per top-level field, and tensors are not looked into.
        while let (field, value) = r.next() {
            guard field > 0 else { return nil }
            guard field == 1 || field == 2 else { continue }
            guard case .bytes(let range) = value,
                  let s = String(utf8Validating: UnsafeBufferPointer(rebasing: bytes[range])) else { return nil }
            if field == 1 { name = s } else { version = s }
        }
        return (name, version.isEmpty ? nil : version)
    }

    public static func peekModelName(_ bytes: [UInt8]) -> (name: String, version: String?)? {
        bytes.withUnsafeBufferPointer { peekModelName($0) }
    }

    static func decode<M: SwiftProtobuf.Message>(_ type: M.Type, _ bytes: [UInt8]) throws(ProtocolError) -> M {
        do {
            return try M(serializedBytes: bytes)
        } catch {
            throw .invalidArgument("malformed \(M.protoMessageName): \(error)")
        }
    }

    static func encode(_ m: some SwiftProtobuf.Message) -> [UInt8] {
        // Serializing messages built from our own values cannot fail (no required fields in proto3).
        (try? m.serializedBytes()) ?? []
    }
}
