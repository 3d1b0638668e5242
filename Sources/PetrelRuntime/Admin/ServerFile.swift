import Foundation
import PetrelModel

/// `petrel.server.json` beside the registry: which server owns it. The CLI reads it to talk to
/// that server's admin API instead of writing the registry behind its back, and a second
/// `petrel serve` on the same registry is refused.
public struct ServerFile: Codable, Sendable {
    public var pid: Int32
    public var url: String
    public var started: Date

    public init(pid: Int32, url: String, started: Date = Date()) { self.pid = pid; self.url = url; self.started = started }

    public static func path(registry: String) -> String {
        ((registry as NSString).deletingPathExtension) + ".server.json"
    }

    /// The running server of a registry, if its process is alive.
    public static func running(registry: String) -> ServerFile? {
        guard let data = FileManager.default.contents(atPath: path(registry: registry)),
              let file = try? AdminJSON.decoder().decode(ServerFile.self, from: data) else { return nil }
        return kill(file.pid, 0) == 0 || errno == EPERM ? file : nil
    }

    public func write(registry: String) throws {
        try ArtifactWriter.writeAtomically(try AdminJSON.encoder().encode(self), to: Self.path(registry: registry))
    }

    public static func remove(registry: String) { unlink(path(registry: registry)) }
}
