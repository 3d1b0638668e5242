import Foundation
import PetrelModel
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

/// One declared tensor in function.yaml: documentation checked against the model, and, with
/// `from:`, a rename (the function exposes `name` for the model's `from`).
public struct DeclaredTensor: Equatable, Sendable {
    public var name: String
    public var from: String?
    public var datatype: String?
    public var shape: [Int64]?
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
    /// What error messages call the file: its path, or a stored revision's id.
    public var file = ""
    /// `limits:` — per-worker concurrency, request timeout, worker memory.
    public var limits = Limits()
    /// `scaling:` — Knative KPA settings, validated by `ScalingConfig`.
    public var scaling = ScalingConfig()
    /// `auth:` — who may invoke it.
    public var auth = Auth.public
    /// `batching: {maxBatchSize: N}` — requests arriving together run as one batch of up to N
    /// rows (Triton's dynamic batching). Off (0) unless asked for: only the function's author knows
    /// that its model treats batch rows independently.
    public var maxBatchSize = 0
    /// The largest `maxBatchSize` accepted, in function.yaml and from the gateway (0 = off).
    public static let batchSizeRange = 0...1024

    public enum Auth: String, Equatable, Sendable {
        /// Anyone who can reach the server.
        case `public`
        /// Only callers presenting an API key scoped to the function (`Authorization: Bearer`).
        case key
    }

    /// The model's tensor names → the names the function exposes (`from:` entries), applied at
    /// compile time so workers and clients only ever see the exposed names.
    public var renames: [String: String] {
        var r: [String: String] = [:]
        for t in (inputs ?? []) + (outputs ?? []) { if let from = t.from, from != t.name { r[from] = t.name } }
        return r
    }

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
    static let keys: Set<String> = ["name", "description", "model", "inputs", "outputs", "limits", "scaling", "auth", "batching"]

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
        config.file = file
        config.limits = try limits(map["limits"], fail)
        if let a = map["auth"] {
            guard let s = a as? String, let auth = Auth(rawValue: s) else { throw fail("auth", "= \(a): must be public or key") }
            config.auth = auth
        }
        if let b = map["batching"] {
            guard let m = b as? [String: Any] else { throw fail("batching", "= \(b): must be a mapping with maxBatchSize") }
            for key in m.keys.sorted() where key != "maxBatchSize" {
                throw fail("batching.\(key)", "unknown key (known keys: maxBatchSize)")
            }
            guard let v = m["maxBatchSize"] else { throw fail("batching.maxBatchSize", "is required") }
            guard let n = v as? Int, n >= 1, batchSizeRange.contains(n) else {
                throw fail("batching.maxBatchSize", "= \(v): must be an integer in 1...\(batchSizeRange.upperBound) (1 = no batching)")
            }
            config.maxBatchSize = n
        }
        for key in ["inputs", "outputs"] {
            let list = (key == "inputs" ? config.inputs : config.outputs) ?? []
            var seen: Set<String> = []
            for (i, t) in list.enumerated() where !seen.insert(t.name).inserted {
                throw fail("\(key)[\(i)].name", "= \"\(t.name)\": declared twice")
            }
        }
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

    /// A number of seconds, or a Go-style duration ("30s", "500ms", "1m30s"): the same parser
    /// as `scaling:`'s durations, so one file never accepts a form in one place and not another.
    static func durationSeconds(_ v: Any) -> Double? {
        if let n = v as? Int { return Double(n) }
        if let d = v as? Double { return d }
        guard let s = v as? String, let d = parseScalingDuration(s) else { return nil }
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
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

    /// A compile's rename failure as the error of the `from:` key that asked for it.
    func configError(_ e: RenameError) -> ConfigError {
        for (key, list) in [("inputs", inputs ?? []), ("outputs", outputs ?? [])] {
            if let i = list.firstIndex(where: { $0.from == e.name }) {
                return ConfigError(file: file, key: "\(key)[\(i)].from", message: "= \(e.name): \(e.description)")
            }
        }
        return ConfigError(file: file, key: "", message: e.description)
    }

    /// The Open Inference Protocol's datatypes.
    static let datatypes = ["BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64",
                            "FP16", "FP32", "FP64", "BF16", "BYTES"]

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
            for extra in m.keys.sorted() where !["name", "from", "datatype", "shape"].contains(extra) {
                throw fail("\(k).\(extra)", "unknown key (known keys: datatype, from, name, shape)")
            }
            guard let name = m["name"] as? String, !name.isEmpty else { throw fail("\(k).name", "is required and must be a string") }
            var from: String?
            if let f = m["from"] {
                guard let s = f as? String, !s.isEmpty else { throw fail("\(k).from", "= \(f): must be the model's name for this tensor") }
                from = s
            }
            var datatype: String?
            if let d = m["datatype"] {
                guard let s = d as? String, datatypes.contains(s) else {
                    throw fail("\(k).datatype", "= \(d): must be one of \(datatypes.joined(separator: ", "))")
                }
                datatype = s
            }
            var dims: [Int64]?
            if let shape = m["shape"] {
                guard let list = shape as? [Any], let ds = list.map({ ($0 as? Int).map(Int64.init) }) as? [Int64],
                      ds.allSatisfy({ $0 >= -1 }) else {
                    throw fail("\(k).shape", "= \(shape): must be a list of integers, -1 for any size")
                }
                dims = ds
            }
            return DeclaredTensor(name: name, from: from, datatype: datatype, shape: dims)
        }
    }
}
