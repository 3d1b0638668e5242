import Testing
@testable import PetrelRuntime

@Suite struct FunctionConfigTests {
    func parse(_ yaml: String) throws -> FunctionConfig {
        try FunctionConfig.parse(yaml, file: "f/function.yaml", directory: "f")
    }

    func message(_ yaml: String) -> String {
        do { _ = try parse(yaml); return "(accepted)" } catch { return "\(error)" }
    }

    @Test func bundledShapeParses() throws {
        let c = try parse("""
            name: digits-mlp
            description: an MLP
            model: model.onnx
            inputs:
              - name: input
                datatype: FP32
                shape: [-1, 64]
            """)
        #expect(c.name == "digits-mlp" && c.model == "model.onnx" && c.modelPath == "f/model.onnx")
        #expect(c.inputs == [DeclaredTensor(name: "input", datatype: "FP32", shape: [-1, 64])])
        #expect(c.outputs == nil)
        #expect(c.auth == .public && c.renames.isEmpty)
    }

    @Test func batchingSettings() throws {
        let base = "name: f\nmodel: m.onnx\n"
        #expect(try parse(base).maxBatchSize == 0)
        #expect(try parse(base + "batching:\n  maxBatchSize: 16\n").maxBatchSize == 16)
        #expect(message(base + "batching: 16\n") == "f/function.yaml: batching: = 16: must be a mapping with maxBatchSize")
        #expect(message(base + "batching:\n  maxBatchSize: 0\n")
            == "f/function.yaml: batching.maxBatchSize: = 0: must be an integer in 1...1024 (1 = no batching)")
        #expect(message(base + "batching:\n  delay: 1ms\n")
            == "f/function.yaml: batching.delay: unknown key (known keys: maxBatchSize)")
    }

    @Test func renamesAndAuth() throws {
        let c = try parse("""
            name: digits
            model: model.onnx
            auth: key
            inputs:
              - name: pixels
                from: input
            outputs:
              - name: probs
                from: probabilities
                datatype: FP32
            """)
        #expect(c.auth == .key)
        #expect(c.renames == ["input": "pixels", "probabilities": "probs"])
        #expect(c.inputs == [DeclaredTensor(name: "pixels", from: "input")])
    }

    @Test(arguments: [
        ("model: m.onnx", "f/function.yaml: name: is required"),
        ("name: a/b\nmodel: m.onnx", #"f/function.yaml: name: = "a/b": must be a DNS label: lower-case letters, digits and '-' only"#),
        ("name: ../x\nmodel: m.onnx", #"f/function.yaml: name: = "../x": must be a DNS label: lower-case letters, digits and '-' only"#),
        ("name: Digits\nmodel: m.onnx", #"f/function.yaml: name: = "Digits": must be a DNS label: lower-case letters, digits and '-' only"#),
        ("name: -x\nmodel: m.onnx", #"f/function.yaml: name: = "-x": must be a DNS label: must not start or end with '-'"#),
        ("name: \(String(repeating: "a", count: 64))\nmodel: m.onnx", "must be at most 63 characters"),
        ("name: 12\nmodel: m.onnx", "f/function.yaml: name: = 12: must be a string"),
        ("name: x", "f/function.yaml: model: is required (the ONNX file, relative to the folder)"),
        ("name: x\nmodel: ../../etc/passwd", #"f/function.yaml: model: = "../../etc/passwd": must stay inside the function's folder"#),
        ("name: x\nmodel: /abs.onnx", "must stay inside the function's folder"),
        ("name: x\nmodel: m.onnx\nmodle: y", "f/function.yaml: modle: unknown key (known keys: auth, batching, description, inputs, limits, model, name, outputs, scaling)"),
        ("name: x\nmodel: m.onnx\ninputs: 3", "f/function.yaml: inputs: must be a list of {name, datatype, shape}"),
        ("name: x\nmodel: m.onnx\ninputs:\n  - name: a\n    datatype: FP32\n    shape: [1, x]", "must be a list of integers, -1 for any size"),
        ("name: x\nmodel: m.onnx\ninputs:\n  - name: a\n    datatype: float\n    shape: [1]", "f/function.yaml: inputs[0].datatype: = float: must be one of BOOL, UINT8"),
        ("name: x\nmodel: m.onnx\ninputs:\n  - name: a\n    from: [b]", "f/function.yaml: inputs[0].from: = [\"b\"]: must be the model's name for this tensor"),
        ("name: x\nmodel: m.onnx\ninputs:\n  - name: a\n  - name: a", #"f/function.yaml: inputs[1].name: = "a": declared twice"#),
        ("name: x\nmodel: m.onnx\nauth: secret", "f/function.yaml: auth: = secret: must be public or key"),
        ("name: x\nmodel: m.onnx\noutputs:\n  - name: a\n    datatype: FP32\n    shape: [1]\n    dims: 2", "f/function.yaml: outputs[0].dims: unknown key"),
        ("- just\n- a list", "f/function.yaml: must be a mapping of keys to values"),
        ("name: x\nmodel: m.onnx\nlimits:\n  containerConcurrency: -1", "f/function.yaml: limits.containerConcurrency: = -1: must be an integer in 0...1000 (0 = unlimited)"),
        ("name: x\nmodel: m.onnx\nlimits:\n  timeout: forever", "f/function.yaml: limits.timeout: = forever: must be a duration between 1ms and 1h, like 30s or 500ms"),
        ("name: x\nmodel: m.onnx\nlimits:\n  memory: 1Mi", "f/function.yaml: limits.memory: = 1Mi: must be a size of at least 64Mi, like 512Mi or 2Gi"),
        ("name: x\nmodel: m.onnx\nlimits:\n  cpu: 2", "f/function.yaml: limits.cpu: unknown key (known keys: containerConcurrency, memory, queue, timeout)"),
        ("name: x\nmodel: m.onnx\nscaling: 3", "f/function.yaml: scaling: = 3: must be a mapping of KPA settings"),
        ("name: [unclosed", "f/function.yaml: not valid YAML"),
    ])
    func malformedFilesAreRefusedPrecisely(yaml: String, expected: String) {
        let m = message(yaml)
        #expect(m.hasPrefix(expected) || m.contains(expected), "\(m)")
    }
}
