/// Checks a decoded request against the model's signature, the one place every protocol's request
/// passes before reaching a model. On success the inputs are in the signature's order, so the
/// executor can bind them by position.
public func validate(_ request: inout InferRequest, against signature: ModelSignature) throws(ProtocolError) {
    // The common request names every input once, in the signature's order: check it in place,
    // without building a name index (this runs per request, and a tiny model's inference is only
    // microseconds). Signature names are unique, so a positional match also rules out duplicates.
    if request.inputs.count == signature.inputs.count,
       zip(request.inputs, signature.inputs).allSatisfy({ $0.name == $1.name }) {
        for (t, spec) in zip(request.inputs, signature.inputs) { try check(t, against: spec) }
    } else {
        try reorder(&request, against: signature)
    }
    if request.outputs.isEmpty { return }
    var requested = Set<String>()
    for o in request.outputs {
        guard requested.insert(o.name).inserted else { throw .invalidArgument("duplicate requested output '\(o.name)'") }
        guard signature.outputs.contains(where: { $0.name == o.name }) else {
            let known = signature.outputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw .invalidArgument("unknown requested output '\(o.name)' for model '\(signature.name)' (outputs: \(known))")
        }
    }
}

/// Checks inputs given in any order and puts them in the signature's order.
private func reorder(_ request: inout InferRequest, against signature: ModelSignature) throws(ProtocolError) {
    var byName: [String: Int] = [:]
    byName.reserveCapacity(request.inputs.count)
    for (i, t) in request.inputs.enumerated() {
        guard byName.updateValue(i, forKey: t.name) == nil else {
            throw .invalidArgument("duplicate input '\(t.name)'")
        }
        guard signature.inputs.contains(where: { $0.name == t.name }) else {
            let known = signature.inputs.map { "'\($0.name)'" }.joined(separator: ", ")
            throw .invalidArgument("unknown input '\(t.name)' for model '\(signature.name)' (inputs: \(known))")
        }
    }
    var ordered: [InferTensor] = []
    ordered.reserveCapacity(signature.inputs.count)
    for spec in signature.inputs {
        guard let i = byName[spec.name] else {
            throw .invalidArgument("missing input '\(spec.name)' (\(spec.datatype.rawValue) \(shapeText(spec.shape)))")
        }
        let t = request.inputs[i]
        try check(t, against: spec)
        ordered.append(t)
    }
    request.inputs = ordered
}

private func check(_ t: InferTensor, against spec: TensorSpec) throws(ProtocolError) {
    var label: String { "input '\(t.name)'" }   // built only for an error
    guard t.datatype == spec.datatype else {
        throw .invalidArgument("\(label): expected datatype \(spec.datatype.rawValue), got \(t.datatype.rawValue)")
    }
    if let d = t.shape.firstIndex(where: { $0 < 0 }) {
        throw .invalidArgument("\(label): dimension \(d) of shape \(shapeText(t.shape)) is negative")
    }
    guard t.shape.count == spec.shape.count else {
        throw .invalidArgument("\(label): expected rank \(spec.shape.count) (shape \(shapeText(spec.shape))), got rank \(t.shape.count) (shape \(shapeText(t.shape)))")
    }
    for (d, (got, want)) in zip(t.shape, spec.shape).enumerated() where want >= 0 && Int64(got) != want {
        throw .invalidArgument("\(label): dimension \(d) is \(got), expected \(want) (shape \(shapeText(t.shape)), model expects \(shapeText(spec.shape)))")
    }
    try t.checkDataMatchesShape()
}
