import Foundation
import Testing
@testable import PetrelRuntime

@Suite struct DeploySourceTests {
    let root: String = {
        let d = NSTemporaryDirectory() + "petrel-deploy-source-\(UUID().uuidString)"
        try! FileManager.default.createDirectory(atPath: d, withIntermediateDirectories: true)
        return d
    }()

    func write(_ path: String, _ text: String = "onnx bytes") {
        let p = root + "/" + path
        try! FileManager.default.createDirectory(atPath: (p as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try! text.write(toFile: p, atomically: true, encoding: .utf8)
    }

    func message(_ body: () throws -> Any) -> String {
        do { _ = try body(); return "(accepted)" } catch { return "\(error)" }
    }

    @Test func functionFolderWithNameOverride() throws {
        write("f/function.yaml", "name: digits\nmodel: model.onnx\n")
        write("f/model.onnx")
        let s = try DeploySource.scan(root + "/f", name: "other")
        #expect(s.count == 1 && s[0].config.name == "other" && s[0].configText == "name: digits\nmodel: model.onnx\n" && s[0].tag == nil)
        #expect(message { try DeploySource.scan(root + "/f", name: "Bad/Name") }.contains("must be a DNS label"))
    }

    @Test func missingModelFileIsNamed() {
        write("g/function.yaml", "name: g\nmodel: weights.onnx\n")
        #expect(message { try DeploySource.scan(root + "/g") } == "\(root)/g/function.yaml: model: = \"weights.onnx\": no such file in \(root)/g")
    }

    @Test func tritonRepositoryBecomesOneRevisionPerVersion() throws {
        write("repo/digits/1/model.onnx")
        write("repo/digits/3/model.onnx")
        write("repo/digits/config.pbtxt", "name: \"digits\"\nplatform: \"onnxruntime_onnx\"\ninput [ { name: \"x\" dims: [ 64 ] } ]\nmax_batch_size: 8\n")
        write("repo/other/2/model.onnx")
        let s = try DeploySource.scan(root + "/repo")
        #expect(s.map(\.config.name) == ["digits", "digits", "other"])
        #expect(s.map(\.tag) == ["1", "3", "2"])
        #expect(s[1].modelPath == root + "/repo/digits/3/model.onnx" && s[1].configText == "# model repository version 3\nname: digits\nmodel: model.onnx\n")
        // One model folder on its own is a repository of one model.
        #expect(try DeploySource.scan(root + "/repo/digits").count == 2)
    }

    @Test func repositoryRefusals() {
        write("tf/m/1/saved_model.pb")
        #expect(message { try DeploySource.scan(root + "/tf") }.contains("has no model.onnx (found: saved_model.pb); Petrel serves ONNX"))
        write("trt/m/1/model.onnx")
        write("trt/m/config.pbtxt", "platform: \"tensorrt_plan\"\n")
        #expect(message { try DeploySource.scan(root + "/trt") }.hasSuffix("config.pbtxt: platform: = \"tensorrt_plan\": Petrel serves ONNX models only (platform onnxruntime_onnx)"))
        write("yml/m/1/model.onnx")
        write("yml/m/function.yaml", "model: x.onnx\n")
        #expect(message { try DeploySource.scan(root + "/yml") }.contains("model: must be left out in a model repository"))
        write("empty/readme.txt")
        #expect(message { try DeploySource.scan(root + "/empty") }.contains("neither a function folder (no function.yaml) nor a model repository"))
    }

    @Test func repositoryFunctionYamlKeepsPetrelKeys() throws {
        write("p/m/1/model.onnx")
        write("p/m/function.yaml", "auth: key\nlimits:\n  containerConcurrency: 4\n")
        let s = try DeploySource.scan(root + "/p")
        #expect(s[0].config.name == "m" && s[0].config.auth == .key && s[0].config.limits.containerConcurrency == 4)
    }

    @Test func tritonConfigTopLevelFields() throws {
        let f = try TritonConfig.topLevelFields("""
            name: "resnet"  # comment
            platform: "onnxruntime_onnx"
            instance_group [ { count: 2 kind: KIND_CPU } ]
            dynamic_batching {
              max_queue_delay_microseconds: 100
            }
            """, file: "c")
        #expect(f == ["name": "resnet", "platform": "onnxruntime_onnx"])
        #expect(message { try TritonConfig.topLevelFields("a { }}", file: "c") } == "c: unbalanced braces")
    }
}
