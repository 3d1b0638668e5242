import Foundation

/// Triton's and TF Serving's model repository layout, so users moving from those servers keep it:
/// `<repo>/<model>/<version>/model.onnx`, version folders named by positive integers, an
/// optional `<repo>/<model>/config.pbtxt` (Triton) or `function.yaml` (Petrel's keys, without
/// `model`). Each version folder becomes a revision tagged with its number; Triton's default
/// version policy (`latest: 1`) becomes 100 % of traffic on the highest version.
enum ModelRepository {
    static func scan(_ repo: String) throws -> [DeploySource] {
        let fm = FileManager.default
        let modelDirs: [String]
        if isModelFolder(repo) {
            modelDirs = [repo]
        } else {
            let entries = ((try? fm.contentsOfDirectory(atPath: repo)) ?? []).sorted()
            modelDirs = entries.map { (repo as NSString).appendingPathComponent($0) }.filter(isModelFolder)
        }
        guard !modelDirs.isEmpty else {
            throw ConfigError(file: repo, key: "", message: "neither a function folder (no function.yaml) nor a model repository (no <model>/<version>/model.onnx)")
        }
        return try modelDirs.flatMap(scanModel)
    }

    /// A folder with at least one numeric sub-folder.
    static func isModelFolder(_ path: String) -> Bool {
        ((try? FileManager.default.contentsOfDirectory(atPath: path)) ?? []).contains { version($0) != nil && isDirectory((path as NSString).appendingPathComponent($0)) }
    }

    static func version(_ s: String) -> Int? { Int(s).flatMap { $0 > 0 && String($0) == s ? $0 : nil } }

    static func isDirectory(_ p: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: p, isDirectory: &d) && d.boolValue
    }

    static func scanModel(_ dir: String) throws -> [DeploySource] {
        let fm = FileManager.default
        let folderName = (dir as NSString).lastPathComponent
        var name = folderName
        var extra = ""
        let pbtxt = (dir as NSString).appendingPathComponent("config.pbtxt")
        let yaml = (dir as NSString).appendingPathComponent(FunctionConfig.fileName)
        if fm.fileExists(atPath: yaml) {
            extra = try String(contentsOfFile: yaml, encoding: .utf8)
            if extra.range(of: #"(?m)^model\s*:"#, options: .regularExpression) != nil {
                throw ConfigError(file: yaml, key: "model", message: "must be left out in a model repository: each version folder's model.onnx is the model")
            }
            if let n = extra.range(of: #"(?m)^name\s*:\s*(\S+)"#, options: .regularExpression) {
                name = String(extra[n].split(separator: ":", maxSplits: 1)[1]).trimmingCharacters(in: .whitespaces)
            } else {
                extra = "name: \(name)\n" + extra
            }
        } else {
            if fm.fileExists(atPath: pbtxt) {
                let fields = try TritonConfig.topLevelFields(String(contentsOfFile: pbtxt, encoding: .utf8), file: pbtxt)
                if let n = fields["name"] { name = n }
                if let p = fields["platform"], p != "onnxruntime_onnx" {
                    throw ConfigError(file: pbtxt, key: "platform", message: "= \"\(p)\": Petrel serves ONNX models only (platform onnxruntime_onnx)")
                }
                if let b = fields["backend"], b != "onnxruntime" {
                    throw ConfigError(file: pbtxt, key: "backend", message: "= \"\(b)\": Petrel serves ONNX models only (backend onnxruntime)")
                }
            }
            extra = "name: \(name)\n"
        }
        if let why = FunctionConfig.dnsLabelProblem(name) {
            throw ConfigError(file: dir, key: "name", message: "= \"\(name)\": \(why) (a function's name comes from the model folder or its config)")
        }
        let versions = ((try? fm.contentsOfDirectory(atPath: dir)) ?? []).compactMap(version).sorted()
        return try versions.map { v in
            let vdir = (dir as NSString).appendingPathComponent(String(v))
            let model = (vdir as NSString).appendingPathComponent("model.onnx")
            guard fm.fileExists(atPath: model) else {
                let found = ((try? fm.contentsOfDirectory(atPath: vdir)) ?? []).sorted().joined(separator: ", ")
                throw ConfigError(file: vdir, key: "", message: "has no model.onnx (found: \(found.isEmpty ? "nothing" : found)); Petrel serves ONNX — convert a SavedModel with tf2onnx")
            }
            // The version is part of the text, so each version folder is its own revision even when
            // two hold the same bytes, and deploying the repository again reuses them all.
            let text = "# model repository version \(v)\n" + extra + (extra.hasSuffix("\n") ? "" : "\n") + "model: model.onnx\n"
            let config = try FunctionConfig.parse(text, file: yaml, directory: vdir)
            return DeploySource(configText: text, config: config, modelPath: model,
                                origin: DeploySource.absolute(vdir), tag: String(v))
        }
    }
}

/// The few top-level scalars of a Triton `config.pbtxt` (protobuf text format) Petrel reads;
/// nested messages and lists are skipped.
enum TritonConfig {
    static func topLevelFields(_ text: String, file: String) throws -> [String: String] {
        var fields: [String: String] = [:]
        var depth = 0
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init)?
                .trimmingCharacters(in: .whitespaces) ?? ""
            if line.isEmpty { continue }
            if depth == 0, let colon = line.firstIndex(of: ":") {
                let key = line[..<colon].trimmingCharacters(in: .whitespaces)
                let isField = !key.isEmpty && key.utf8.allSatisfy { ($0 | 0x20 >= 97 && $0 | 0x20 <= 122) || ($0 >= 48 && $0 <= 57) || $0 == 95 }
                var value = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
                if value.hasPrefix("\""), value.hasSuffix("\""), value.count >= 2 { value = String(value.dropFirst().dropLast()) }
                if isField && !value.hasPrefix("[") && !value.hasPrefix("{") { fields[key] = value }
            }
            depth += line.filter { $0 == "{" || $0 == "[" }.count - line.filter { $0 == "}" || $0 == "]" }.count
            if depth < 0 { throw ConfigError(file: file, key: "", message: "unbalanced braces") }
        }
        return fields
    }
}
