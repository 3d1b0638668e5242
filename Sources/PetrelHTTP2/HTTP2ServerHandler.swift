import NIOCore

/// Asks a connection to finish: HTTP/2 sends GOAWAY and lets in-flight streams complete;
/// HTTP/1 closes after the response in flight.
public struct GracefulShutdownEvent: Sendable { public init() {} }

/// Drives one server-side `H2Session` from a NIO channel.
///
/// Backpressure: frames are serialised only while the channel is writable, and while it is not
/// the handler holds back `read()`, so a client that stops reading stops being read: it cannot
/// make us queue responses (or nghttp2 queue frames) beyond the channel's write watermark.
final class HTTP2ServerHandler: ChannelDuplexHandler, ResponseSink, DeferredFlush, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: H2Session
    private let service: HTTPService
    private var context: ChannelHandlerContext?
    private var inRead = false
    private var heldRead = false
    private var flushPending = false
    private let events: ConnectionEvents?
    private let uploadFromAnywhere: Bool

    init(configuration: ServerConfiguration, service: HTTPService, events: ConnectionEvents?) throws {
        uploadFromAnywhere = configuration.uploadFromAnywhere
        session = try H2Session(role: .server, settings: configuration.settings,
                                limits: .init(maxBodyBytes: configuration.maxRequestBodyBytes,
                                              maxGRPCMessageBytes: configuration.maxGRPCMessageBytes,
                                              maxHeaderListSize: Int(configuration.settings.maxHeaderListSize),
                                              uploadPathPrefix: configuration.uploadPathPrefix,
                                              maxUploadBytes: configuration.maxUploadBytes))
        self.service = service
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        let eventLoop = context.eventLoop
        let loopback = context.channel.remoteAddress?.isLoopback ?? true
        if !loopback && !uploadFromAnywhere { session.limits.uploadPathPrefix = nil }
        session.onRequest = { [unowned self] id, request in
            var request = request
            request.fromLoopback = loopback
            service.handle(request, responder: HTTPResponder(eventLoop: eventLoop, sink: self, stream: id))
        }
        session.onRefused = { [weak events] _, response in events?.refused(status: response.status) }
        // Added by the protocol sniffer, the connection is live: send SETTINGS now. Added at
        // accept (`http2Only`), the channel is not registered yet: `channelActive` sends them.
        if context.channel.isActive { flush() }
    }

    func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        inRead = true
        do {
            try buffer.withUnsafeReadableBytes { try session.receive($0) }
        } catch {
            // nghttp2 queued GOAWAY where the protocol allows; send it, then hang up.
            inRead = false
            flush()
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        inRead = false
        flush()
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.failAll(HTTP2Error("connection closed"))
        self.context = nil
        context.fireChannelInactive()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            flush()
            if heldRead { heldRead = false; context.read() }
        }
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if context.channel.isWritable { context.read() } else { heldRead = true }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            session.goAway()
            flush()
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    // MARK: ResponseSink

    /// An answer given in a read is written at the read's end; one given inside
    /// `ResponseFlushing.batched` (a batch of inferences) when that ends, so a batch's answers on
    /// one connection leave in one `write`; any other at once. (Deferring the others with
    /// `eventLoop.execute` cost a prewarmed cold start about 1 ms: a task scheduled from inside
    /// another task can wait for the loop's next timer tick.)
    func complete(stream: Int32, response: HTTPResponse) {
        guard context != nil else { return }
        session.respond(stream: stream, response)
        if inRead || flushPending { return }
        if ResponseFlushing.defer(self) { flushPending = true } else { flush() }
    }

    func flushDeferred() {
        flushPending = false
        flush()
    }

    /// Moves nghttp2's pending frames into the channel while it is writable.
    private func flush() {
        guard let context else { return }
        do { try session.drain(into: context) } catch {
            context.close(promise: nil)
            return
        }
        if !session.isAlive { context.close(promise: nil) }
    }
}

extension H2Session {
    /// Serialises pending frames into `context`'s channel while it stays writable (in 256 KiB
    /// steps, so the watermark is checked between them), then flushes once. A buffer is taken
    /// only while nghttp2 has frames to send: the loop's last, empty round used to allocate one
    /// for nothing, on every drain (three per proxied request in the gateway).
    func drain(into context: ChannelHandlerContext) throws {
        var wrote = false
        while wantsWrite && context.channel.isWritable {
            var out = context.channel.allocator.buffer(capacity: 4096)
            let n = try send(budget: 256 << 10) { out.writeBytes($0) }
            if n == 0 { break }
            context.write(NIOAny(out), promise: nil)
            wrote = true
        }
        if wrote { context.flush() }
    }
}
