import CNGHTTP2

/// An error that ends an HTTP/2 connection (or, on the client, one stream).
public struct HTTP2Error: Error, CustomStringConvertible, Sendable {
    public var message: String
    /// The peer never processed the request (refused stream, or the connection was gone before
    /// it was sent): sending it again elsewhere is safe.
    public var retryable: Bool
    public init(_ message: String, retryable: Bool = false) { self.message = message; self.retryable = retryable }
    public var description: String { message }

    static func nghttp2(_ call: String, _ code: Int) -> HTTP2Error {
        HTTP2Error("\(call): \(String(cString: nghttp2_strerror(Int32(code))))")
    }
}

/// One HTTP/2 connection's protocol state in nghttp2: bytes in (`receive`), bytes out
/// (`send`), complete messages to and from Swift. No sockets, no event loop, so the same class
/// drives the server, the client, and tests that talk to it through memory.
///
/// Not thread-safe: its owner (a channel handler) calls it from one event loop only.
final class H2Session {
    enum Role { case server, client }

    struct Limits {
        var maxBodyBytes = 64 << 20
        var maxGRPCMessageBytes = 64 << 20
        var maxHeaderListSize = 16_384
        var uploadPathPrefix: String?
        var maxUploadBytes = 1 << 30
    }

    /// One stream's inbound message (request on the server, response on the client) and its
    /// outbound message while nghttp2 copies it out.
    final class Stream {
        var headers = HTTPHeaders()
        var trailers: HTTPHeaders?
        var method = "", path = "", scheme = "http"
        var authority: String?
        var status = 0
        var body: [UInt8] = []
        var headerBytes = 0
        var bodyLimit: Int
        var isGRPC = false
        /// The server refused the request before it was whole (body or headers over the limit);
        /// the refusal has been or will be sent, and further DATA is dropped.
        var refused: HTTPResponse?
        var dispatched = false
        var responded = false
        var outBody: [UInt8] = []
        var outOffset = 0
        var outTrailers: HTTPHeaders?
        var onResponse: ((Result<HTTPResponse, HTTP2Error>) -> Void)?
        init(bodyLimit: Int) { self.bodyLimit = bodyLimit }
    }

    let role: Role
    var limits: Limits
    private(set) var session: OpaquePointer!
    /// Owns each open stream's `Stream`; callbacks find it through `stream(_:)`.
    private(set) var streams: [Int32: Stream] = [:]
    /// Header strings seen on this connection, reused while a client repeats them.
    private var interned = HeaderInterner()
    /// Server: a request is whole. The handler answers with `respond` now or later.
    var onRequest: (Int32, HTTPRequest) -> Void = { _, _ in }
    /// A request refused by a limit; the server reports it (logs, metrics) and nothing else.
    var onRefused: (Int32, HTTPResponse) -> Void = { _, _ in }

    init(role: Role, settings: HTTP2Settings, limits: Limits) throws {
        self.role = role
        self.limits = limits
        var callbacks: OpaquePointer?
        guard nghttp2_session_callbacks_new(&callbacks) == 0, let callbacks else {
            throw HTTP2Error("nghttp2_session_callbacks_new failed")
        }
        defer { nghttp2_session_callbacks_del(callbacks) }
        H2Callbacks.install(callbacks)

        var option: OpaquePointer?
        guard nghttp2_option_new(&option) == 0, let option else { throw HTTP2Error("nghttp2_option_new failed") }
        defer { nghttp2_option_del(option) }
        // Bounded outbound control frames: a peer that floods PING/SETTINGS without reading
        // the ACKs is cut off by nghttp2 (NGHTTP2_ERR_FLOODED) instead of growing our queue.
        nghttp2_option_set_max_outbound_ack(option, 1000)
        nghttp2_option_set_max_settings(option, 32)

        var s: OpaquePointer?
        let me = Unmanaged.passUnretained(self).toOpaque()
        let rc = role == .server
            ? nghttp2_session_server_new3(&s, callbacks, me, option, nil)
            : nghttp2_session_client_new3(&s, callbacks, me, option, nil)
        guard rc == 0, let s else { throw HTTP2Error.nghttp2("nghttp2_session_new", Int(rc)) }
        session = s

        var iv: [nghttp2_settings_entry] = [
            .init(settings_id: Int32(NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS.rawValue), value: settings.maxConcurrentStreams),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE.rawValue), value: settings.initialWindowSize),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_MAX_FRAME_SIZE.rawValue), value: settings.maxFrameSize),
            .init(settings_id: Int32(NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE.rawValue), value: settings.maxHeaderListSize),
        ]
        if role == .client { iv.removeFirst() }
        let src = nghttp2_submit_settings(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), &iv, iv.count)
        guard src == 0 else { throw HTTP2Error.nghttp2("nghttp2_submit_settings", Int(src)) }
        // The connection window starts at 64 KiB whatever SETTINGS say; widen it so streams
        // are limited by their own window, not by each other.
        let connectionWindow = Int32(min(Int(settings.initialWindowSize) * 16, Int(Int32.max)))
        _ = nghttp2_session_set_local_window_size(s, UInt8(NGHTTP2_FLAG_NONE.rawValue), 0, connectionWindow)
    }

    deinit { if let session { nghttp2_session_del(session) } }

    // MARK: bytes in and out

    /// Feeds received bytes. A protocol error that nghttp2 answers with GOAWAY is not thrown
    /// (it is in the output); a fatal one is.
    func receive(_ bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        let n = nghttp2_session_mem_recv(session, base.assumingMemoryBound(to: UInt8.self), bytes.count)
        if n < 0 { throw HTTP2Error.nghttp2("nghttp2_session_mem_recv", n) }
    }

    /// Serialises pending frames, calling `write` with each chunk, until nothing is pending or
    /// `budget` bytes have been produced (the caller stops when its socket is full).
    @discardableResult
    func send(budget: Int = .max, _ write: (UnsafeRawBufferPointer) -> Void) throws -> Int {
        var total = 0
        while total < budget {
            var ptr: UnsafePointer<UInt8>?
            let n = nghttp2_session_mem_send(session, &ptr)
            if n < 0 { throw HTTP2Error.nghttp2("nghttp2_session_mem_send", n) }
            if n == 0 { break }
            write(UnsafeRawBufferPointer(start: ptr, count: n))
            total += n
        }
        return total
    }

    /// False once both sides are done (GOAWAY exchanged and no stream left): close the socket.
    var isAlive: Bool { nghttp2_session_want_read(session) != 0 || nghttp2_session_want_write(session) != 0 }

    /// Frames are queued that `send` would serialise now.
    var wantsWrite: Bool { nghttp2_session_want_write(session) != 0 }

    // MARK: server side

    func respond(stream id: Int32, _ response: HTTPResponse) {
        guard let s = stream(id), !s.responded else { return }
        s.responded = true
        let status = HTTPField(name: ":status", value: String(response.status))
        if response.body.isEmpty {
            // No body: one HEADERS frame, with gRPC's status in it when there are trailers
            // ("trailers-only", what gRPC servers send for errors).
            submit(status, response.headers.fields, response.trailers?.fields ?? [], nil) { nva, n in
                nghttp2_submit_response(session, id, nva, n, nil)
            }
            return
        }
        let length = response.trailers == nil ? HTTPField(name: "content-length", value: String(response.body.count)) : nil
        s.outBody = response.body
        s.outTrailers = response.trailers
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.readBody)
        withUnsafeMutablePointer(to: &provider) { prd in
            submit(status, response.headers.fields, [], length) { nva, n in nghttp2_submit_response(session, id, nva, n, prd) }
        }
    }

    /// Sends GOAWAY naming the last stream we accepted: those streams still complete, new ones
    /// are refused, and `isAlive` turns false when the last finishes.
    func goAway() {
        let last = nghttp2_session_get_last_proc_stream_id(session)
        _ = nghttp2_submit_goaway(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), last, UInt32(NGHTTP2_NO_ERROR.rawValue), nil, 0)
    }

    // MARK: client side

    /// Starts a request; `completion` runs once with the response or the stream's failure.
    func request(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, HTTP2Error>) -> Void) {
        let pseudo: [HTTPField] = [HTTPField(name: ":method", value: request.method), HTTPField(name: ":path", value: request.path),
                               HTTPField(name: ":scheme", value: request.scheme),
                               HTTPField(name: ":authority", value: request.authority ?? "localhost")]
        let stream = Stream(bodyLimit: limits.maxBodyBytes)
        stream.onResponse = completion
        stream.outBody = request.body
        var provider = nghttp2_data_provider(source: nghttp2_data_source(ptr: nil), read_callback: H2Callbacks.readBody)
        var id: Int32 = 0
        let length = request.body.isEmpty ? nil : HTTPField(name: "content-length", value: String(request.body.count))
        withUnsafeMutablePointer(to: &provider) { prd in
            submit(nil, pseudo, request.headers.fields, length) { nva, n in
                id = nghttp2_submit_request(session, nil, nva, n, request.body.isEmpty ? nil : prd,
                                            Unmanaged.passUnretained(stream).toOpaque())
                return id < 0 ? Int32(id) : 0
            }
        }
        if id < 0 {
            completion(.failure(HTTP2Error.nghttp2("nghttp2_submit_request", Int(id))))
            return
        }
        streams[id] = stream
    }

    /// Fails every client stream still waiting (the connection is gone).
    func failAll(_ error: HTTP2Error) {
        let pending = streams
        streams.removeAll()
        for (id, s) in pending {
            _ = nghttp2_session_set_stream_user_data(session, id, nil)
            s.onResponse?(.failure(error)); s.onResponse = nil
        }
    }

    // MARK: helpers

    /// Lays header names and values out for nghttp2, which copies them: `first`, the fields of
    /// `a`, those of `b`, then `last`. On the stack, since this runs for every response.
    private func submit(_ first: HTTPField?, _ a: [HTTPField], _ b: [HTTPField], _ last: HTTPField?,
                        _ call: (UnsafePointer<nghttp2_nv>, Int) -> Int32) {
        func forEachField(_ body: (HTTPField) -> Void) {
            if let first { body(first) }
            a.forEach(body)
            b.forEach(body)
            if let last { body(last) }
        }
        var count = 0, bytes = 0
        forEachField { count += 1; bytes += $0.name.utf8.count + $0.value.utf8.count }
        withUnsafeTemporaryAllocation(of: UInt8.self, capacity: max(bytes, 1)) { storage in
            withUnsafeTemporaryAllocation(of: nghttp2_nv.self, capacity: max(count, 1)) { nva in
                var used = 0, n = 0
                func copy(_ s: String) -> (UnsafeMutablePointer<UInt8>, Int) {
                    var s = s
                    return s.withUTF8 { u in
                        let at = storage.baseAddress! + used
                        if let src = u.baseAddress { at.initialize(from: src, count: u.count) }
                        used += u.count
                        return (at, u.count)
                    }
                }
                forEachField { f in
                    let (name, nlen) = copy(f.name), (value, vlen) = copy(f.value)
                    nva[n] = nghttp2_nv(name: name, value: value, namelen: nlen, valuelen: vlen,
                                        flags: UInt8(NGHTTP2_NV_FLAG_NONE.rawValue))
                    n += 1
                }
                // A failure here means nghttp2 already closed the stream (the peer reset it): the
                // answer has nowhere to go, so there is nothing to do.
                _ = call(UnsafePointer(nva.baseAddress!), n)
            }
        }
    }

    // MARK: callbacks (called by H2Callbacks on this session's thread)

    func beginHeaders(stream id: Int32, category: nghttp2_headers_category) {
        guard role == .server, category == NGHTTP2_HCAT_REQUEST else { return }
        let s = Stream(bodyLimit: limits.maxBodyBytes)
        streams[id] = s
        _ = nghttp2_session_set_stream_user_data(session, id, Unmanaged.passUnretained(s).toOpaque())
    }

    /// The stream's `Stream`, which nghttp2 keeps as the stream's user data: it looks the stream
    /// up anyway, where hashing the id into `streams` cost about 15 lookups per request. Falls back
    /// to `streams` for a stream nghttp2 has not opened yet; nil once it is closed.
    @inline(__always)
    private func stream(_ id: Int32) -> Stream? {
        if let p = nghttp2_session_get_stream_user_data(session, id) {
            return Unmanaged<Stream>.fromOpaque(p).takeUnretainedValue()
        }
        return streams[id]
    }

    func header(stream id: Int32, category: nghttp2_headers_category, name: UnsafeBufferPointer<UInt8>, value: UnsafeBufferPointer<UInt8>) {
        guard let s = stream(id) else { return }
        s.headerBytes += name.count + value.count + 32   // RFC 9113 §6.5.2's accounting
        if s.headerBytes > limits.maxHeaderListSize {
            if role == .server, s.refused == nil {
                s.refused = HTTPResponse(status: 431, contentType: "application/json",
                                         body: Array(#"{"error":"request header list exceeds \#(limits.maxHeaderListSize) bytes"}"#.utf8))
            }
            return
        }
        let (n, v, known) = interned.strings(name, value)
        let isTrailer = category == NGHTTP2_HCAT_HEADERS
        if isTrailer {
            if s.trailers == nil { s.trailers = HTTPHeaders() }
            s.trailers!.add(n, v)
            return
        }
        typealias K = HeaderInterner.Known
        if name.first == UInt8(ascii: ":") {
            switch known {
            case K.method: s.method = v
            case K.path: s.path = v
            case K.scheme: s.scheme = v
            case K.authority: s.authority = v
            case K.status: s.status = Int(v) ?? 0
            default: break
            }
            return
        }
        if role == .server, known == K.contentType, v.hasPrefix("application/grpc") {
            s.isGRPC = true
            s.bodyLimit = limits.maxGRPCMessageBytes + 5
        }
        if s.headers.fields.isEmpty { s.headers.fields.reserveCapacity(8) }
        s.headers.add(n, v)
    }

    func headersComplete(stream id: Int32, endStream: Bool) {
        guard let s = stream(id) else { return }
        // Only a request that presents a bearer token gets the upload limit (the service checks the
        // token itself); anyone else is held to the ordinary body limit.
        if role == .server, s.method == "PUT", let prefix = limits.uploadPathPrefix, s.path.hasPrefix(prefix),
           s.headers["authorization"]?.hasPrefix("Bearer ") == true {
            s.bodyLimit = limits.maxUploadBytes
        }
        if role == .server, s.refused == nil, let cl = s.headers["content-length"], let n = Int(cl), n > s.bodyLimit {
            s.refused = tooLarge(s)
        }
        if role == .server, let refusal = s.refused {
            refuse(id, s, refusal)
            return
        }
        if endStream { messageComplete(stream: id) }
    }

    func data(stream id: Int32, _ chunk: UnsafeBufferPointer<UInt8>) {
        guard let s = stream(id), s.refused == nil else { return }
        if s.body.count + chunk.count > s.bodyLimit {
            s.body = []
            if role == .server {
                let r = tooLarge(s)
                s.refused = r
                refuse(id, s, r)
            } else {
                _ = nghttp2_submit_rst_stream(session, UInt8(NGHTTP2_FLAG_NONE.rawValue), id, UInt32(NGHTTP2_CANCEL.rawValue))
                s.onResponse?(.failure(HTTP2Error("response body exceeds \(s.bodyLimit) bytes")))
                s.onResponse = nil
            }
            return
        }
        // Reserve what Content-Length announces, but never more than the ordinary limit up front:
        // an upload grows as its bytes actually arrive.
        if s.body.isEmpty, let cl = s.headers["content-length"], let n = Int(cl), n <= s.bodyLimit {
            s.body.reserveCapacity(min(n, limits.maxBodyBytes))
        }
        s.body.append(contentsOf: chunk)
    }

    func messageComplete(stream id: Int32) {
        guard let s = stream(id), s.refused == nil, !s.dispatched else { return }
        s.dispatched = true
        switch role {
        case .server:
            let req = HTTPRequest(method: s.method, path: s.path, authority: s.authority, scheme: s.scheme,
                                  headers: s.headers, body: s.body, version: .http2)
            s.body = []
            onRequest(id, req)
        case .client:
            let resp = HTTPResponse(status: s.status, headers: s.headers, body: s.body, trailers: s.trailers)
            s.onResponse?(.success(resp))
            s.onResponse = nil
        }
    }

    func streamClosed(stream id: Int32, errorCode: UInt32) {
        _ = nghttp2_session_set_stream_user_data(session, id, nil)
        guard let s = streams.removeValue(forKey: id) else { return }
        if let cb = s.onResponse {
            let reason = errorCode == 0 ? "stream closed before a response" :
                "stream reset by peer: \(String(cString: nghttp2_http2_strerror(errorCode)))"
            cb(.failure(HTTP2Error(reason, retryable: errorCode == NGHTTP2_REFUSED_STREAM.rawValue)))
        }
    }

    func readBody(stream id: Int32, into buf: UnsafeMutablePointer<UInt8>, length: Int, flags: UnsafeMutablePointer<UInt32>) -> Int {
        guard let s = stream(id) else { return Int(NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE.rawValue) }
        let n = min(length, s.outBody.count - s.outOffset)
        s.outBody.withUnsafeBufferPointer { src in
            (buf).update(from: src.baseAddress! + s.outOffset, count: n)
        }
        s.outOffset += n
        if s.outOffset == s.outBody.count {
            flags.pointee |= NGHTTP2_DATA_FLAG_EOF.rawValue
            s.outBody = []
            s.outOffset = 0
            if let t = s.outTrailers {
                flags.pointee |= NGHTTP2_DATA_FLAG_NO_END_STREAM.rawValue
                submit(nil, t.fields, [], nil) { nva, n in nghttp2_submit_trailer(session, id, nva, n) }
            }
        }
        return n
    }

    private func tooLarge(_ s: Stream) -> HTTPResponse {
        if s.isGRPC {
            return GRPCWire.response(.failure(.resourceExhausted, "request message larger than max (\(s.bodyLimit - 5) bytes)"))
        }
        return HTTPResponse.bodyTooLarge(limit: s.bodyLimit)
    }

    /// Answers now and resets the stream so the client stops sending the rest of the body:
    /// "read no further" without waiting for bytes we would throw away.
    private func refuse(_ id: Int32, _ s: Stream, _ response: HTTPResponse) {
        onRefused(id, response)
        respond(stream: id, response)
    }
}
