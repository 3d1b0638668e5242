import NIOCore
import NIOPosix

/// An h2c client over TCP or a Unix socket: one connection, many concurrent streams. The
/// gateway will reach workers with it, and `petrel invoke` reaches the server.
public final class HTTP2Client: @unchecked Sendable {
    private let channel: Channel
    private let handler: HTTP2ClientHandler
    private let ownedGroup: EventLoopGroup?

    private init(channel: Channel, handler: HTTP2ClientHandler, ownedGroup: EventLoopGroup?) {
        self.channel = channel; self.handler = handler; self.ownedGroup = ownedGroup
    }

    /// Connects; pass `group` to share event loops, or one thread is started for this client.
    public static func connect(to address: ServerConfiguration.Address, group: EventLoopGroup? = nil,
                               settings: HTTP2Settings = HTTP2Settings(),
                               maxResponseBytes: Int = 256 << 20) throws -> HTTP2Client {
        let owned: EventLoopGroup? = group == nil ? MultiThreadedEventLoopGroup(numberOfThreads: 1) : nil
        let g = group ?? owned!
        let handler = try HTTP2ClientHandler(settings: settings, maxResponseBytes: maxResponseBytes)
        let bootstrap = ClientBootstrap(group: g)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        do {
            let channel: Channel
            switch address {
            case .tcp(let host, let port): channel = try bootstrap.connect(host: host, port: port).wait()
            case .unix(let path): channel = try bootstrap.connect(unixDomainSocketPath: path).wait()
            }
            return HTTP2Client(channel: channel, handler: handler, ownedGroup: owned)
        } catch {
            try? owned?.syncShutdownGracefully()
            throw error
        }
    }

    /// Connects without blocking: for callers on an event loop (the gateway reaching a worker).
    public static func connect(to address: ServerConfiguration.Address, group: EventLoopGroup,
                               settings: HTTP2Settings = HTTP2Settings(),
                               maxResponseBytes: Int = 256 << 20) -> EventLoopFuture<HTTP2Client> {
        let handler: HTTP2ClientHandler
        do { handler = try HTTP2ClientHandler(settings: settings, maxResponseBytes: maxResponseBytes) } catch {
            return group.next().makeFailedFuture(error)
        }
        let bootstrap = ClientBootstrap(group: group)
            .channelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(handler) }
            }
        let connected: EventLoopFuture<Channel>
        switch address {
        case .tcp(let host, let port): connected = bootstrap.connect(host: host, port: port)
        case .unix(let path): connected = bootstrap.connect(unixDomainSocketPath: path)
        }
        return connected.map { HTTP2Client(channel: $0, handler: handler, ownedGroup: nil) }
    }

    /// Closes the connection without waiting (safe on an event loop).
    public func closeSoon() { channel.close(promise: nil) }

    /// The connection is open (a closed one fails every request at once).
    public var isActive: Bool { channel.isActive }

    /// The loop this client's connection runs on; `send`'s completion runs there.
    public var eventLoop: EventLoop { channel.eventLoop }

    /// Sends one request; the future fails if the stream is reset or the connection drops.
    public func send(_ request: HTTPRequest) -> EventLoopFuture<HTTPResponse> {
        let promise = channel.eventLoop.makePromise(of: HTTPResponse.self)
        send(request) { promise.completeWith($0.mapError { $0 }) }
        return promise.futureResult
    }

    /// Sends one request; `completion` runs once, on `eventLoop`, with the response or the
    /// failure. The gateway's per-request form: a promise and its future cost ~2,000
    /// instructions (NIO's generic future looks up its metadata at run time, and each callback
    /// is one more allocation), a few percent of a proxied request.
    public func send(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, HTTP2Error>) -> Void) {
        if channel.eventLoop.inEventLoop {
            handler.start(request, completion: completion)
        } else {
            channel.eventLoop.execute { [handler] in handler.start(request, completion: completion) }
        }
    }

    public func send(_ request: HTTPRequest) async throws -> HTTPResponse {
        try await send(request).get()
    }

    public func close() {
        try? channel.close().wait()
        try? ownedGroup?.syncShutdownGracefully()
    }
}

final class HTTP2ClientHandler: ChannelInboundHandler, @unchecked Sendable {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let session: H2Session
    private var context: ChannelHandlerContext?
    private var inRead = false

    init(settings: HTTP2Settings, maxResponseBytes: Int) throws {
        session = try H2Session(role: .client, settings: settings,
                                limits: .init(maxBodyBytes: maxResponseBytes, maxGRPCMessageBytes: maxResponseBytes,
                                              maxHeaderListSize: 1 << 20))
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }

    func channelActive(context: ChannelHandlerContext) {
        flush()
        context.fireChannelActive()
    }

    func start(_ request: HTTPRequest, completion: @escaping (Result<HTTPResponse, HTTP2Error>) -> Void) {
        guard let context, context.channel.isActive else {
            completion(.failure(HTTP2Error("connection closed before the request was sent", retryable: true)))
            return
        }
        session.request(request, completion: completion)
        if !inRead { flush() }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        inRead = true
        do {
            try buffer.withUnsafeReadableBytes { try session.receive($0) }
        } catch {
            session.failAll(error as? HTTP2Error ?? HTTP2Error("\(error)"))
            context.close(promise: nil)
        }
        inRead = false
    }

    func channelReadComplete(context: ChannelHandlerContext) { flush() }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable { flush() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        session.failAll(HTTP2Error("connection closed by server"))
        self.context = nil
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        session.failAll(HTTP2Error("connection error: \(error)"))
        context.close(promise: nil)
    }

    private func flush() {
        guard let context else { return }
        do { try session.drain(into: context) } catch {
            session.failAll(error as? HTTP2Error ?? HTTP2Error("\(error)"))
            context.close(promise: nil)
        }
    }
}
