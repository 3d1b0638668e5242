import Foundation
import NIOCore
import PetrelHTTP2
import PetrelModel
import PetrelRegistry

/// The admin API under `/admin/v1/`, used by the CLI. Every route needs an admin key
/// (`Authorization: Bearer`), and answers only peers on this machine unless the server was
/// started with `--admin-remote`. Changes run one at a time (`Deployments.changes`), off the
/// event loop; reads run on a global queue.
///
///     GET    /admin/v1/functions                        list
///     GET    /admin/v1/functions/{f}                    describe (revisions, traffic, workers, cold starts)
///     DELETE /admin/v1/functions/{f}                    drain, remove, collect garbage
///     POST   /admin/v1/functions/{f}/revisions          deploy (DeployRequest)
///     PUT    /admin/v1/functions/{f}/traffic            set the split (TrafficRequest)
///     POST   /admin/v1/functions/{f}/rollback           RollbackRequest
///     PUT    /admin/v1/functions/{f}/tags/{tag}         TagRequest; DELETE removes the tag
///     POST   /admin/v1/functions/{f}/scale-to-zero      answers once no worker is left
///     GET    /admin/v1/keys, POST /admin/v1/keys (KeyRequest), DELETE /admin/v1/keys/{id}
///     GET|PUT /admin/v1/prewarm                         {"size": N}
///     GET    /admin/v1/models/{sha256}                  is this model in the server's store?
///     PUT    /admin/v1/models/{sha256}                  upload an ONNX file (up to 1 GiB, HTTP/2),
///                                                       so a CLI with another PETREL_HOME can deploy
extension Gateway {
    func handleAdmin(_ request: HTTPRequest, _ responder: HTTPResponder) {
        if !request.fromLoopback && !adminFromAnywhere {
            return adminError(responder, 403, "the admin API answers only clients on this machine (start the server with --admin-remote to allow others)")
        }
        switch deployments.keyRing.check(authorization: request.headers["authorization"], function: nil) {
        case .allowed: break
        case .missing:
            return adminError(responder, 401, "the admin API needs the admin key: send 'Authorization: Bearer <key>' (the CLI reads PETREL_ADMIN_KEY)")
        case .invalid: return adminError(responder, 401, "the admin key is not valid (unknown, revoked or malformed)")
        case .forbidden(let id): return adminError(responder, 403, "API key \(id) is not an admin key")
        }
        let parts = request.path.split(separator: "?")[0].split(separator: "/").map(String.init)
        guard parts.count >= 3, parts[0] == "admin", parts[1] == "v1" else { return adminNotFound(request, responder) }
        let rest = Array(parts.dropFirst(2))
        let method = request.method
        let d = deployments
        switch (method, rest.count, rest[0]) {
        case ("GET", 1, "prewarm"), ("PUT", 1, "prewarm"):
            if method == "PUT" {
                guard let obj = try? JSONSerialization.jsonObject(with: Data(request.body)) as? [String: Any],
                      let size = obj["size"] as? Int, size >= 0, size <= 64 else {
                    return adminError(responder, 400, "expected {\"size\": N} with N in 0...64")
                }
                guard let prewarm else { return adminError(responder, 409, "the server was started with --prewarm 0; restart with --prewarm N to resize") }
                prewarm.resize(size)
            }
            let body = (try? JSONSerialization.data(withJSONObject: ["size": prewarm?.size ?? 0, "idle": prewarm?.idleCount ?? 0], options: [.sortedKeys])) ?? Data()
            return responder.respond(HTTPResponse(status: 200, contentType: "application/json", body: Array(body)))
        // (A `where` clause binds to the last pattern of a case only: one pattern per case here.)
        case (_, 2, "models") where !ModelStore.isDigest(rest[1]):
            return adminError(responder, 400, "\(rest[1]): a model is named by its SHA-256, 64 lower-case hex digits")
        case ("GET", 2, "models"), ("HEAD", 2, "models"):
            let sha = rest[1]
            return ModelStore.contains(sha256: sha) ? responder.respond(HTTPResponse(status: 200, contentType: "application/json",
                body: Array(#"{"sha256":"\#(sha)"}"#.utf8))) : adminError(responder, 404, "no model \(sha) in the server's model store")
        case ("PUT", 2, "models"):
            let sha = rest[1], body = request.body
            return DispatchQueue.global().async {
                self.answer(responder, 201) { () throws -> [String: String] in
                    let data = Data(body)
                    let got = Compiler.sha256(of: data)
                    guard got == sha else {
                        throw RegistryError(.invalid, "the uploaded bytes hash to \(got), not \(sha): upload damaged or mislabelled")
                    }
                    _ = try ModelStore.store(data, sha256: got)
                    return ["sha256": got, "bytes": String(body.count)]
                }
            }
        case ("GET", 1, "functions"):
            return read(responder) { try d.registry.allFunctions().map { self.view($0) } }
        case ("GET", 1, "keys"):
            return read(responder) { try d.registry.keys().map { KeyView($0) } }
        case ("POST", 1, "keys"):
            return change(responder, request, KeyRequest.self, status: 201, on: d.keyChanges) { req in
                let scope: KeyScope = req.admin ? .admin : .functions(req.functions)
                let (record, key) = try d.registry.createKey(name: req.name, scope: scope)
                try d.refreshKeys()
                return KeyView(record, key: key)
            }
        case ("DELETE", 2, "keys"):
            return change(responder, status: 200, on: d.keyChanges) {
                let r = try d.registry.revokeKey(rest[1])
                try d.refreshKeys()
                return KeyView(r)
            }
        case (_, _, "functions") where rest.count >= 2:
            return functionRoute(request, responder, function: rest[1], tail: Array(rest.dropFirst(2)))
        default:
            return adminNotFound(request, responder)
        }
    }

    private func functionRoute(_ request: HTTPRequest, _ responder: HTTPResponder, function f: String, tail: [String]) {
        let d = deployments
        switch (request.method, tail.first, tail.count) {
        case ("GET", nil, 0):
            return read(responder) {
                guard let state = try d.registry.function(f) else { throw RegistryError(.notFound, "unknown function '\(f)'") }
                return self.view(state)
            }
        case ("DELETE", nil, 0):
            return change(responder, status: 200, on: .global()) { self.view(try d.delete(f).state) }
        case ("POST", "revisions", 1):
            return change(responder, request, DeployRequest.self, status: 201, on: .global()) { req in
                if let why = FunctionConfig.dnsLabelProblem(f) { throw RegistryError(.invalid, "function name \"\(f)\": \(why)") }
                if let p = req.traffic, !(0...100).contains(p) { throw RegistryError(.invalid, "traffic = \(p): must be a percentage in 0...100") }
                let o = try d.deploy(function: f, configText: req.config, modelSHA256: req.modelSha256, origin: req.origin,
                                     tag: req.tag, traffic: req.traffic)
                return DeployView(revision: o.revision.id, reused: o.reused, function: self.view(o.state))
            }
        case ("PUT", "traffic", 1):
            return change(responder, request, TrafficRequest.self, status: 200) { req in self.view(try d.setTraffic(f, req.traffic)) }
        case ("POST", "rollback", 1):
            return change(responder, request, RollbackRequest.self, status: 200) { req in self.view(try d.rollback(f, to: req.to)) }
        case ("PUT", "tags", 2):
            return change(responder, request, TagRequest.self, status: 200) { req in self.view(try d.setTag(f, tag: tail[1], revision: req.revision)) }
        case ("DELETE", "tags", 2):
            return change(responder, status: 200) { self.view(try d.setTag(f, tag: tail[1], revision: nil)) }
        case ("POST", "scale-to-zero", 1):
            guard d.table.functions[f] != nil else { return adminError(responder, 404, "unknown function '\(f)'") }
            let pools = d.pools(of: f)
            let group = DispatchGroup()
            for pool in pools {
                group.enter()
                pool.eventLoop.execute { pool.scaleToZero { group.leave() } }
            }
            group.notify(queue: .global()) {
                let body = (try? JSONSerialization.data(withJSONObject: ["function": f, "workers": 0], options: [.sortedKeys])) ?? Data()
                responder.respond(HTTPResponse(status: 200, contentType: "application/json", body: Array(body)))
            }
        default:
            adminNotFound(request, responder)
        }
    }

    /// A function with what the running pools know of its revisions.
    func view(_ state: FunctionState) -> FunctionView {
        var runtime: [String: RevisionRuntime] = [:]
        for pool in deployments.pools(of: state.name) {
            let s = pool.latestSnapshot
            runtime[pool.revision] = RevisionRuntime(workers: s.states, queued: s.queued, desired: s.desired,
                                                     panicking: s.panicking, coldStarts: pool.coldStartSummary)
        }
        return FunctionView(state, runtime: runtime)
    }

    private func read<T: Encodable>(_ responder: HTTPResponder, _ body: @escaping () throws -> T) {
        DispatchQueue.global().async { self.answer(responder, 200, body) }
    }

    /// Decodes the body and runs the change on `queue` (by default the serial queue of changes;
    /// deploy and delete serialise their own registry writes).
    private func change<Req: Decodable, T: Encodable>(_ responder: HTTPResponder, _ request: HTTPRequest, _ type: Req.Type,
                                                     status: Int, on queue: DispatchQueue? = nil, _ body: @escaping (Req) throws -> T) {
        let input: Req
        do { input = try AdminJSON.decoder().decode(type, from: Data(request.body)) } catch {
            return adminError(responder, 400, "the request body is not the JSON this route takes: \(Self.describe(error))")
        }
        change(responder, status: status, on: queue) { try body(input) }
    }

    private func change<T: Encodable>(_ responder: HTTPResponder, status: Int, on queue: DispatchQueue? = nil, _ body: @escaping () throws -> T) {
        (queue ?? deployments.changes).async { self.answer(responder, status, body) }
    }

    private func answer<T: Encodable>(_ responder: HTTPResponder, _ status: Int, _ body: () throws -> T) {
        do {
            let data = try AdminJSON.encoder().encode(try body())
            responder.respond(HTTPResponse(status: status, contentType: "application/json", body: Array(data)))
        } catch let e as RegistryError {
            adminError(responder, e.kind == .notFound ? 404 : e.kind == .conflict ? 409 : 400, e.message)
        } catch let e as ConfigError {
            adminError(responder, 400, e.description)
        } catch let e as ModelError {
            adminError(responder, e.code == .io ? 500 : 400, e.message)
        } catch {
            adminError(responder, 500, "\(error)")
        }
    }

    static func describe(_ error: Error) -> String {
        switch error {
        case DecodingError.keyNotFound(let k, _): return "missing key '\(k.stringValue)'"
        case DecodingError.typeMismatch(_, let c), DecodingError.valueNotFound(_, let c):
            return "\(c.codingPath.map(\.stringValue).joined(separator: ".")): \(c.debugDescription)"
        case DecodingError.dataCorrupted(let c): return c.debugDescription
        default: return "\(error)"
        }
    }

    private func adminNotFound(_ request: HTTPRequest, _ responder: HTTPResponder) {
        adminError(responder, 404, "no admin route for \(request.method) \(request.path.split(separator: "?")[0])")
    }

    func adminError(_ responder: HTTPResponder, _ status: Int, _ message: String) {
        let data = (try? AdminJSON.encoder().encode(ErrorView(error: message))) ?? Data()
        var r = HTTPResponse(status: status, contentType: "application/json", body: Array(data))
        if status == 401 { r.headers.add("www-authenticate", "Bearer realm=\"petrel-admin\"") }
        responder.respond(r)
    }
}
