import Foundation
import SwiftProtobuf

extension OIPGrpc {
    public static func encodeServerLiveResponse(live: Bool) -> [UInt8] {
        encode(Inference_ServerLiveResponse.with { $0.live = live })
    }

    public static func encodeServerReadyResponse(ready: Bool) -> [UInt8] {
        encode(Inference_ServerReadyResponse.with { $0.ready = ready })
    }

    /// ModelReadyRequest → (name, version); an empty version is nil (the server picks).
    public static func decodeModelReadyRequest(_ bytes: [UInt8]) throws(ProtocolError) -> (name: String, version: String?) {
        let m = try decode(Inference_ModelReadyRequest.self, bytes)
        return (m.name, m.version.isEmpty ? nil : m.version)
    }

    public static func encodeModelReadyResponse(ready: Bool) -> [UInt8] {
        encode(Inference_ModelReadyResponse.with { $0.ready = ready })
    }

    public static func encodeServerMetadataResponse(version: String, extensions: [String] = OIPRest.extensions) -> [UInt8] {
        encode(Inference_ServerMetadataResponse.with {
            $0.name = OIPRest.serverName
            $0.version = version
            $0.extensions = extensions
        })
    }

    public static func decodeModelMetadataRequest(_ bytes: [UInt8]) throws(ProtocolError) -> (name: String, version: String?) {
        let m = try decode(Inference_ModelMetadataRequest.self, bytes)
        return (m.name, m.version.isEmpty ? nil : m.version)
    }

    public static func encodeModelMetadataResponse(_ s: ModelSignature) -> [UInt8] {
        func specs(_ t: [TensorSpec]) -> [Inference_ModelMetadataResponse.TensorMetadata] {
            t.map { spec in .with { $0.name = spec.name; $0.datatype = spec.datatype.rawValue; $0.shape = spec.shape } }
        }
        return encode(Inference_ModelMetadataResponse.with {
            $0.name = s.name
            $0.versions = s.versions
            $0.platform = s.platform
            $0.inputs = specs(s.inputs)
            $0.outputs = specs(s.outputs)
        })
    }
}
