import NIOCore
import NIOHTTP1

/// Tells an HTTP/2 connection preface from an HTTP/1 request line on the first bytes, then
/// installs the matching handlers and steps out of the pipeline. One port serves both, as
/// nghttpx and Envoy do.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)
    private var buffered: ByteBuffer?
    private let install: (ChannelHandlerContext, Bool) throws -> Void

    /// `install(context, isHTTP2)` adds the protocol's handlers at the end of the pipeline.
    init(install: @escaping (ChannelHandlerContext, Bool) throws -> Void) { self.install = install }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var incoming = unwrapInboundIn(data)
        if buffered == nil { buffered = incoming } else { buffered!.writeBuffer(&incoming) }
        let bytes = buffered!.readableBytesView
        let n = min(bytes.count, Self.preface.count)
        let matches = bytes.prefix(n).elementsEqual(Self.preface.prefix(n))
        guard !matches || n == Self.preface.count else { return }   // a prefix of the preface: wait
        do {
            try install(context, matches)
        } catch {
            context.close(promise: nil)
            return
        }
        let pending = buffered!
        buffered = nil
        context.fireChannelRead(wrapInboundOut(pending))
        context.fireChannelReadComplete()
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }
}
