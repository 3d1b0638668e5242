/// What Petrel runs, for `petrel ops` and docs.
public enum ONNXSupport {
    public static var ops: [(op: String, versions: [Int])] { OpRegistry.supported }
    public static var maxOpset: Int { Op.maxOpset }
    public static let minOpset = 1
}
