/// The one error the codecs throw. It renders its own HTTP and gRPC status so the transports
/// never map errors themselves.
public struct ProtocolError: Error, Sendable, Equatable, CustomStringConvertible {
    public enum Code: Sendable, Equatable, Hashable {
        case invalidArgument, notFound, unavailable, resourceExhausted, deadlineExceeded
        case unimplemented, unauthenticated, permissionDenied, payloadTooLarge, `internal`
    }

    public var code: Code
    public var message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public static func invalidArgument(_ message: String) -> ProtocolError { .init(.invalidArgument, message) }
    public static func notFound(_ message: String) -> ProtocolError { .init(.notFound, message) }

    /// resourceExhausted is 429, not 503: it means a full queue or a concurrency limit, which the
    /// client should back off from and retry (with Retry-After), while 503 (`unavailable`) says the
    /// model or server is not serving at all.
    public var httpStatus: Int {
        switch code {
        case .invalidArgument: 400
        case .notFound: 404
        case .unavailable: 503
        case .resourceExhausted: 429
        case .deadlineExceeded: 504
        case .unimplemented: 501
        case .unauthenticated: 401
        case .permissionDenied: 403
        case .payloadTooLarge: 413
        case .internal: 500
        }
    }

    /// gRPC status codes; payloadTooLarge has none of its own and is RESOURCE_EXHAUSTED (8), as
    /// grpc-core reports an oversized message.
    public var grpcStatus: Int32 {
        switch code {
        case .invalidArgument: 3
        case .notFound: 5
        case .unavailable: 14
        case .resourceExhausted: 8
        case .deadlineExceeded: 4
        case .unimplemented: 12
        case .unauthenticated: 16
        case .permissionDenied: 7
        case .payloadTooLarge: 8
        case .internal: 13
        }
    }

    public var description: String { "\(code): \(message)" }
}
