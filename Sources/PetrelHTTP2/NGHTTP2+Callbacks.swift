import CNGHTTP2

/// Every nghttp2 callback in one place. Each trampoline recovers the `H2Session` from
/// `user_data` (unretained: the session owns the nghttp2 object, never the reverse) and calls
/// a Swift method; none of them can fail the whole session.
enum H2Callbacks {
    static func install(_ cbs: OpaquePointer) {
        nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, onBeginHeaders)
        nghttp2_session_callbacks_set_on_header_callback(cbs, onHeader)
        nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, onFrameRecv)
        nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, onDataChunk)
        nghttp2_session_callbacks_set_on_stream_close_callback(cbs, onStreamClose)
    }

    @inline(__always)
    private static func session(_ user: UnsafeMutableRawPointer?) -> H2Session {
        Unmanaged<H2Session>.fromOpaque(user!).takeUnretainedValue()
    }

    private static let headersType = UInt8(NGHTTP2_HEADERS.rawValue)
    private static let dataType = UInt8(NGHTTP2_DATA.rawValue)
    private static let endStream = UInt8(NGHTTP2_FLAG_END_STREAM.rawValue)
    private static let endHeaders = UInt8(NGHTTP2_FLAG_END_HEADERS.rawValue)

    static let onBeginHeaders: nghttp2_on_begin_headers_callback = { _, frame, user in
        guard let frame, frame.pointee.hd.type == headersType else { return 0 }
        session(user).beginHeaders(stream: frame.pointee.hd.stream_id, category: frame.pointee.headers.cat)
        return 0
    }

    static let onHeader: nghttp2_on_header_callback = { _, frame, name, namelen, value, valuelen, _, user in
        guard let frame, frame.pointee.hd.type == headersType else { return 0 }
        session(user).header(stream: frame.pointee.hd.stream_id, category: frame.pointee.headers.cat,
                             name: UnsafeBufferPointer(start: name, count: namelen),
                             value: UnsafeBufferPointer(start: value, count: valuelen))
        return 0
    }

    static let onFrameRecv: nghttp2_on_frame_recv_callback = { _, frame, user in
        guard let frame else { return 0 }
        let hd = frame.pointee.hd
        let s = session(user)
        if hd.type == headersType {
            let isTrailer = frame.pointee.headers.cat == NGHTTP2_HCAT_HEADERS
            if isTrailer {
                if hd.flags & endStream != 0 { s.messageComplete(stream: hd.stream_id) }
            } else {
                s.headersComplete(stream: hd.stream_id, endStream: hd.flags & endStream != 0)
            }
        } else if hd.type == dataType, hd.flags & endStream != 0 {
            s.messageComplete(stream: hd.stream_id)
        }
        return 0
    }

    static let onDataChunk: nghttp2_on_data_chunk_recv_callback = { _, _, streamID, data, len, user in
        session(user).data(stream: streamID, UnsafeBufferPointer(start: data, count: len))
        return 0
    }

    static let onStreamClose: nghttp2_on_stream_close_callback = { _, streamID, errorCode, user in
        session(user).streamClosed(stream: streamID, errorCode: errorCode)
        return 0
    }

    static let readBody: nghttp2_data_source_read_callback = { _, streamID, buf, length, flags, _, user in
        session(user).readBody(stream: streamID, into: buf!, length: length, flags: flags!)
    }
}
