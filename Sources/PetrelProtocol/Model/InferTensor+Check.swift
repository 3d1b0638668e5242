extension InferTensor {
    /// Fails unless `data` holds exactly the elements `shape` calls for: n × byteSize bytes, or for
    /// BYTES n length-prefixed elements and nothing else. Binary and gRPC raw data need this check;
    /// JSON data is counted as it is read.
    public func checkDataMatchesShape() throws(ProtocolError) {
        var label: String { "input '\(name)'" }   // built only for an error
        guard let n = shapeElementCount else {
            throw .invalidArgument("\(label): shape \(shapeText(shape)) has a negative dimension or too many elements")
        }
        if let size = datatype.byteSize {
            guard data.count == n * size else {
                if data.count % size == 0 {
                    throw .invalidArgument("\(label): expected \(n) elements for shape \(shapeText(shape)), got \(data.count / size)")
                }
                throw .invalidArgument("\(label): expected \(n * size) bytes for shape \(shapeText(shape)) \(datatype.rawValue), got \(data.count)")
            }
        } else {
            guard let ranges = bytesElementRanges(data) else {
                throw .invalidArgument("\(label): BYTES data is not a sequence of 4-byte-length-prefixed elements")
            }
            guard ranges.count == n else {
                throw .invalidArgument("\(label): expected \(n) elements for shape \(shapeText(shape)), got \(ranges.count)")
            }
        }
    }
}
