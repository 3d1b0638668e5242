import ArgumentParser
import Foundation
import PetrelHTTP2
import PetrelModel
import PetrelRegistry
import PetrelRuntime

/// Exit codes every registry command shares, so scripts can branch on them.
enum Exit {
    /// Bad arguments, a malformed function.yaml or model, a request the server refused (400).
    static let invalid: Int32 = 2
    /// The server could not be reached, or a file could not be read or written.
    static let unreachable: Int32 = 3
    /// The server failed (5xx).
    static let serverError: Int32 = 4
    /// No such function, revision, tag or key (404).
    static let notFound: Int32 = 5
    /// The admin key is missing, wrong or not an admin key (401, 403).
    static let unauthorized: Int32 = 6
    /// The change conflicts with the state (nothing to roll back to; a new revision's worker did not start) (409).
    static let conflict: Int32 = 7
}

struct CLIError: Error {
    var code: Int32
    var message: String
}

/// `--registry`: the SQLite file of deployed functions.
struct RegistryOption: ParsableArguments {
    @Option(name: .customLong("registry"), help: "The registry of deployed functions (default: $PETREL_HOME/petrel.sqlite).")
    var registryPath: String?

    var path: String { registryPath ?? (Compiler.home as NSString).appendingPathComponent(Registry.fileName) }
}

/// Where a registry command acts: the running server's admin API (found through the registry's
/// server file, or `--server`), or, when no server runs, the registry file itself.
struct AdminOptions: ParsableArguments {
    @OptionGroup var registry: RegistryOption
    @Option(help: "The server's URL (default: the server that owns the registry, if one runs).") var server: String?
    @Option(help: "The admin key (default: $PETREL_ADMIN_KEY).") var adminKey: String?
    @Flag(help: "Print JSON instead of a table.") var json = false

    enum Target {
        case online(AdminClient)
        case offline(Registry)
    }

    /// A read or change of one function: through the admin API online, on the registry offline.
    func function(_ method: String, _ path: String, _ body: (any Encodable)? = nil,
                  offline: (Registry) throws -> FunctionState) throws -> FunctionView {
        switch try target() {
        case .online(let client): return try client.call(method, "/functions/" + path, body, as: FunctionView.self)
        case .offline(let registry): return FunctionView(try offline(registry))
        }
    }

    func target() throws -> Target {
        if let url = server ?? ServerFile.running(registry: registry.path)?.url {
            guard let key = adminKey ?? ProcessInfo.processInfo.environment["PETREL_ADMIN_KEY"], !key.isEmpty else {
                throw CLIError(code: Exit.unauthorized, message: "petrel serve runs at \(url) and its admin API needs the admin key: set PETREL_ADMIN_KEY (printed at the server's first start) or pass --admin-key")
            }
            return .online(try AdminClient(url: url, key: key))
        }
        do { return .offline(try Registry(path: registry.path)) } catch {
            throw CLIError(code: Exit.unreachable, message: "cannot open the registry \(registry.path): \(error)")
        }
    }
}

/// A blocking client of the admin API over h2c.
final class AdminClient {
    let url: String
    let key: String
    let client: HTTP2Client

    init(url: String, key: String) throws {
        self.url = url
        self.key = key
        guard let address = serverAddress(url) else {
            throw CLIError(code: Exit.invalid, message: "--server \(url): expected http://HOST:PORT or unix:/path")
        }
        do { client = try HTTP2Client.connect(to: address) } catch {
            throw CLIError(code: Exit.unreachable, message: "cannot connect to \(url): \(error)")
        }
    }

    deinit { client.close() }

    func call<T: Decodable>(_ method: String, _ path: String, _ body: (any Encodable)? = nil, as: T.Type) throws -> T {
        var bytes: [UInt8] = []
        if let body { bytes = Array(try AdminJSON.encoder().encode(body)) }
        return try call(method, path, raw: bytes, contentType: "application/json", as: T.self)
    }

    /// Makes sure the server holds a model the CLI stored, uploading it when it does not (a
    /// server with another PETREL_HOME).
    func ensureModel(sha256: String) throws {
        do { _ = try call("GET", "/models/\(sha256)", as: [String: String].self); return } catch let e as CLIError where e.code == Exit.notFound {}
        let path = ModelStore.path(sha256: sha256)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIError(code: Exit.unreachable, message: "cannot read \(path)")
        }
        stderrLine("  uploading the model (\(data.count / 1024) KiB) to \(url)")
        _ = try call("PUT", "/models/\(sha256)", raw: Array(data), contentType: "application/octet-stream", as: [String: String].self)
    }

    func call<T: Decodable>(_ method: String, _ path: String, raw bytes: [UInt8], contentType: String, as: T.Type) throws -> T {
        var headers: HTTPHeaders = ["authorization": "Bearer \(key)"]
        if !bytes.isEmpty { headers.add("content-type", contentType) }
        let response: HTTPResponse
        do {
            response = try client.send(HTTPRequest(method: method, path: "/admin/v1" + path, headers: headers, body: bytes))
                .wait()
        } catch {
            throw CLIError(code: Exit.unreachable, message: "the server at \(url) did not answer: \(error)")
        }
        let data = Data(response.body)
        guard (200..<300).contains(response.status) else {
            let message = (try? AdminJSON.decoder().decode(ErrorView.self, from: data).error) ?? String(decoding: data, as: UTF8.self)
            let code: Int32 = switch response.status {
            case 401, 403: Exit.unauthorized
            case 404: Exit.notFound
            case 409: Exit.conflict
            case 400..<500: Exit.invalid
            default: Exit.serverError
            }
            throw CLIError(code: code, message: message)
        }
        do { return try AdminJSON.decoder().decode(T.self, from: data) } catch {
            throw CLIError(code: Exit.serverError, message: "the server's answer is not what this CLI expects: \(error)")
        }
    }
}

/// `http://HOST:PORT` or `unix:/path` (the CLI speaks h2c).
func serverAddress(_ url: String) -> ServerConfiguration.Address? {
    if url.hasPrefix("unix:") { return .unix(path: String(url.dropFirst(5))) }
    if url.hasPrefix("http://"), let c = URLComponents(string: url), let host = c.host { return .tcp(host: host, port: c.port ?? 80) }
    return nil
}

/// Runs a command body, turning Petrel's errors (CLI, registry, function.yaml, models) into one
/// line on stderr and the exit codes every command shares (`Exit`). ArgumentParser's own errors
/// pass through.
@discardableResult
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do { return try body() } catch let e as CLIError {
        stderrLine("error: \(e.message)")
        throw ExitCode(e.code)
    } catch let e as RegistryError {
        stderrLine("error: \(e.message)")
        throw ExitCode(e.kind == .notFound ? Exit.notFound : e.kind == .conflict ? Exit.conflict : Exit.invalid)
    } catch let e as ConfigError {
        stderrLine("error: \(e.description)")
        throw ExitCode(Exit.invalid)
    } catch let e as ModelError {
        stderrLine("error: \(e.message)")
        throw ExitCode(e.code == .io ? Exit.unreachable : Exit.invalid)
    } catch let e as ExitCode {
        throw e
    } catch let e as ValidationError {
        throw e
    } catch {
        // What is left comes from files themselves (SQLite busy, disk full, permissions).
        stderrLine("error: \(error)")
        throw ExitCode(Exit.unreachable)
    }
}

func printJSON(_ value: some Encodable) throws {
    let e = AdminJSON.encoder()
    e.outputFormatting = [.sortedKeys, .prettyPrinted]
    print(String(decoding: try e.encode(value), as: UTF8.self))
}

/// A plain text table: a header row and left-aligned columns two spaces apart.
func printTable(_ header: [String], _ rows: [[String]]) {
    let widths = header.indices.map { i in ([header] + rows).map { $0[i].count }.max() ?? 0 }
    for row in [header] + rows {
        print(row.enumerated().map { i, cell in i == row.count - 1 ? cell : cell.padding(toLength: widths[i], withPad: " ", startingAt: 0) }
            .joined(separator: "  "))
    }
}
