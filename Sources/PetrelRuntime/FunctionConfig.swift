import Foundation
import Yams

/// A configuration error that names the file, the key, the rule and the value, as knative's
/// config errors do: "functions/x/function.yaml: name = "a/b": must be a DNS label".
public struct ConfigError: Error, CustomStringConvertible, Equatable, Sendable {
    public var file: String
    public var key: String
    public var message: String
    public var description: String { key.isEmpty ? "\(file): \(message)" : "\(file): \(key): \(message)" }
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

    public static let fileName = "function.yaml"
    static let keys: Set<String> = ["name", "description", "model", "inputs", "outputs"]

    public static func load(directory: String) throws -> FunctionConfig {
        let path = (directory as NSString).appendingPathComponent(fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ConfigError(file: path, key: "", message: "cannot read the file")
        }
        return try parse(String(decoding: data, as: UTF8.self), file: path, directory: directory)
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
        return FunctionConfig(name: nameString, description: description, model: modelPath,
                              inputs: try tensors(map["inputs"], "inputs", fail),
                              outputs: try tensors(map["outputs"], "outputs", fail), directory: directory)
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
