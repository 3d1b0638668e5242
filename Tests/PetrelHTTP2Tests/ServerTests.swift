import Testing
import Foundation
import NIOCore
import NIOPosix
@testable import PetrelHTTP2

/// Echoes the request: method, path and body back, with a header per request header.
/// `/slow/N` answers after N ms from another thread, like a model on the thread pool.
final class EchoService: HTTPService, @unchecked Sendable {
    func handle(_ request: HTTPRequest, responder: HTTPResponder) {
        var r = HTTPResponse(status: 200, headers: ["content-type": "application/octet-stream",
                                                    "x-method": request.method, "x-path": request.path,
                                                    "x-version": request.version == .http2 ? "2" : "1.1"],
                             body: request.body)
        if request.path.hasPrefix("/big/"), let n = Int(request.path.dropFirst(5)) {
            r.body = [UInt8](repeating: 0x61, count: n)
        }
        if request.path.hasPrefix("/slow/"), let ms = Int(request.path.dropFirst(6)) {
            let answer = r
            DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(ms)) { responder.respond(answer) }
            return
        }
        responder.respond(r)
    }
}

func startServer(_ configure: (inout ServerConfiguration) -> Void = { _ in }, service: HTTPService? = nil) throws -> (HTTPServer, Int) {
    var config = ServerConfiguration()
    config.address = .tcp(host: "127.0.0.1", port: 0)
    config.eventLoopThreads = 2
    config.shutdownGraceSeconds = 5
    configure(&config)
    let router = GRPCRouter(maxMessageBytes: config.maxGRPCMessageBytes, fallback: service ?? EchoService())
    router.register(service: "test.Echo", method: "Unary") { call, done in done(.ok(call.message)) }
    router.register(service: "test.Echo", method: "Slow") { call, done in
        DispatchQueue.global().asyncAfter(deadline: .now() + .milliseconds(300)) { done(.ok(call.message)) }
    }
    let server = try HTTPServer(configuration: config, service: router)
    let addr = try server.start()
    return (server, addr.port ?? 0)
}

func run(_ exe: String, _ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: exe)
    p.arguments = args
    let out = Pipe(), err = Pipe()
    p.standardOutput = out; p.standardError = err
    try p.run()
    let o = out.fileHandleForReading.readDataToEndOfFile()
    let e = err.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    return (p.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

@Suite(.serialized) struct ServerTests {
    @Test func multiplexedStreamsOnOneConnection() async throws {
        let (server, port) = try startServer()
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        let futures = (0..<200).map { i in
            client.send(HTTPRequest(method: "POST", path: i % 2 == 0 ? "/echo/\(i)" : "/slow/20",
                                    headers: ["content-type": "application/octet-stream"],
                                    body: Array("payload \(i)".utf8)))
        }
        for (i, f) in futures.enumerated() {
            let r = try await f.get()
            #expect(r.status == 200)
            #expect(r.body == Array("payload \(i)".utf8))
            #expect(r.headers["x-version"] == "2")
        }
    }

    @Test func unixSocketAndLargeBodies() async throws {
        let path = NSTemporaryDirectory() + "petrel-h2-\(getpid()).sock"
        let (server, _) = try startServer { $0.address = .unix(path: path) }
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .unix(path: path))
        defer { client.close() }
        let big = (0..<(3 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 7) }
        let r = try await client.send(HTTPRequest(method: "POST", path: "/echo", body: big))
        #expect(r.body == big)
        let r2 = try await client.send(HTTPRequest(method: "GET", path: "/big/5000000"))
        #expect(r2.body.count == 5_000_000)
    }

    @Test func bodyOverTheLimitIsRefusedAndServerKeepsServing() async throws {
        let (server, port) = try startServer { $0.maxRequestBodyBytes = 1000; $0.maxGRPCMessageBytes = 2000 }
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        let r = try await client.send(HTTPRequest(method: "POST", path: "/echo", body: [UInt8](repeating: 1, count: 200_000)))
        #expect(r.status == 413)
        #expect(String(decoding: r.body, as: UTF8.self).contains("exceeds 1000 bytes"))
        let g = try await client.send(HTTPRequest(method: "POST", path: "/test.Echo/Unary", headers: ["content-type": "application/grpc"],
                                                  body: GRPCWire.frame([UInt8](repeating: 2, count: 5000))))
        #expect(g.grpcStatus == "8")
        let ok = try await client.send(HTTPRequest(method: "POST", path: "/echo", body: [1, 2, 3]))
        #expect(ok.status == 200 && ok.body == [1, 2, 3])
    }

    @Test func oversizeHeadersGet431() async throws {
        let (server, port) = try startServer { $0.settings.maxHeaderListSize = 4096 }
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        let r = try await client.send(HTTPRequest(method: "GET", path: "/echo", headers: ["x-big": String(repeating: "z", count: 8000)]))
        #expect(r.status == 431)
        let ok = try await client.send(HTTPRequest(method: "GET", path: "/echo"))
        #expect(ok.status == 200)
    }

    @Test func grpcStatusesUnimplementedTruncatedDeadline() async throws {
        let (server, port) = try startServer()
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        func call(_ path: String, _ body: [UInt8], _ extra: HTTPHeaders = [:]) async throws -> HTTPResponse {
            var h: HTTPHeaders = ["content-type": "application/grpc", "te": "trailers"]
            h.fields += extra.fields
            return try await client.send(HTTPRequest(method: "POST", path: path, headers: h, body: body))
        }
        let ok = try await call("/test.Echo/Unary", GRPCWire.frame([9, 8, 7]))
        #expect(ok.grpcStatus == "0")
        #expect(ok.body == GRPCWire.frame([9, 8, 7]))
        let m = try await call("/test.Echo/Nope", GRPCWire.frame([]))
        #expect(m.grpcStatus == "12")
        let s = try await call("/other.Svc/X", GRPCWire.frame([]))
        #expect(s.grpcStatus == "12")
        #expect(GRPCWire.percentDecode(s.grpcMessage ?? "") == "unknown service other.Svc")
        let t = try await call("/test.Echo/Unary", Array(GRPCWire.frame([1, 2, 3, 4]).dropLast()))
        #expect(t.grpcStatus == "13")
        let d = try await call("/test.Echo/Slow", GRPCWire.frame([1]), ["grpc-timeout": "50m"])
        #expect(d.grpcStatus == "4")
        let d2 = try await call("/test.Echo/Slow", GRPCWire.frame([1]), ["grpc-timeout": "5S"])
        #expect(d2.grpcStatus == "0")
    }

    @Test func gracefulShutdownCompletesInFlightStreams() async throws {
        let (server, port) = try startServer()
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        let inFlight = (0..<5).map { _ in client.send(HTTPRequest(method: "GET", path: "/slow/300")) }
        try await Task.sleep(for: .milliseconds(50))
        let t0 = Date()
        server.shutdownGracefully()
        for f in inFlight { #expect(try await f.get().status == 200) }
        #expect(Date().timeIntervalSince(t0) < 4)
        #expect(throws: (any Error).self) { _ = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port)) }
    }

    /// A worker's socket (`http2Only`): HTTP/2 handled from accept, SETTINGS sent once the
    /// channel is active, and an HTTP/1.1 request gets no HTTP/1 answer.
    @Test func http2OnlyServesPriorKnowledgeAndNotHTTP1() async throws {
        let (server, port) = try startServer { $0.http2Only = true }
        defer { server.shutdownGracefully() }
        let client = try HTTP2Client.connect(to: .tcp(host: "127.0.0.1", port: port))
        defer { client.close() }
        let futures = (0..<20).map { i in client.send(HTTPRequest(method: "POST", path: "/echo", body: Array("b\(i)".utf8))) }
        for (i, f) in futures.enumerated() {
            let r = try await f.get()
            #expect(r.status == 200 && r.body == Array("b\(i)".utf8))
        }
        let h2 = try run("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "-w", "\\n%{http_version}", "-d", "hello",
                                           "http://127.0.0.1:\(port)/echo"])
        #expect(h2.out == "hello\n2")
        let h1 = try run("/usr/bin/curl", ["-s", "--http1.1", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/echo"])
        #expect(h1.status != 0 && h1.out == "000")
    }

    @Test func curlPriorKnowledgeAndHTTP1OnTheSamePort() throws {
        let (server, port) = try startServer { $0.maxRequestBodyBytes = 1 << 20 }
        defer { server.shutdownGracefully() }
        let h2 = try run("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "-w", "\\n%{http_version}", "-d", "hello",
                                           "http://127.0.0.1:\(port)/echo"])
        #expect(h2.out == "hello\n2")
        let h1 = try run("/usr/bin/curl", ["-s", "--http1.1", "-i", "-d", "hi", "http://127.0.0.1:\(port)/echo"])
        #expect(h1.out.hasPrefix("HTTP/1.1 200"))
        #expect(h1.out.contains("x-version: 1.1"))
        #expect(h1.out.hasSuffix("hi"))
        let file = NSTemporaryDirectory() + "petrel-big-\(getpid())"
        FileManager.default.createFile(atPath: file, contents: Data(count: 3 << 20))
        defer { try? FileManager.default.removeItem(atPath: file) }
        for proto in ["--http1.1", "--http2-prior-knowledge"] {
            let big = try run("/usr/bin/curl", ["-s", proto, "-o", "/dev/null", "-w", "%{http_code}", "--data-binary",
                                                "@\(file)", "http://127.0.0.1:\(port)/echo", "-m", "5"])
            #expect(big.out == "413", "\(proto)")
        }
        let after = try run("/usr/bin/curl", ["-s", "--http2-prior-knowledge", "-d", "still", "http://127.0.0.1:\(port)/echo"])
        #expect(after.out == "still")
    }

    @Test func tlsWithALPNh2AndGarbageHandshake() throws {
        let dir = NSTemporaryDirectory() + "petrel-tls-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let gen = try run("/usr/bin/openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                                               "-keyout", "\(dir)/key.pem", "-out", "\(dir)/cert.pem"])
        #expect(gen.status == 0)
        let (server, port) = try startServer { $0.tls = TLSConfiguration(certificatePath: "\(dir)/cert.pem", privateKeyPath: "\(dir)/key.pem") }
        defer { server.shutdownGracefully() }
        // Garbage instead of a ClientHello: that connection is dropped, the server carries on.
        let g = try run("/bin/bash", ["-c", "head -c 3000 /dev/urandom > /dev/tcp/127.0.0.1/\(port)"])
        _ = g
        let h2 = try run("/usr/bin/curl", ["-s", "-k", "--http2", "-w", "\\n%{http_version}", "-d", "secret",
                                           "https://localhost:\(port)/echo"])
        #expect(h2.out == "secret\n2")
        let h1 = try run("/usr/bin/curl", ["-s", "-k", "--http1.1", "-w", "\\n%{http_version}", "-d", "old",
                                           "https://localhost:\(port)/echo"])
        #expect(h1.out == "old\n1.1")
    }

    @Test func badCertificatePathIsAClearError() {
        var config = ServerConfiguration()
        config.tls = TLSConfiguration(certificatePath: "/nonexistent/cert.pem", privateKeyPath: "/nonexistent/key.pem")
        #expect(throws: TLSError.self) { _ = try HTTPServer(configuration: config, service: EchoService()) }
    }
}
