import Foundation
import Testing
@testable import PetrelProtocol

@Suite struct RestDecodeTests {
    @Test func basicRequest() throws {
        let r = try decode("""
        {"id":"42","parameters":{"priority":1,"tag":"a","strict":true,"temp":0.5},
         "inputs":[{"name":"x","shape":[2,2],"datatype":"FP32","data":[[1,2],[3,4.5]]}],
         "outputs":[{"name":"y","parameters":{"binary_data":true}},{"name":"z"}]}
        """)
        #expect(r.id == "42")
        #expect(r.modelName == "m")
        #expect(r.parameters == ["priority": .int(1), "tag": .string("a"), "strict": .bool(true), "temp": .double(0.5)])
        #expect(r.inputs == [InferTensor(name: "x", datatype: .fp32, shape: [2, 2], data: f32([1, 2, 3, 4.5]))])
        #expect(r.outputs == [RequestedOutput(name: "y", binary: true), RequestedOutput(name: "z", binary: nil)])
        #expect(!r.binaryOutputsByDefault)
    }

    @Test func keysInAnyOrderAndWhitespace() throws {
        let r = try decode(" \n{ \"inputs\" : [ { \"data\" : [ 1 , 2 ] ,\t\"datatype\":\"INT32\", \"shape\":[2], \"name\":\"x\" } ] }\r\n ")
        #expect(r.inputs[0].data == le([Int32(1), 2]))
    }

    @Test func requestParametersBinaryDataOutput() throws {
        let r = try decode(#"{"parameters":{"binary_data_output":true},"inputs":[]}"#)
        #expect(r.binaryOutputsByDefault)
        #expect(r.parameters.isEmpty)
        #expect(errorMessage { _ = try decode(#"{"parameters":{"binary_data_output":1},"inputs":[]}"#) }
            == "parameter 'binary_data_output' must be a bool")
    }

    @Test func elementCountMismatch() {
        let json = #"{"inputs":[{"name":"x","shape":[1,64],"datatype":"FP32","data":[\#((0..<63).map(String.init).joined(separator: ","))]}]}"#
        #expect(errorMessage { _ = try decode(json) } == "input 'x': expected 64 elements for shape [1,64], got 63")
    }

    @Test func typeMismatchMessages() {
        let cases: [(InferDataType, String, String)] = [
            (.fp32, #""a""#, #"input 'x': datatype FP32 expects numbers, got string "a""#),
            (.fp32, "true", "input 'x': datatype FP32 expects numbers, got boolean true"),
            (.int32, "1.5", "input 'x': datatype INT32 expects integers, got 1.5"),
            (.int32, #""1""#, #"input 'x': datatype INT32 expects integers, got string "1""#),
            (.int8, "128", "input 'x': value 128 is out of range for INT8 (-128...127)"),
            (.int8, "-129", "input 'x': value -129 is out of range for INT8 (-128...127)"),
            (.uint8, "-1", "input 'x': value -1 is out of range for UINT8 (0...255)"),
            (.uint16, "65536", "input 'x': value 65536 is out of range for UINT16 (0...65535)"),
            (.int64, "9223372036854775808", "input 'x': value 9223372036854775808 is out of range for INT64 (-9223372036854775808...9223372036854775807)"),
            (.uint64, "18446744073709551616", "input 'x': value 18446744073709551616 is out of range for UINT64 (0...18446744073709551615)"),
            (.bool, "1", "input 'x': datatype BOOL expects true or false, got number 1"),
            (.bytes, "1", "input 'x': datatype BYTES expects strings, got number 1"),
            (.fp32, "1e39", "input 'x': value 1e39 is out of range for FP32"),
            (.fp16, "65520", "input 'x': value 65520 is out of range for FP16"),
            (.fp32, "{}", "input 'x': datatype FP32 expects numbers, got an object"),
        ]
        for (dt, value, message) in cases {
            #expect(errorMessage { _ = try decodeElement(dt, value) } == message, "\(dt) \(value)")
        }
    }

    @Test func everyDatatypeFromJSON() throws {
        #expect(try decodeElement(.bool, "true") == [1])
        #expect(try decodeElement(.bool, "false") == [0])
        #expect(try decodeElement(.uint8, "255") == [255])
        #expect(try decodeElement(.uint16, "65535") == le([UInt16.max]))
        #expect(try decodeElement(.uint32, "4294967295") == le([UInt32.max]))
        #expect(try decodeElement(.uint64, "18446744073709551615") == le([UInt64.max]))
        #expect(try decodeElement(.int8, "-128") == le([Int8.min]))
        #expect(try decodeElement(.int16, "-32768") == le([Int16.min]))
        #expect(try decodeElement(.int32, "-2147483648") == le([Int32.min]))
        #expect(try decodeElement(.int64, "-9223372036854775808") == le([Int64.min]))
        #expect(try decodeElement(.int64, "9223372036854775807") == le([Int64.max]))
        #expect(try decodeElement(.int32, "2.0") == le([Int32(2)]))
        #expect(try decodeElement(.int32, "1e3") == le([Int32(1000)]))
        #expect(try decodeElement(.int32, "-0") == le([Int32(0)]))
        #expect(try decodeElement(.fp32, "1.5") == f32([1.5]))
        #expect(try decodeElement(.fp64, "0.1") == f64([0.1]))
        #expect(try decodeElement(.fp64, "-0") == f64([-0.0]))
        #expect(try decodeElement(.fp16, "1.0") == le([UInt16(0x3C00)]))
        #expect(try decodeElement(.fp16, "-2") == le([UInt16(0xC000)]))
        #expect(try decodeElement(.fp16, "65504") == le([UInt16(0x7BFF)]))
        #expect(try decodeElement(.fp16, "5.960464477539063e-08") == le([UInt16(0x0001)]))  // smallest subnormal
        #expect(try decodeElement(.fp16, "0.1") == le([UInt16(0x2E66)]))
        #expect(try decodeElement(.bf16, "1.0") == le([UInt16(0x3F80)]))
        #expect(try decodeElement(.bf16, "3.140625") == le([UInt16(0x4049)]))
        #expect(try decodeElement(.bf16, "-0.0") == le([UInt16(0x8000)]))
        #expect(try decodeElement(.bytes, #""héllo""#) == bytesElements(["héllo"]))
        #expect(try decodeElement(.bytes, #""""#) == bytesElements([""]))
    }

    @Test func nonFiniteFloats() throws {
        #expect(floats(try decodeElement(.fp32, "NaN"))[0].isNaN)
        #expect(floats(try decodeElement(.fp32, "null"))[0].isNaN)
        #expect(floats(try decodeElement(.fp32, "Infinity"))[0] == .infinity)
        #expect(floats(try decodeElement(.fp32, "-Infinity"))[0] == -.infinity)
        #expect(try decodeElement(.fp16, "-Infinity") == le([UInt16(0xFC00)]))
        #expect(errorMessage { _ = try decodeElement(.int32, "NaN") } != nil)
    }

    @Test func floatRoundTrips() throws {
        // Shortest forms, Python's 17-digit doubles of float32 values, exponents, subnormals, -0.
        var samples: [Float] = [0.1, 1 / 3, 3.4028235e38, 1.17549435e-38, 1e-45, 1.4e-44, -0.0, 123456789, 16777217,
                                0.999999940395, 1.00000012, 2.5e-10, 7e22]
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<3000 {
            samples.append(Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &rng)))
        }
        for v in samples {
            for literal in [v.description, Double(v).description, String(format17(Double(v)))] {
                let parsed = try parseFloat(literal)
                #expect(parsed.bitPattern == v.bitPattern, "\(literal) → \(parsed), expected \(v)")
            }
        }
        // Literals near float rounding midpoints take the exact path.
        #expect(try parseFloat("16777217") == 16777216)
        #expect(try parseFloat("16777219") == 16777220)
        #expect(try parseFloat("1.00000005960464477539062500000001") == Float(bitPattern: 0x3F80_0001))
        #expect(try parseFloat("1.000000059604644775390625") == 1)
        #expect(try parseFloat("0.000000000000000000000000000000000000000000001") == Float(bitPattern: 1))
        #expect(try parseFloat("12345678901234567890123") == 12345678901234567890123 as Float)
    }

    /// Long FP32 arrays take the reader's fast path in chunks and hand anything unusual (NaN, null,
    /// 20-digit literals, whitespace) back to the general path mid-array; the values must not care.
    @Test func fp32ArraysMixingFastAndGeneralElements() throws {
        var rng = SystemRandomNumberGenerator()
        for round in 0..<20 {
            var literals: [String] = []
            var expected: [Float] = []
            for i in 0..<(round * 17 + 1) {
                let v = Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &rng)) * (i % 3 == 0 ? -1 : 1)
                switch Int.random(in: 0..<10, using: &rng) {
                case 0: literals.append("NaN"); expected.append(.nan)
                case 1: literals.append(" null "); expected.append(.nan)
                case 2: literals.append(format17(Double(v), digits: 25)); expected.append(v)
                case 3: literals.append("\n\t\(Double(v).description) "); expected.append(v)
                case 4: literals.append(String(Int.random(in: -100...100, using: &rng)) + ".0")
                        expected.append(Float(literals.last!)!)
                default: literals.append(v.description); expected.append(v)
                }
            }
            let flat = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[\#(literals.count)],"data":[\#(literals.joined(separator: ","))]}]}"#)
            let rows = literals.count / 2
            let pairs: [String] = (0..<rows).map { (r: Int) -> String in "[\(literals[2 * r]),\(literals[2 * r + 1])]" }
            let nestedData = pairs.joined(separator: ",")
            let nested = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[\#(rows),2],"data":[\#(nestedData)]}]}"#)
            let cases: [([Float], [Float])] = [(floats(flat.inputs[0].data), expected),
                                               (floats(nested.inputs[0].data), Array(expected.prefix(2 * rows)))]
            for (got, want) in cases {
                #expect(got.count == want.count)
                for (g, w) in zip(got, want) {
                    #expect(g.bitPattern == w.bitPattern || (g.isNaN && w.isNaN), "\(g) != \(w)")
                }
            }
        }
        #expect(errorMessage { _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1, 2,]}]}"#) }
            == "input 'x': invalid JSON at byte 66: expected a value after ','")
        #expect(errorMessage { _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[1,2 3]}]}"#) }
            == "input 'x': invalid JSON at byte 65: expected ',' or ']', found '3'")
    }

    /// "%.17g", what Python's repr may produce for a double at worst.
    private func format17(_ d: Double, digits: Int = 17) -> String {
        var buf = [CChar](repeating: 0, count: 48)
        _ = withVaList([d]) { vsnprintf(&buf, 48, "%.\(digits)g", $0) }
        return String(cString: buf)
    }

    @Test func bigIntsAndExponents() throws {
        #expect(try decodeElement(.fp64, "1.7976931348623157e308") == f64([.greatestFiniteMagnitude]))
        #expect(try decodeElement(.fp64, "5e-324") == f64([.leastNonzeroMagnitude]))
        #expect(try decodeElement(.fp64, "123456789012345678901234567890") == f64([123456789012345678901234567890.0]))
        #expect(try decodeElement(.fp64, "1E+2") == f64([100]))
        #expect(try decodeElement(.fp64, "1e-2") == f64([0.01]))
        #expect(try decodeElement(.fp32, "0.000123") == f32([0.000123]))
        #expect(errorMessage { _ = try decodeElement(.fp64, "1e400") } == "input 'x': value 1e400 is out of range for FP64")
    }

    @Test func invalidJSON() {
        let cases: [(String, String)] = [
            (#"{"inputs":[}"#, "invalid JSON at byte 11: unexpected '}'"),
            (#"{"inputs":[]"#, "invalid JSON at byte 12: unexpected end of input"),
            (#"{"inputs":[]} x"#, "invalid JSON at byte 14: unexpected 'x' after the JSON value"),
            (#"{"inputs":[],}"#, "invalid JSON at byte 13: expected a string key, found '}'"),
            (#"{"x":[1,]}"#, "invalid JSON at byte 8: expected a value after ','"),
            (#"{"inputs" []}"#, "invalid JSON at byte 10: expected ':', found '['"),
            (#"{"id":"a\qb","inputs":[]}"#, #"invalid JSON at byte 8: invalid escape '\q'"#),
            (#"{"id":"abc"#, "invalid JSON at byte 6: unterminated string"),
            (#"{"id":"\ud800","inputs":[]}"#, #"invalid JSON at byte 7: unpaired surrogate \ud800"#),
            ("[1]", "invalid JSON at byte 0: the request must be a JSON object"),
            ("", "invalid JSON at byte 0: unexpected end of input"),
            ("{\"id\":\"a\u{01}\"}", "invalid JSON at byte 8: control character 0x1 in string"),
            (#"{"inputs":tru}"#, "invalid JSON at byte 10: invalid literal (expected true)"),
        ]
        for (json, message) in cases {
            #expect(errorMessage { _ = try decode(json) } == message, "\(json)")
        }
        let numbers: [(String, String)] = [
            ("01", "leading zero in number"), ("1.", "expected a digit after '.'"),
            ("1e", "expected a digit in the exponent"), ("-", "unexpected ']'"), ("+1", "unexpected '+'"),
            (".5", "unexpected '.'"), ("1x", "expected ',' or ']', found 'x'"),
        ]
        for (n, message) in numbers {
            let m = errorMessage { _ = try decodeElement(.fp32, n) }
            #expect(m?.hasSuffix(message) == true, "\(n): \(m ?? "no error")")
        }
        #expect(errorMessage { _ = try decode("{\"id\":\"\u{FF}\"}".replacingOccurrences(of: "\u{FF}", with: "")) } != nil)
        #expect(errorMessage { _ = try OIPRest.decodeInferRequest(body: [0x7B, 0x22, 0x69, 0x64, 0x22, 0x3A, 0x22, 0xFF, 0x22, 0x7D], modelName: "m") }
            == "invalid JSON at byte 7: invalid UTF-8 in string")
    }

    @Test func escapesAndUnicode() throws {
        let r = try decode(#"{"id":"a\"b\\c\/d\b\f\n\r\t\u00e9\ud83d\ude00é","inputs":[]}"#)
        #expect(r.id == "a\"b\\c/d\u{8}\u{C}\n\r\té😀é")
        let t = try decodeElement(.bytes, #""\u0000\n""#)
        #expect(t == le([UInt32(2)]) + [0, 10])
    }

    @Test func deepNestingLimit() {
        let ok = String(repeating: "[", count: 60) + "1" + String(repeating: "]", count: 60)
        #expect(throws: Never.self) { _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":\#(ok)}]}"#) }
        let deep = String(repeating: "[", count: 100_000)
        #expect(errorMessage { _ = try decode(#"{"x":\#(deep)"#) } == "invalid JSON at byte 68: nesting deeper than 64 levels")
    }

    @Test func raggedNestedArrays() {
        #expect(errorMessage { _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[[1,2],[3]]}]}"#) }
            == "input 'x': ragged nested array at byte 67: 1 elements where 2 were expected")
        #expect(errorMessage { _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[3],"data":[[1,2],3]}]}"#) }
            == "input 'x': ragged nested array at byte 67: arrays and values mixed at one depth")
    }

    @Test func scalarDataAndEmptyTensor() throws {
        let r = try decode(#"{"inputs":[{"name":"s","datatype":"INT64","shape":[],"data":7},{"name":"e","datatype":"FP32","shape":[0,3],"data":[]}]}"#)
        #expect(r.inputs[0].data == le([Int64(7)]))
        #expect(r.inputs[1].data.isEmpty)
    }

    @Test func structuralErrors() {
        let cases: [(String, String)] = [
            (#"{}"#, "the request has no 'inputs'"),
            (#"{"inputs":{}}"#, "'inputs' must be an array, got an object"),
            (#"{"inputs":[{"datatype":"FP32","shape":[1],"data":[1]}]}"#, "input #0: missing 'name'"),
            (#"{"inputs":[{"name":"x","shape":[1],"data":[1]}]}"#, "input 'x': missing 'datatype'"),
            (#"{"inputs":[{"name":"x","datatype":"FP32","data":[1]}]}"#, "input 'x': missing 'shape'"),
            (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1]}]}"#, "input 'x': missing 'data' (or parameter 'binary_data_size' for binary data)"),
            (#"{"inputs":[{"name":"x","datatype":"FLOAT","shape":[1],"data":[1]}]}"#, "input 'x': unknown datatype 'FLOAT'"),
            (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[-1],"data":[1]}]}"#, "input 'x': 'shape' dimension 0 must be a non-negative integer"),
            (#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[1],"parameters":{"binary_data_size":4}}]}"#, "input 'x': has both 'data' and parameter 'binary_data_size'"),
            (#"{"id":5,"inputs":[]}"#, "'id' must be a string, got number 5"),
            (#"{"inputs":[],"outputs":[{"parameters":{}}]}"#, "output #0: missing 'name'"),
            (#"{"inputs":[],"outputs":[{"name":"y","parameters":{"binary_data":"yes"}}]}"#, "output 'y': parameter 'binary_data' must be a bool"),
            (#"{"inputs":[],"parameters":{"p":[1]}}"#, "parameter 'p' must be a bool, number or string, got an array"),
        ]
        for (json, message) in cases {
            #expect(errorMessage { _ = try decode(json) } == message, "\(json)")
        }
        do {
            _ = try decode(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"shared_memory_region":"r"}}]}"#)
            Issue.record("expected an error")
        } catch {
            #expect(error.code == .unimplemented)
        }
    }

    @Test func binaryInputs() throws {
        let json = #"{"inputs":[{"name":"a","shape":[2,2],"datatype":"UINT32","parameters":{"binary_data_size":16}},{"name":"j","shape":[1],"datatype":"INT8","data":[5]},{"name":"b","shape":[3],"datatype":"BOOL","parameters":{"binary_data_size":3}},{"name":"s","shape":[2],"datatype":"BYTES","parameters":{"binary_data_size":15}}],"outputs":[{"name":"o","parameters":{"binary_data":true}}]}"#
        let tail = le([UInt32(1), 2, 3, 4]) + [1, 0, 1] + bytesElements(["hi", "there"])
        let r = try decode(json, header: json.utf8.count, tail: tail)
        #expect(r.inputs.map(\.name) == ["a", "j", "b", "s"])
        #expect(r.inputs[0].data == le([UInt32(1), 2, 3, 4]))
        #expect(r.inputs[1].data == [5])
        #expect(r.inputs[2].data == [1, 0, 1])
        #expect(r.inputs[3].data == bytesElements(["hi", "there"]))

        #expect(errorMessage { _ = try decode(json, header: json.utf8.count, tail: Array(tail.dropLast())) }
            == "input 's': binary_data_size 15 runs past the end of the body (14 bytes left)")
        #expect(errorMessage { _ = try decode(json, header: json.utf8.count, tail: tail + [0]) }
            == "the body has 1 bytes of binary data that no input's binary_data_size claims")
        #expect(errorMessage { _ = try decode(json, header: 10_000, tail: tail) }
            == "Inference-Header-Content-Length 10000 is outside the body's \(json.utf8.count + tail.count) bytes")
        let wrongSize = #"{"inputs":[{"name":"a","shape":[2],"datatype":"FP32","parameters":{"binary_data_size":4}}]}"#
        #expect(errorMessage { _ = try decode(wrongSize, header: wrongSize.utf8.count, tail: [0, 0, 0, 0]) }
            == "input 'a': expected 2 elements for shape [2], got 1")
        let badBytes = #"{"inputs":[{"name":"s","shape":[1],"datatype":"BYTES","parameters":{"binary_data_size":4}}]}"#
        #expect(errorMessage { _ = try decode(badBytes, header: badBytes.utf8.count, tail: le([UInt32(9)])) }
            == "input 's': BYTES data is not a sequence of 4-byte-length-prefixed elements")
    }

    @Test func decodeFromUnsafeBuffer() throws {
        let body = bytes(#"{"inputs":[{"name":"x","datatype":"FP32","shape":[1],"data":[2]}]}"#)
        let r = try body.withUnsafeBufferPointer { buf in
            try OIPRest.decodeInferRequest(body: buf, inferenceHeaderLength: nil, modelName: "m", modelVersion: "2")
        }
        #expect(r.modelVersion == "2")
        #expect(r.inputs[0].data == f32([2]))
    }
}
