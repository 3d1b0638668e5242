import NIOCore
import NIOPosix
import NIOHTTP1
import Foundation

/// Transport-level happenings the serving layer counts (the transport itself keeps no metrics).
public protocol ConnectionEvents: AnyObject, Sendable {
    /// A request was refused by a transport limit (413, 431, gRPC RESOURCE_EXHAUSTED) before a
    /// service saw it.
    func refused(status: Int)
}

/// The HTTP/2 (+ HTTP/1.1, + TLS) server: one event loop per core, every connection sniffed for
/// its protocol (unless `http2Only`), every complete request handed to one `HTTPService`.
public final class HTTPServer: @unchecked Sendable {
    public let configuration: ServerConfiguration
    private let group: MultiThreadedEventLoopGroup
    /// A group passed in belongs to the caller, who shuts it down after its own clean-up.
    private let ownsGroup: Bool
    private let service: HTTPService
    private let events: ConnectionEvents?
    private let tls: TLSContext?
    private var serverChannel: Channel?
    private let lock = NSLock()
    private var connections: [ObjectIdentifier: Channel] = [:]
    private var closedAll: [EventLoopPromise<Void>] = []

    /// `group`: event loops to share with the caller (the gateway's pools and worker clients run
    /// on the same loops as the connections, so forwarding needs no thread hop).
    public init(configuration: ServerConfiguration, service: HTTPService, events: ConnectionEvents? = nil,
                group: MultiThreadedEventLoopGroup? = nil) throws {
        self.configuration = configuration
        self.service = service
        self.events = events
        self.tls = try configuration.tls.map { try TLSContext(server: $0) }
        self.group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: configuration.eventLoopCount)
        ownsGroup = group == nil
    }

    /// Binds and starts accepting. Returns the bound address (port 0 picks a free port).
    @discardableResult
    public func start() throws -> SocketAddress {
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(ChannelOptions.backlog, value: 1024)
            .serverChannelOption(ChannelOptions.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(ChannelOptions.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(ChannelOptions.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [unowned self] channel in
                channel.eventLoop.makeCompletedFuture { try self.initialize(channel) }
            }
        let channel: Channel
        if let listener = configuration.inheritedListener {
            channel = try bootstrap.withBoundSocket(listener).wait()
        } else {
            switch configuration.address {
            case .tcp(let host, let port):
                channel = try bootstrap.bind(host: host, port: port).wait()
            case .unix(let path):
                unlink(path)   // not FileManager: its first use costs a worker's cold start ~1 ms
                channel = try bootstrap.bind(unixDomainSocketPath: path).wait()
            }
        }
        serverChannel = channel
        return channel.localAddress!
    }

    private func initialize(_ channel: Channel) throws {
        register(channel)
        let config = configuration, service = self.service, events = self.events
        let scheme = tls == nil ? "http" : "https"
        if let tls {
            try channel.pipeline.syncOperations.addHandler(OpenSSLServerHandler(context: tls))
        }
        if config.http2Only && tls == nil {
            return try channel.pipeline.syncOperations.addHandler(HTTP2ServerHandler(configuration: config, service: service, events: events))
        }
        let sniffer = ProtocolSniffer { context, isHTTP2 in
            let ops = context.pipeline.syncOperations
            if isHTTP2 {
                try ops.addHandler(HTTP2ServerHandler(configuration: config, service: service, events: events))
            } else {
                try ops.configureHTTPServerPipeline(withPipeliningAssistance: true, withErrorHandling: true)
                try ops.addHandler(HTTP1ServerHandler(maxBodyBytes: config.maxRequestBodyBytes, service: service,
                                                      scheme: scheme, events: events))
            }
        }
        try channel.pipeline.syncOperations.addHandler(sniffer)
    }

    private func register(_ channel: Channel) {
        let id = ObjectIdentifier(channel)
        lock.withLock { connections[id] = channel }
        channel.closeFuture.whenComplete { [weak self] _ in
            guard let self else { return }
            let waiters: [EventLoopPromise<Void>] = self.lock.withLock {
                self.connections[id] = nil
                guard self.connections.isEmpty else { return [] }
                defer { self.closedAll.removeAll() }
                return self.closedAll
            }
            waiters.forEach { $0.succeed() }
        }
    }

    /// Stops accepting, asks every connection to finish (GOAWAY; in-flight streams complete),
    /// waits up to the grace period, then closes what is left and stops the event loops.
    public func shutdownGracefully() {
        try? serverChannel?.close().wait()
        let open = lock.withLock { Array(connections.values) }
        if !open.isEmpty {
            let done = group.next().makePromise(of: Void.self)
            let none: Bool = lock.withLock {
                closedAll.append(done)
                return connections.isEmpty
            }
            if none { done.succeed() }
            for c in open { c.pipeline.fireUserInboundEventTriggered(GracefulShutdownEvent()) }
            let deadline = group.next().scheduleTask(in: .milliseconds(Int64(configuration.shutdownGraceSeconds * 1000))) {
                done.succeed()
            }
            try? done.futureResult.wait()
            deadline.cancel()
            for c in lock.withLock({ Array(connections.values) }) { c.close(promise: nil) }
        }
        if ownsGroup { try? group.syncShutdownGracefully() }
        if case .unix(let path) = configuration.address { try? FileManager.default.removeItem(atPath: path) }
    }
}
