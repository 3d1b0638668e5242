import Foundation

/// One revision to deploy, as found on disk: a function folder (function.yaml + model), or one
/// version folder of a Triton / TF Serving model repository.
public struct DeploySource: Sendable {
    /// The function.yaml text stored with the revision (for a repository version, generated).
    public var configText: String
    public var config: FunctionConfig
    /// The ONNX file to compile.
    public var modelPath: String
    /// Where it came from, for `describe`.
    public var origin: String
    /// A tag the revision gets (a repository's version number, so `/versions/3` keeps working).
    public var tag: String?
}

extension DeploySource {
    /// A function folder (it has function.yaml), a model repository (`<repo>/<model>/<version>/
    /// model.onnx`), or one model of a repository (`<model>/<version>/model.onnx`). `name`
    /// overrides the function's name (only for a single function).
    public static func scan(_ path: String, name: String? = nil) throws -> [DeploySource] {
        let fm = FileManager.default
        var isDir: ObjCBool = false
        guard fm.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue else {
            throw ConfigError(file: path, key: "", message: "not a folder (deploy takes a folder with function.yaml, or a model repository)")
        }
        if fm.fileExists(atPath: (path as NSString).appendingPathComponent(FunctionConfig.fileName)) {
            var config = try FunctionConfig.load(directory: path)
            let text = try String(contentsOfFile: (path as NSString).appendingPathComponent(FunctionConfig.fileName), encoding: .utf8)
            if let name {
                if let why = FunctionConfig.dnsLabelProblem(name) { throw ConfigError(file: "--name", key: "", message: "\"\(name)\": \(why)") }
                config.name = name
            }
            guard fm.fileExists(atPath: config.modelPath) else {
                throw ConfigError(file: config.file, key: "model", message: "= \"\(config.model)\": no such file in \(path)")
            }
            return [DeploySource(configText: text, config: config, modelPath: config.modelPath, origin: absolute(path), tag: nil)]
        }
        let sources = try ModelRepository.scan(path)
        if let name {
            guard Set(sources.map(\.config.name)).count == 1 else {
                throw ConfigError(file: path, key: "", message: "--name applies to one function; this repository holds \(Set(sources.map(\.config.name)).sorted().joined(separator: ", "))")
            }
            if let why = FunctionConfig.dnsLabelProblem(name) { throw ConfigError(file: "--name", key: "", message: "\"\(name)\": \(why)") }
            return sources.map { var s = $0; s.config.name = name; return s }
        }
        return sources
    }

    static func absolute(_ path: String) -> String {
        path.hasPrefix("/") ? path : (FileManager.default.currentDirectoryPath as NSString).appendingPathComponent(path)
    }
}
