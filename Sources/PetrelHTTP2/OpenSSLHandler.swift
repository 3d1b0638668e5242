import COpenSSL
import NIOCore

/// A server `SSL_CTX`: certificate chain, key, TLS 1.2 or newer, ALPN preferring `h2` and
/// falling back to `http/1.1` (clients without ALPN also get HTTP/1.1; the sniffer after TLS
/// tells them apart by their first bytes either way).
final class TLSContext: @unchecked Sendable {
    let ctx: OpaquePointer

    init(server config: TLSConfiguration) throws {
        guard let ctx = SSL_CTX_new(TLS_server_method()) else { throw TLSError.last("SSL_CTX_new") }
        self.ctx = ctx
        _ = SSL_CTX_ctrl(ctx, SSL_CTRL_SET_MIN_PROTO_VERSION, Int(TLS1_2_VERSION), nil)
        guard SSL_CTX_use_certificate_chain_file(ctx, config.certificatePath) == 1 else {
            throw TLSError.last("cannot load TLS certificate \(config.certificatePath)")
        }
        guard SSL_CTX_use_PrivateKey_file(ctx, config.privateKeyPath, SSL_FILETYPE_PEM) == 1 else {
            throw TLSError.last("cannot load TLS private key \(config.privateKeyPath)")
        }
        guard SSL_CTX_check_private_key(ctx) == 1 else {
            throw TLSError.last("TLS private key \(config.privateKeyPath) does not match certificate \(config.certificatePath)")
        }
        SSL_CTX_set_alpn_select_cb(ctx, alpnSelect, nil)
    }

    deinit { SSL_CTX_free(ctx) }
}

public struct TLSError: Error, CustomStringConvertible {
    public var description: String
    static func last(_ what: String) -> TLSError {
        let code = ERR_get_error()
        ERR_clear_error()
        guard code != 0 else { return TLSError(description: what) }
        var buf = [CChar](repeating: 0, count: 256)
        ERR_error_string_n(code, &buf, buf.count)
        return TLSError(description: "\(what): \(String(cString: buf))")
    }
}

/// Our ALPN preference, wire-encoded; allocated once because OpenSSL keeps the pointer.
private let alpnServerProtocols: (UnsafeMutablePointer<UInt8>, UInt32) = {
    let wire: [UInt8] = [2] + Array("h2".utf8) + [8] + Array("http/1.1".utf8)
    let p = UnsafeMutablePointer<UInt8>.allocate(capacity: wire.count)
    p.initialize(from: wire, count: wire.count)
    return (p, UInt32(wire.count))
}()

private let alpnSelect: @convention(c) (OpaquePointer?, UnsafeMutablePointer<UnsafePointer<UInt8>?>?, UnsafeMutablePointer<UInt8>?,
                                         UnsafePointer<UInt8>?, UInt32, UnsafeMutableRawPointer?) -> Int32 = { _, out, outlen, inp, inlen, _ in
    guard let out, let outlen, let inp else { return SSL_TLSEXT_ERR_NOACK }
    let rc = out.withMemoryRebound(to: UnsafeMutablePointer<UInt8>?.self, capacity: 1) { o in
        SSL_select_next_proto(o, outlen, alpnServerProtocols.0, alpnServerProtocols.1, inp, inlen)
    }
    return rc == OPENSSL_NPN_NEGOTIATED ? SSL_TLSEXT_ERR_OK : SSL_TLSEXT_ERR_NOACK
}

/// TLS through OpenSSL memory BIOs: ciphertext from the socket goes into `rbio`, plaintext comes
/// out of `SSL_read`; plaintext writes go through `SSL_write` and the ciphertext is drained from
/// `wbio`. A failed handshake (garbage, wrong protocol) closes only this connection.
final class OpenSSLServerHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let ssl: OpaquePointer
    private let rbio: OpaquePointer
    private let wbio: OpaquePointer
    private var handshakeDone = false
    private var pendingWrites: [(ByteBuffer, EventLoopPromise<Void>?)] = []
    private var failed = false

    init(context tls: TLSContext) throws {
        guard let ssl = SSL_new(tls.ctx), let r = BIO_new(BIO_s_mem()), let w = BIO_new(BIO_s_mem()) else {
            throw TLSError.last("SSL_new")
        }
        SSL_set_bio(ssl, r, w)
        SSL_set_accept_state(ssl)
        self.ssl = ssl; self.rbio = r; self.wbio = w
    }

    deinit { SSL_free(ssl) }   // frees both BIOs

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        let cipher = unwrapInboundIn(data)
        cipher.withUnsafeReadableBytes { p in
            if let base = p.baseAddress { _ = BIO_write(rbio, base, Int32(p.count)) }
        }
        if !handshakeDone {
            ERR_clear_error()
            let rc = SSL_do_handshake(ssl)
            if rc == 1 {
                handshakeDone = true
                let queued = pendingWrites
                pendingWrites = []
                for (buf, promise) in queued { encrypt(context: context, buf, promise: promise) }
            } else {
                let err = SSL_get_error(ssl, rc)
                if err != SSL_ERROR_WANT_READ && err != SSL_ERROR_WANT_WRITE {
                    fail(context: context)
                    return
                }
            }
            drainCipher(context: context, promise: nil)
            context.flush()
            guard handshakeDone else { return }
        }
        readPlaintext(context: context)
    }

    private func readPlaintext(context: ChannelHandlerContext) {
        var out = context.channel.allocator.buffer(capacity: 16 << 10)
        while true {
            out.reserveCapacity(minimumWritableBytes: 16 << 10)
            ERR_clear_error()
            let n = out.writeWithUnsafeMutableBytes(minimumWritableBytes: 16 << 10) { p in
                Int(max(0, SSL_read(ssl, p.baseAddress, Int32(min(p.count, Int(Int32.max))))))
            }
            if n > 0 { continue }
            let err = SSL_get_error(ssl, 0)
            if err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE { break }
            if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
            if err == SSL_ERROR_ZERO_RETURN { context.close(promise: nil) } else { fail(context: context) }
            return
        }
        // Post-handshake messages (session tickets) may be waiting to go out.
        if BIO_ctrl_pending(wbio) > 0 { drainCipher(context: context, promise: nil); context.flush() }
        if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let plain = unwrapOutboundIn(data)
        if handshakeDone { encrypt(context: context, plain, promise: promise) } else { pendingWrites.append((plain, promise)) }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if handshakeDone && !failed {
            ERR_clear_error()
            _ = SSL_shutdown(ssl)
            drainCipher(context: context, promise: nil)
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }

    private func encrypt(context: ChannelHandlerContext, _ plain: ByteBuffer, promise: EventLoopPromise<Void>?) {
        plain.withUnsafeReadableBytes { p in
            var off = 0
            while off < p.count {
                ERR_clear_error()
                let n = SSL_write(ssl, p.baseAddress! + off, Int32(min(p.count - off, 1 << 30)))
                if n <= 0 { break }
                off += Int(n)
            }
        }
        drainCipher(context: context, promise: promise)
    }

    private func drainCipher(context: ChannelHandlerContext, promise: EventLoopPromise<Void>?) {
        let pending = Int(BIO_ctrl_pending(wbio))
        guard pending > 0 else { promise?.succeed(); return }
        var out = context.channel.allocator.buffer(capacity: pending)
        out.writeWithUnsafeMutableBytes(minimumWritableBytes: pending) { p in
            Int(max(0, BIO_read(wbio, p.baseAddress, Int32(pending))))
        }
        context.write(wrapOutboundOut(out), promise: promise)
    }

    private func fail(context: ChannelHandlerContext) {
        failed = true
        ERR_clear_error()
        drainCipher(context: context, promise: nil)   // the alert, if OpenSSL wrote one
        context.flush()
        for (_, p) in pendingWrites { p?.fail(ChannelError.ioOnClosedChannel) }
        pendingWrites = []
        context.close(promise: nil)
    }
}
