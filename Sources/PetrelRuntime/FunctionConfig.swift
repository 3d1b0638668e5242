import Foundation
import Yams

/// A configuration error that names the file, the key, the rule and the value, as knative's
/// config errors do: "functions/x/function.yaml: name = "a/b": must be a DNS label".
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var message: String
    public var description: String { key.isEmpty ? "\(file): \(message)" : "\(file): \(key): \(message)" }
    public init(file: String, key: String, message: String) { self.file = file; self.key = key; self.message = message }
}

/// One declared tensor in function.yaml (documentation that is checked against the model).
public struct DeclaredTensor: Equatable, Sendable {
    public var name: String
    public var datatype: String
    public var shape: [Int64]
}

/// A function's `function.yaml`. Unknown keys are errors: a typo must not silently become a
/// default.
public struct FunctionConfig: Equatable, Sendable {
    public var name: String
    public var description: String?
    /// The model file, relative to the function's folder.
    public var model: String
    public var inputs: [DeclaredTensor]?
    public var outputs: [DeclaredTensor]?
    /// The folder the file was read from.
    public var directory: String
    /// `limits:` — per-worker concurrency, request timeout, worker memory.
    public var limits = Limits()
    /// `scaling:` — Knative KPA settings, validated by `ScalingConfig`.
    public var scaling = ScalingConfig()

    public struct Limits: Equatable, Sendable {
        /// Requests one worker takes at once; 0 = unlimited (Knative's containerConcurrency).
        public var containerConcurrency = 0
        /// Seconds a request may take before it is answered 504 and its worker killed.
        public var timeoutSeconds: Double = 300
        /// RLIMIT_AS for each worker, bytes; nil = none.
        public var memoryBytes: Int?
        /// Requests the activator holds while no worker has room; more get 503 + Retry-After.
        public var queue = 1000
        public init() {}
    }

    public static let fileName = "function.yaml"
    static let keys: Set<String> = ["name", "description", "model", "inputs", "outputs", "limits", "scaling"]

    public static func load(directory: String) throws -> FunctionConfig {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, directory: directory)
    }

    /// Every `*/function.yaml` under `directory`, in name order; two functions with one name are
    /// an error naming both folders. In-process serving and the gateway both start from this.
    public static func loadAll(directory: String) throws -> [FunctionConfig] {
        let fm = FileManager.default
        guard let entries = try? fm.contentsOfDirectory(atPath: directory) else {
            throw ConfigError(file: directory, key: "", message: "cannot read the functions folder")
        }
        var configs: [FunctionConfig] = []
        for entry in entries.sorted() {
            let dir = (directory as NSString).appendingPathComponent(entry)
            guard fm.fileExists(atPath: (dir as NSString).appendingPathComponent(fileName)) else { continue }
            let config = try load(directory: dir)
            if let dup = configs.first(where: { $0.name == config.name }) {
                throw ConfigError(file: dir + "/" + fileName, key: "name",
                                  message: "= \"\(config.name)\": already used by \(dup.directory)")
            }
            configs.append(config)
        }
        return configs
    }

    public static func parse(_ text: String, file: String, directory: String) throws -> FunctionConfig {
        func fail(_ key: String, _ message: String) -> ConfigError { ConfigError(file: file, key: key, message: message) }
        let root: Any?
        do { root = try Yams.load(yaml: text) } catch {
            throw fail("", "not valid YAML: \(error)")
        }
        guard let map = root as? [String: Any] else { throw fail("", "must be a mapping of keys to values") }
        for key in map.keys.sorted() where !keys.contains(key) {
            throw fail(key, "unknown key (known keys: \(keys.sorted().joined(separator: ", ")))")
        }
        guard let name = map["name"] else { throw fail("name", "is required") }
        guard let nameString = name as? String else { throw fail("name", "= \(name): must be a string") }
        if let why = dnsLabelProblem(nameString) { throw fail("name", "= \"\(nameString)\": \(why)") }
        var description: String?
        if let d = map["description"] {
            guard let s = d as? String else { throw fail("description", "= \(d): must be a string") }
            description = s
        }
        guard let model = map["model"] else { throw fail("model", "is required (the ONNX file, relative to the folder)") }
        guard let modelPath = model as? String, !modelPath.isEmpty else { throw fail("model", "= \(model): must be a file name") }
        if modelPath.hasPrefix("/") || modelPath.split(separator: "/").contains("..") {
            throw fail("model", "= \"\(modelPath)\": must stay inside the function's folder")
        }
        var config = FunctionConfig(name: nameString, description: description, model: modelPath,
                                    inputs: try tensors(map["inputs"], "inputs", fail),
                                    outputs: try tensors(map["outputs"], "outputs", fail), directory: directory)
        config.limits = try limits(map["limits"], fail)
        let scaling: [String: Any]
        switch map["scaling"] {
        case nil: scaling = [:]
        case let m as [String: Any]: scaling = m
        case let other?: throw fail("scaling", "= \(other): must be a mapping of KPA settings")
        }
        do {
            config.scaling = try ScalingConfig(containerConcurrency: config.limits.containerConcurrency, scaling: scaling)
        } catch let e as ScalingConfigError {
            throw ConfigError(file: file, key: e.key.hasPrefix("scaling") ? e.key : "scaling.\(e.key)",
                              message: e.value.map { "= \($0): \(e.message)" } ?? e.message)
        }
        return config
    }

    init(name: String, description: String?, model: String, inputs: [DeclaredTensor]?, outputs: [DeclaredTensor]?, directory: String) {
        self.name = name; self.description = description; self.model = model
        self.inputs = inputs; self.outputs = outputs; self.directory = directory
    }

    private static func limits(_ value: Any?, _ fail: (String, String) -> ConfigError) throws -> Limits {
        var l = Limits()
        guard let value else { return l }
        guard let m = value as? [String: Any] else { throw fail("limits", "must be a mapping with containerConcurrency, timeout, memory") }
        for key in m.keys.sorted() where !["containerConcurrency", "timeout", "memory", "queue"].contains(key) {
            throw fail("limits.\(key)", "unknown key (known keys: containerConcurrency, memory, queue, timeout)")
        }
        if let v = m["queue"] {
            guard let n = v as? Int, n >= 0, n <= 1_000_000 else { throw fail("limits.queue", "= \(v): must be an integer in 0...1000000") }
            l.queue = n
        }
        if let v = m["containerConcurrency"] {
            guard let n = v as? Int, n >= 0, n <= 1000 else { throw fail("limits.containerConcurrency", "= \(v): must be an integer in 0...1000 (0 = unlimited)") }
            l.containerConcurrency = n
        }
        if let v = m["timeout"] {
            guard let secs = durationSeconds(v), secs > 0, secs <= 3600 else {
                throw fail("limits.timeout", "= \(v): must be a duration between 1ms and 1h, like 30s or 500ms")
            }
            l.timeoutSeconds = secs
        }
        if let v = m["memory"] {
            guard let bytes = memoryBytes(v), bytes >= 64 << 20 else {
                throw fail("limits.memory", "= \(v): must be a size of at least 64Mi, like 512Mi or 2Gi")
            }
            l.memoryBytes = bytes
        }
        return l
    }

    /// "30s", "500ms", "2m", "1h", or a number of seconds.
    static func durationSeconds(_ v: Any) -> Double? {
        if let n = v as? Int { return Double(n) }
        if let d = v as? Double { return d }
        guard let s = v as? String else { return nil }
        for (suffix, scale) in [("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)] where s.hasSuffix(suffix) {
            if let n = Double(s.dropLast(suffix.count)) { return n * scale }
        }
        return nil
    }

    /// Kubernetes quantities: "512Mi", "2Gi", "1G", "1000000" (bytes).
    static func memoryBytes(_ v: Any) -> Int? {
        if let n = v as? Int { return n }
        guard let s = v as? String else { return nil }
        for (suffix, scale) in [("Ki", 1 << 10), ("Mi", 1 << 20), ("Gi", 1 << 30), ("K", 1000), ("M", 1_000_000), ("G", 1_000_000_000)] where s.hasSuffix(suffix) {
            if let n = Double(s.dropLast(suffix.count)) { return Int(n * Double(scale)) }
        }
        return Int(s)
    }

    public var modelPath: String { (directory as NSString).appendingPathComponent(model) }

    /// RFC 1123 label: what Knative and Kubernetes require of a name that ends up in URLs.
    public static func dnsLabelProblem(_ s: String) -> String? {
        if s.isEmpty { return "must not be empty" }
        if s.count > 63 { return "must be at most 63 characters" }
        let ok = s.utf8.allSatisfy { ($0 >= 97 && $0 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 45 }
        if !ok { return "must be a DNS label: lower-case letters, digits and '-' only" }
        if s.hasPrefix("-") || s.hasSuffix("-") { return "must be a DNS label: must not start or end with '-'" }
        return nil
    }

    private static func tensors(_ value: Any?, _ key: String, _ fail: (String, String) -> ConfigError) throws -> [DeclaredTensor]? {
        guard let value else { return nil }
        guard let list = value as? [Any] else { throw fail(key, "must be a list of {name, datatype, shape}") }
        return try list.enumerated().map { i, item in
            let k = "\(key)[\(i)]"
            guard let m = item as? [String: Any] else { throw fail(k, "must be a mapping with name, datatype, shape") }
            for extra in m.keys.sorted() where !["name", "datatype", "shape"].contains(extra) {
                throw fail("\(k).\(extra)", "unknown key (known keys: datatype, name, shape)")
            }
            guard let name = m["name"] as? String else { throw fail("\(k).name", "is required and must be a string") }
            guard let dt = m["datatype"] as? String else { throw fail("\(k).datatype", "is required and must be a string such as FP32") }
            guard let shape = m["shape"] as? [Any], let dims = shape.map({ ($0 as? Int).map(Int64.init) }) as? [Int64],
                  dims.allSatisfy({ $0 >= -1 }) else {
                throw fail("\(k).shape", "must be a list of integers, -1 for any size")
            }
            return DeclaredTensor(name: name, datatype: dt, shape: dims)
        }
    }
}
