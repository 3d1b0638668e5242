import NIOCore
import NIOHTTP1

/// Serves HTTP/1.1 clients with the same `HTTPService`. NIO's pipelining assistant (installed in
/// front of this handler) holds the next request until the current response is written, so one
/// request is in flight at a time.
final class HTTP1ServerHandler: ChannelInboundHandler, ResponseSink, @unchecked Sendable {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxBodyBytes: Int
    private let service: HTTPService
    private let scheme: String
    private var context: ChannelHandlerContext?
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var refused = false
    private var current: Int32 = 0
    private var keepAlive = true
    private var closeAfterResponse = false
    private var responding = false
    private let events: ConnectionEvents?
    /// Decided once per connection, not per request.
    private var fromLoopback = true

    init(maxBodyBytes: Int, service: HTTPService, scheme: String, events: ConnectionEvents?) {
        self.maxBodyBytes = maxBodyBytes
        self.service = service
        self.scheme = scheme
        self.events = events
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        fromLoopback = context.channel.remoteAddress?.isLoopback ?? true
    }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            body = []
            refused = false
            keepAlive = h.isKeepAlive
            if let cl = h.headers.first(name: "content-length").flatMap(Int.init), cl > maxBodyBytes {
                refuseTooLarge()
            }
        case .body(var chunk):
            guard !refused else { return }
            if body.count + chunk.readableBytes > maxBodyBytes {
                refuseTooLarge()
                return
            }
            body.append(contentsOf: chunk.readableBytesView)
        case .end:
            guard !refused, let h = head else { return }
            current &+= 1
            var headers = HTTPHeaders()
            for (n, v) in h.headers { headers.add(n.lowercased(), v) }
            var request = HTTPRequest(method: h.method.rawValue, path: h.uri, authority: h.headers.first(name: "host"),
                                      scheme: scheme, headers: headers, body: body, version: .http1_1)
            request.fromLoopback = fromLoopback
            body = []
            responding = true
            service.handle(request, responder: HTTPResponder(eventLoop: context.eventLoop, sink: self, stream: current))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is GracefulShutdownEvent {
            if responding { closeAfterResponse = true } else { context.close(promise: nil) }
        } else {
            context.fireUserInboundEventTriggered(event)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        context.close(promise: nil)
    }

    /// A body over the limit is answered at once and the connection closed: the rest of it is
    /// never read.
    private func refuseTooLarge() {
        refused = true
        closeAfterResponse = true
        let r = HTTPResponse.bodyTooLarge(limit: maxBodyBytes)
        events?.refused(status: 413)
        current &+= 1
        responding = true
        complete(stream: current, response: r)
    }

    func complete(stream: Int32, response: HTTPResponse) {
        guard let context, stream == current, responding else { return }
        responding = false
        var headers = NIOHTTP1.HTTPHeaders()
        for f in response.headers.fields { headers.add(name: f.name, value: f.value) }
        // HTTP/1 has no trailers here: gRPC-style status goes with the headers.
        for f in response.trailers?.fields ?? [] { headers.add(name: f.name, value: f.value) }
        headers.replaceOrAdd(name: "content-length", value: String(response.body.count))
        let close = closeAfterResponse || !keepAlive
        if close { headers.replaceOrAdd(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: .http1_1, status: HTTPResponseStatus(statusCode: response.status), headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if !response.body.isEmpty {
            var buf = context.channel.allocator.buffer(capacity: response.body.count)
            buf.writeBytes(response.body)
            context.write(wrapOutboundOut(.body(.byteBuffer(buf))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close { done.whenComplete { _ in context.close(promise: nil) } }
    }
}
