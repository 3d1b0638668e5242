/// The HTTP/2 SETTINGS the server advertises. Defaults follow nghttpd and grpc-go: enough
/// concurrent streams for `h2load -m 128`, a 1 MiB stream window so a 64-float request never waits
/// for WINDOW_UPDATE, nghttp2's default frame size.
public struct HTTP2Settings: Sendable, Equatable {
    public var maxConcurrentStreams: UInt32 = 256
    public var initialWindowSize: UInt32 = 1 << 20
    public var maxFrameSize: UInt32 = 16_384
    public var maxHeaderListSize: UInt32 = 16_384
    public init() {}
}

public struct TLSConfiguration: Sendable, Equatable {
    public var certificatePath: String
    public var privateKeyPath: String
    public init(certificatePath: String, privateKeyPath: String) {
        self.certificatePath = certificatePath; self.privateKeyPath = privateKeyPath
    }
}

public struct ServerConfiguration: Sendable {
    public enum Address: Sendable, Equatable {
        case tcp(host: String, port: Int)
        case unix(path: String)
    }
    public var address: Address = .tcp(host: "127.0.0.1", port: 8080)
    /// A socket already bound to `address` and listening, inherited from the parent process: the
    /// server accepts on it instead of binding. The gateway binds a worker's socket before spawning
    /// it, so it can connect and send the waiting request while the worker is still starting.
    public var inheritedListener: Int32?
    public var settings = HTTP2Settings()
    /// Largest request body for REST (and HTTP/1); a larger one is answered 413 and not read further.
    public var maxRequestBodyBytes: Int = 64 << 20
    /// Largest gRPC message (gRPC's own default is 4 MiB; tensors need more) → RESOURCE_EXHAUSTED.
    public var maxGRPCMessageBytes: Int = 64 << 20
    /// `PUT` requests under this path may carry up to `maxUploadBytes` (HTTP/2 only): model
    /// uploads through the admin API, which are larger than any inference request.
    public var uploadPathPrefix: String?
    public var maxUploadBytes: Int = 1 << 30
    /// Uploads are accepted from loopback and Unix-socket peers only, unless this is set.
    public var uploadFromAnywhere = false
    public var tls: TLSConfiguration?
    /// HTTP/2 with prior knowledge only, no HTTP/1.1 on the port (plaintext only: with TLS, ALPN
    /// still chooses, so this is ignored). A worker's socket carries only
    /// the gateway's HTTP/2, and the protocol sniffer's first insertion and removal cost each new
    /// worker about a million instructions of runtime type lookups on its cold start's path.
    public var http2Only = false
    /// Event loops; nil: one per core, as nghttpd and Envoy do. Counted only then (NIO reads the
    /// cgroup quota files each time), not in every configuration a worker makes at start-up.
    public var eventLoopThreads: Int?
    /// `eventLoopThreads`, or the core count when unset.
    public var eventLoopCount: Int { max(1, eventLoopThreads ?? System.coreCount) }
    /// How long graceful shutdown waits for in-flight streams before closing connections.
    public var shutdownGraceSeconds: Double = 10

    public init() {}
}

import NIOCore
