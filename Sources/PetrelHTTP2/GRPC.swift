import NIOCore
#if canImport(Glibc)
import Glibc
#endif

/// gRPC status codes (grpc/doc/statuscodes.md).
public enum GRPCStatus: Int32, Sendable {
    case ok = 0, cancelled = 1, unknown = 2, invalidArgument = 3, deadlineExceeded = 4, notFound = 5,
         alreadyExists = 6, permissionDenied = 7, resourceExhausted = 8, failedPrecondition = 9,
         aborted = 10, outOfRange = 11, unimplemented = 12, `internal` = 13, unavailable = 14,
         dataLoss = 15, unauthenticated = 16

    /// The case name ("ok", "invalidArgument"), as metrics and logs label it. Spelled out: an
    /// enum's `description` goes through runtime reflection, microseconds per request.
    public var name: String {
        switch self {
        case .ok: "ok"
        case .cancelled: "cancelled"
        case .unknown: "unknown"
        case .invalidArgument: "invalidArgument"
        case .deadlineExceeded: "deadlineExceeded"
        case .notFound: "notFound"
        case .alreadyExists: "alreadyExists"
        case .permissionDenied: "permissionDenied"
        case .resourceExhausted: "resourceExhausted"
        case .failedPrecondition: "failedPrecondition"
        case .aborted: "aborted"
        case .outOfRange: "outOfRange"
        case .unimplemented: "unimplemented"
        case .internal: "internal"
        case .unavailable: "unavailable"
        case .dataLoss: "dataLoss"
        case .unauthenticated: "unauthenticated"
        }
    }
}

/// The outcome of one unary call.
public enum GRPCResult: Sendable {
    case ok([UInt8])
    /// A message behind five bytes of room for its frame header (`GRPCWire.framePrefix`), which
    /// the header is written into: an encoder that leaves the room saves the copy `.ok` makes.
    case framed([UInt8])
    case failure(GRPCStatus, String)
}

/// gRPC over HTTP/2 wire rules (grpc/doc/PROTOCOL-HTTP2.md), without sockets.
public enum GRPCWire {
    /// The single message of a unary request body: 1 flag byte, 4-byte big-endian length, bytes.
    public static func unaryMessage(_ body: [UInt8], maxBytes: Int) -> Result<[UInt8], GRPCError> {
        unaryMessageRange(body, maxBytes: maxBytes).map { Array(body[$0]) }
    }

    /// Where the single message of a unary body lies, checked as `unaryMessage` checks it, for a
    /// caller that only reads it in place (the gateway peeks at `model_name` and forwards the body).
    public static func unaryMessageRange(_ body: [UInt8], maxBytes: Int) -> Result<Range<Int>, GRPCError> {
        guard body.count >= 5 else {
            return .failure(GRPCError(.internal, "truncated gRPC message: \(body.count) of at least 5 frame bytes"))
        }
        if body[0] != 0 {
            return .failure(GRPCError(.unimplemented, "compressed gRPC messages are not supported (send grpc-encoding identity)"))
        }
        let n = Int(body[1]) << 24 | Int(body[2]) << 16 | Int(body[3]) << 8 | Int(body[4])
        if n > maxBytes {
            return .failure(GRPCError(.resourceExhausted, "gRPC message of \(n) bytes exceeds the maximum of \(maxBytes)"))
        }
        if body.count - 5 < n {
            return .failure(GRPCError(.internal, "truncated gRPC message: header says \(n) bytes, got \(body.count - 5)"))
        }
        if body.count - 5 > n {
            return .failure(GRPCError(.unimplemented, "unary method received more than one message"))
        }
        return .success(5..<body.count)
    }

    public static func frame(_ message: [UInt8]) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: framePrefix)
        out.reserveCapacity(message.count + framePrefix)
        out.append(contentsOf: message)
        writeFrameHeader(&out)
        return out
    }

    /// The length of a frame header: a flag byte (0: not compressed) and a 4-byte big-endian length.
    public static let framePrefix = 5

    /// Fills in the header of a frame whose message follows `framePrefix` bytes of room.
    static func writeFrameHeader(_ frame: inout [UInt8]) {
        let n = UInt32(frame.count - framePrefix)
        frame[0] = 0
        frame[1] = UInt8(n >> 24); frame[2] = UInt8((n >> 16) & 0xff); frame[3] = UInt8((n >> 8) & 0xff); frame[4] = UInt8(n & 0xff)
    }

    /// `grpc-timeout`: at most 8 digits and a unit (H, M, S, m, u, n). Nil when malformed.
    public static func timeout(_ value: String) -> TimeAmount? {
        guard let unit = value.last, value.count >= 2, value.count <= 9,
              let n = Int64(value.dropLast()), n >= 0 else { return nil }
        switch unit {
        case "H": return .hours(n)
        case "M": return .minutes(n)
        case "S": return .seconds(n)
        case "m": return .milliseconds(n)
        case "u": return .microseconds(n)
        case "n": return .nanoseconds(n)
        default: return nil
        }
    }

    /// `grpc-message` is percent-encoded outside printable ASCII (and '%' itself).
    public static func percentEncode(_ message: String) -> String {
        var out = ""
        for b in message.utf8 {
            if b >= 0x20 && b <= 0x7e && b != UInt8(ascii: "%") {
                out.unicodeScalars.append(UnicodeScalar(b))
            } else {
                out += "%" + String(b, radix: 16, uppercase: true).leftPad(2)
            }
        }
        return out
    }

    public static func percentDecode(_ s: String) -> String {
        var bytes = [UInt8](), it = Array(s.utf8), i = 0
        while i < it.count {
            if it[i] == UInt8(ascii: "%"), i + 2 < it.count,
               let v = UInt8(String(decoding: it[(i + 1)...(i + 2)], as: UTF8.self), radix: 16) {
                bytes.append(v); i += 3
            } else { bytes.append(it[i]); i += 1 }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    // Shared by every response (copy-on-write): building them per call cost two allocations.
    private static let grpcHeaders: HTTPHeaders = ["content-type": "application/grpc"]
    private static let okTrailers: HTTPHeaders = ["grpc-status": "0"]

    public static func response(_ result: GRPCResult) -> HTTPResponse {
        switch result {
        case .ok(let message):
            return HTTPResponse(status: 200, headers: grpcHeaders, body: frame(message), trailers: okTrailers)
        case .framed(var body):
            precondition(body.count >= framePrefix, "a framed gRPC message needs \(framePrefix) bytes of room")
            writeFrameHeader(&body)
            return HTTPResponse(status: 200, headers: grpcHeaders, body: body, trailers: okTrailers)
        case .failure(let status, let message):
            return HTTPResponse(status: 200, headers: grpcHeaders, body: [],
                                trailers: ["grpc-status": String(status.rawValue), "grpc-message": percentEncode(message)])
        }
    }
}

public struct GRPCError: Error, Sendable, Equatable {
    public var status: GRPCStatus
    public var message: String
    public init(_ status: GRPCStatus, _ message: String) { self.status = status; self.message = message }
}

extension String {
    fileprivate func leftPad(_ n: Int) -> String { count >= n ? self : String(repeating: "0", count: n - count) + self }
}

/// One unary call as a handler sees it.
public struct GRPCCall: Sendable {
    public var service: String
    public var method: String
    /// The request body, one frame whose header the router has checked; handlers that read the
    /// message in place (`withMessage`) skip copying it out.
    public var body: [UInt8]
    public var message: [UInt8] { Array(body[GRPCWire.framePrefix...]) }
    public var metadata: HTTPHeaders
    public var eventLoop: EventLoop
    /// When the client gives up (`grpc-timeout`); the reply after it is DEADLINE_EXCEEDED.
    public var deadline: NIODeadline?

    /// `@inlinable`: unspecialized, this generic looked up `Result` metadata on every call.
    @inlinable
    public func withMessage<R, E: Error>(_ read: (UnsafeBufferPointer<UInt8>) throws(E) -> R) throws(E) -> R {
        try body.withUnsafeBufferPointer { (buf) throws(E) -> R in
            try read(UnsafeBufferPointer(rebasing: buf[GRPCWire.framePrefix...]))
        }
    }
}

/// A unary method: answer once, through the reply, from any thread.
public typealias GRPCUnaryHandler = @Sendable (GRPCCall, GRPCReply) -> Void

/// Sends a unary call's one answer (`reply(.ok(bytes))`), from any thread. A value, not a
/// closure: a closure capturing the responder cost a heap context per call, two with the
/// handler's own wrapper. Only a call with a deadline carries a shared guard object.
public struct GRPCReply: Sendable {
    let responder: HTTPResponder
    let deadline: DeadlineGuard?

    public func callAsFunction(_ result: GRPCResult) {
        guard let deadline else { return responder.respond(GRPCWire.response(result)) }
        let responder = self.responder
        responder.eventLoop.execute {
            deadline.timer?.cancel()
            if deadline.claim() { responder.respond(GRPCWire.response(result)) }
        }
    }
}

/// Whichever comes first, the handler's answer or the deadline, is the one sent. Touched only on
/// the call's event loop.
final class DeadlineGuard: @unchecked Sendable {
    private var done = false
    var timer: Scheduled<Void>?
    func claim() -> Bool { if done { return false }; done = true; return true }
}

/// Routes `application/grpc` requests to unary handlers by `/package.Service/Method` and
/// everything else to `fallback` (REST). Enforces the message limit and the deadline.
public final class GRPCRouter: HTTPService, @unchecked Sendable {
    private var methods: [MethodPath: (service: String, method: String, handler: GRPCUnaryHandler)] = [:]
    private var services: Set<String> = []
    private let fallback: HTTPService?
    public let maxMessageBytes: Int

    public init(maxMessageBytes: Int = 64 << 20, fallback: HTTPService?) {
        self.maxMessageBytes = maxMessageBytes
        self.fallback = fallback
    }

    /// Registers methods before the server starts (the table is read-only afterwards).
    public func register(service: String, method: String, _ handler: @escaping GRPCUnaryHandler) {
        methods[MethodPath("/\(service)/\(method)")] = (service, method, handler)
        services.insert(service)
    }

    public func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        guard let ct = request.contentType, ct.hasPrefix("application/grpc") else {
            if let fallback { fallback.handle(request, responder: responder) }
            else { responder.respond(HTTPResponse(status: 404, contentType: "text/plain", body: Array("not found\n".utf8))) }
            return
        }
        func respond(_ r: GRPCResult) { responder.respond(GRPCWire.response(r)) }
        guard request.method == "POST" else {
            return respond(.failure(.unimplemented, "gRPC requires POST, got \(request.method)"))
        }
        guard let (service, method, handler) = methods[MethodPath(request.path)] else {
            let parts = request.path.split(separator: "/")
            let known = parts.count == 2 && services.contains(String(parts[0]))
            return respond(.failure(.unimplemented, known ? "unknown method \(parts[1]) in service \(parts[0])"
                                                          : "unknown service \(parts.first.map(String.init) ?? request.path)"))
        }
        if let enc = request.headers["grpc-encoding"], enc != "identity", request.body.first == 1 {
            return respond(.failure(.unimplemented, "grpc-encoding \(enc) is not supported"))
        }
        if case .failure(let e) = GRPCWire.unaryMessageRange(request.body, maxBytes: maxMessageBytes) {
            return respond(.failure(e.status, e.message))
        }
        var deadline: NIODeadline?
        if let t = request.headers["grpc-timeout"] {
            guard let amount = GRPCWire.timeout(t) else {
                return respond(.failure(.invalidArgument, "malformed grpc-timeout '\(t)'"))
            }
            deadline = .now() + amount
        }
        let call = GRPCCall(service: service, method: method, body: request.body,
                            metadata: request.headers, eventLoop: responder.eventLoop, deadline: deadline)
        guard let deadline else {
            handler(call, GRPCReply(responder: responder, deadline: nil))
            return
        }
        let guardian = DeadlineGuard()
        let budget = request.headers["grpc-timeout"] ?? ""
        guardian.timer = responder.eventLoop.scheduleTask(deadline: deadline) {
            if guardian.claim() { respond(.failure(.deadlineExceeded, "deadline exceeded (grpc-timeout \(budget))")) }
        }
        handler(call, GRPCReply(responder: responder, deadline: guardian))
    }
}

/// A `/package.Service/Method` path as a table key, hashed by its length and last eight bytes
/// only: hashing all ~40 bytes of it cost ~900 instructions per call, and methods of one service
/// differ at the end anyway. Equality still compares the whole path.
struct MethodPath: Hashable {
    let path: String
    init(_ path: String) { self.path = path }

    /// Byte-wise, as the hash is: String's own == would also equate canonically equivalent
    /// spellings, which hash differently here. (`utf8.elementsEqual` would say the same at ~300
    /// instructions a byte: it runs unspecialized.)
    static func == (a: MethodPath, b: MethodPath) -> Bool {
        var x = a.path, y = b.path
        return x.withUTF8 { xb in
            y.withUTF8 { yb in xb.count == yb.count && (xb.count == 0 || memcmp(xb.baseAddress!, yb.baseAddress!, xb.count) == 0) }
        }
    }

    func hash(into h: inout Hasher) {
        var path = path
        path.withUTF8 { u in
            h.combine(u.count)
            if u.count >= 8 {
                h.combine(UnsafeRawPointer(u.baseAddress! + (u.count - 8)).loadUnaligned(as: UInt64.self))
            } else {
                for b in u { h.combine(b) }
            }
        }
    }
}
