import NIOCore
import NIOPosix
#if canImport(Glibc)
import Glibc
#endif

/// Header fields in arrival order. Names are lower-case (HTTP/2 requires it; the HTTP/1 adapter
/// lower-cases), so lookups compare bytes, not case-folded strings.
public struct HTTPHeaders: Sendable, ExpressibleByDictionaryLiteral {
    public var fields: [HTTPField]

    public init(_ fields: [HTTPField] = []) { self.fields = fields }
    public init(dictionaryLiteral elements: (String, String)...) {
        fields = elements.map { HTTPField(name: $0.0, value: $0.1) }
    }

    public subscript(name: String) -> String? {
        // Lengths first: an unequal String comparison is an out-of-line call (~70 instructions),
        // and a request's few lookups each walk all of its fields.
        let n = name.utf8.count
        for f in fields where f.name.utf8.count == n && f.name == name { return f.value }
        return nil
    }

    public mutating func add(_ name: String, _ value: String) { fields.append(HTTPField(name: name, value: value)) }
    public var isEmpty: Bool { fields.isEmpty }
}

/// One header field. A struct, not a `(name:value:)` tuple: arrays of tuples are copied and
/// destroyed through the runtime's generic tuple witnesses (a metadata walk per field), arrays of
/// structs through code the compiler writes for the type.
public struct HTTPField: Sendable, Hashable {
    public var name: String
    public var value: String

    public init(name: String, value: String) {
        self.name = name
        self.value = value
    }
}

public enum HTTPVersion: Sendable, Equatable { case http1_1, http2 }

/// A whole request: the body is complete before a service sees it (Petrel's RPCs are unary).
public struct HTTPRequest: Sendable {
    public var method: String
    public var path: String
    public var authority: String?
    public var scheme: String
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var version: HTTPVersion
    /// The peer connected over loopback or a Unix socket (the admin API answers only such peers
    /// unless told otherwise).
    public var fromLoopback = true

    public init(method: String, path: String, authority: String? = nil, scheme: String = "http",
                headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], version: HTTPVersion = .http2) {
        self.method = method; self.path = path; self.authority = authority; self.scheme = scheme
        self.headers = headers; self.body = body; self.version = version
    }

    public var contentType: String? { headers["content-type"] }
}

/// A whole response. `trailers` are sent after the body on HTTP/2 (gRPC status); HTTP/1 has no
/// trailers here, so the HTTP/1 adapter folds them into headers.
public struct HTTPResponse: Sendable {
    public var status: Int
    public var headers: HTTPHeaders
    public var body: [UInt8]
    public var trailers: HTTPHeaders?

    public init(status: Int, headers: HTTPHeaders = HTTPHeaders(), body: [UInt8] = [], trailers: HTTPHeaders? = nil) {
        self.status = status; self.headers = headers; self.body = body; self.trailers = trailers
    }

    /// gRPC's status: in the trailers, or in the headers of a trailers-only response.
    public var grpcStatus: String? { trailers?["grpc-status"] ?? headers["grpc-status"] }
    public var grpcMessage: String? { trailers?["grpc-message"] ?? headers["grpc-message"] }

    public init(status: Int, contentType: String, body: [UInt8]) {
        let headers = contentType == "application/json" ? HTTPResponse.jsonHeaders : ["content-type": contentType]
        self.init(status: status, headers: headers, body: body)
    }

    /// Shared by every JSON answer (copy-on-write), instead of a new header array per response.
    private static let jsonHeaders: HTTPHeaders = ["content-type": "application/json"]
}

/// What the server calls for each complete request. Runs on the connection's event loop: a
/// handler that does more than a few microseconds of work must hop off it and answer through
/// the responder from any thread.
public protocol HTTPService: AnyObject, Sendable {
    func handle(_ request: HTTPRequest, responder: HTTPResponder)
}

/// Where a stream's response goes. The connection behind it may be gone by the time a slow
/// handler answers; the answer is then dropped.
protocol ResponseSink: AnyObject, Sendable {
    func complete(stream: Int32, response: HTTPResponse)
}

/// A connection that can hold its writes until `ResponseFlushing.batched` ends.
protocol DeferredFlush: AnyObject {
    func flushDeferred()
}

/// Batches the writes of answers given together on one event loop: inside `batched`, an HTTP/2
/// connection answered outside a read queues its frames and writes them once when the body
/// returns, instead of one `write` per answer. Per thread, so only answers given on the calling
/// event loop's thread are held.
public enum ResponseFlushing {
    final class Held { var connections: [DeferredFlush] = [] }

    /// The innermost `batched` of this thread, unretained (`batched` keeps it alive while it is
    /// set). A raw pthread key, not NIO's `ThreadSpecificVariable`: that one boxes every value it
    /// is given and, generic across modules, looks up `Optional` metadata on each access; its two
    /// sets per batch cost ~2,200 instructions, a tenth of a small request's own work.
    private static let key: pthread_key_t = {
        var k = pthread_key_t()
        precondition(pthread_key_create(&k, nil) == 0, "pthread_key_create failed")
        return k
    }()

    public static func batched(_ body: () -> Void) {
        let outer = pthread_getspecific(key)
        let held = Held()
        pthread_setspecific(key, Unmanaged.passUnretained(held).toOpaque())
        withExtendedLifetime(held) { body() }
        pthread_setspecific(key, outer)
        for c in held.connections { c.flushDeferred() }
    }

    /// True when `connection` will be flushed by the enclosing `batched`.
    static func `defer`(_ connection: DeferredFlush) -> Bool {
        guard let p = pthread_getspecific(key) else { return false }
        Unmanaged<Held>.fromOpaque(p).takeUnretainedValue().connections.append(connection)
        return true
    }
}

/// Answers one request, exactly once, from any thread.
public struct HTTPResponder: Sendable {
    public let eventLoop: EventLoop
    let sink: ResponseSink
    let stream: Int32

    public func respond(_ response: HTTPResponse) {
        if eventLoop.inEventLoop {
            sink.complete(stream: stream, response: response)
        } else {
            let sink = self.sink, stream = self.stream
            eventLoop.execute { sink.complete(stream: stream, response: response) }
        }
    }
}

extension HTTPResponder {
    /// A responder that rewrites the response before it is sent (a worker stamps the first
    /// inference's time on its response; a gateway adds Server-Timing).
    public func transformed(_ transform: @escaping @Sendable (HTTPResponse) -> HTTPResponse) -> HTTPResponder {
        HTTPResponder(eventLoop: eventLoop, sink: TransformingSink(inner: sink, transform: transform), stream: stream)
    }
}

private final class TransformingSink: ResponseSink, @unchecked Sendable {
    let inner: ResponseSink
    let transform: @Sendable (HTTPResponse) -> HTTPResponse
    init(inner: ResponseSink, transform: @escaping @Sendable (HTTPResponse) -> HTTPResponse) { self.inner = inner; self.transform = transform }
    func complete(stream: Int32, response: HTTPResponse) { inner.complete(stream: stream, response: transform(response)) }
}

extension SocketAddress {
    /// 127.0.0.0/8, ::1, or a Unix socket: a peer on this machine.
    public var isLoopback: Bool {
        switch self {
        case .unixDomainSocket: return true
        case .v4: return ipAddress?.hasPrefix("127.") ?? false
        case .v6: return ipAddress == "::1" || (ipAddress?.hasPrefix("::ffff:127.") ?? false)
        }
    }
}

extension HTTPResponse {
    /// The 413 both transports answer to a body over the limit.
    static func bodyTooLarge(limit: Int) -> HTTPResponse {
        HTTPResponse(status: 413, contentType: "application/json", body: Array(#"{"error":"request body exceeds \#(limit) bytes"}"#.utf8))
    }
}
