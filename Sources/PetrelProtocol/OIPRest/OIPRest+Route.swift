#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Where a request goes: KServe v2 under /v2, TF Serving's REST API under /v1.
public enum Route: Sendable, Hashable {
    case serverLive, serverReady, serverMetadata
    case modelMetadata(name: String, version: String?)
    case modelReady(name: String, version: String?)
    case modelInfer(name: String, version: String?)
    case tfsPredict(name: String, version: String?, label: String?)
    case tfsModelStatus(name: String, version: String?, label: String?)
    case tfsMetadata(name: String, version: String?, label: String?)
    /// The path exists for other methods; `allow` is the Allow header's value.
    case methodNotAllowed(allow: String)
    case notFound
}

extension OIPRest {
    /// Maps a method and request target to a route. The query string is ignored; path segments are
    /// percent-decoded, and empty, ".", "..", undecodable or control-character segments (and ones
    /// decoding to "/") make the path unknown rather than guessing at a model name. GET routes also
    /// answer HEAD.
    public static func route(method: String, path: String) -> Route {
        plainInferRoute(method: method, path: path) ?? generalRoute(method: method, path: path)
    }

    /// `POST /v2/models/{m}[/versions/{v}]/infer` whose segments are plain (letters, digits,
    /// "-", "_", ".", "~"; not "." or ".."), read in place: the route of nearly every request.
    /// Splitting and decoding through `generalRoute` cost it about 10,000 instructions; this,
    /// a few hundred. Nil sends the path down the general route, which answers the same for
    /// anything this accepts (RouteTests holds the two together).
    static func plainInferRoute(method: String, path: String) -> Route? {
        guard method == "POST" else { return nil }
        var path = path
        return path.withUTF8 { u -> Route? in
            let prefix: StaticString = "/v2/models/", suffix: StaticString = "/infer"
            let np = prefix.utf8CodeUnitCount, ns = suffix.utf8CodeUnitCount
            guard u.count > np + ns, memcmp(u.baseAddress!, prefix.utf8Start, np) == 0,
                  memcmp(u.baseAddress! + u.count - ns, suffix.utf8Start, ns) == 0 else { return nil }
            // Up to three plain segments between them: {m} or {m}/versions/{v}. Kept in a tuple,
            // not an array: this runs for every request.
            var segments = (0..<0, 0..<0, 0..<0)
            var found = 0
            var start = np
            for i in np...(u.count - ns) {
                guard i == u.count - ns || u[i] == UInt8(ascii: "/") else {
                    guard isPlain(u[i]) else { return nil }
                    continue
                }
                let seg = start..<i
                guard !seg.isEmpty, found < 3 else { return nil }
                if seg.count <= 2 && u[seg].allSatisfy({ $0 == UInt8(ascii: ".") }) { return nil }
                switch found { case 0: segments.0 = seg; case 1: segments.1 = seg; default: segments.2 = seg }
                found += 1
                start = i + 1
            }
            func text(_ r: Range<Int>) -> String { String(decoding: UnsafeBufferPointer(rebasing: u[r]), as: UTF8.self) }
            switch found {
            case 1: return .modelInfer(name: text(segments.0), version: nil)
            case 3 where text(segments.1) == "versions": return .modelInfer(name: text(segments.0), version: text(segments.2))
            default: return nil
            }
        }
    }

    @inline(__always) private static func isPlain(_ c: UInt8) -> Bool {
        switch c {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
             UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"),
             UInt8(ascii: "."), UInt8(ascii: "~"): true
        default: false
        }
    }

    static func generalRoute(method: String, path: String) -> Route {
        // Split on bytes, not Characters: this runs per request, and grapheme-aware scanning of
        // the path cost as much as the model's inference for a small model. The delimiters are
        // ASCII, so every cut falls on a character boundary.
        var rawPath = Substring(path)
        if let q = rawPath.utf8.firstIndex(where: { $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "#") }) {
            rawPath = rawPath[..<q]
        }
        guard rawPath.utf8.first == UInt8(ascii: "/") else { return .notFound }
        let raw = rawPath.utf8.dropFirst().split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: false)
            .map { Substring($0) }
        let isGet = method == "GET" || method == "HEAD"
        let isPost = method == "POST"
        func get(_ r: Route) -> Route { isGet ? r : .methodNotAllowed(allow: "GET, HEAD") }
        func post(_ r: Route) -> Route { isPost ? r : .methodNotAllowed(allow: "POST") }

        guard let first = raw.first else { return .notFound }
        switch first {
        case "v2":
            guard let s = decodeSegments(raw.dropFirst()) else { return .notFound }
            switch s.count {
            case 0: return get(.serverMetadata)
            case 2 where s[0] == "health" && s[1] == "live": return get(.serverLive)
            case 2 where s[0] == "health" && s[1] == "ready": return get(.serverReady)
            default: break
            }
            guard s.count >= 2, s[0] == "models" else { return .notFound }
            let name = s[1]
            var rest = s.dropFirst(2)
            var version: String? = nil
            if rest.first == "versions" {
                guard rest.count >= 2 else { return .notFound }
                version = rest[rest.startIndex + 1]
                rest = rest.dropFirst(2)
            }
            switch (rest.count, rest.first) {
            case (0, _): return get(.modelMetadata(name: name, version: version))
            case (1, "ready"): return get(.modelReady(name: name, version: version))
            case (1, "infer"): return post(.modelInfer(name: name, version: version))
            default: return .notFound
            }
        case "v1":
            return tfsRoute(raw.dropFirst(), get: get, post: post)
        default:
            return .notFound
        }
    }

    /// /v1/models/{m}[/versions/{v} | /labels/{l}][:predict | /metadata]
    private static func tfsRoute(_ raw: ArraySlice<Substring>, get: (Route) -> Route,
                                 post: (Route) -> Route) -> Route {
        var raw = Array(raw)
        // The verb sits on the last raw segment, before decoding, so "%3A" in a name stays a name.
        var verb: Substring? = nil
        if let last = raw.last, let colon = last.utf8.lastIndex(of: UInt8(ascii: ":")) {
            verb = last[last.utf8.index(after: colon)...]
            raw[raw.count - 1] = last[..<colon]
        }
        guard let s = decodeSegments(raw[...]), s.count >= 2, s[0] == "models" else { return .notFound }
        let name = s[1]
        var rest = s.dropFirst(2)
        var version: String? = nil
        var label: String? = nil
        if rest.count >= 2 && (rest.first == "versions" || rest.first == "labels") {
            let value = rest[rest.startIndex + 1]
            if rest.first == "versions" { version = value } else { label = value }
            rest = rest.dropFirst(2)
        }
        switch (verb, rest.count, rest.first) {
        case ("predict", 0, _): return post(.tfsPredict(name: name, version: version, label: label))
        case (nil, 0, _): return get(.tfsModelStatus(name: name, version: version, label: label))
        case (nil, 1, "metadata"): return get(.tfsMetadata(name: name, version: version, label: label))
        default: return .notFound
        }
    }

    /// Percent-decodes each segment; nil if any is empty, ".", "..", malformed or has control
    /// characters or "/" once decoded.
    static func decodeSegments(_ raw: ArraySlice<Substring>) -> [String]? {
        var out: [String] = []
        out.reserveCapacity(raw.count)
        for seg in raw {
            guard !seg.isEmpty, let d = percentDecode(seg), d != ".", d != ".." else { return nil }
            // All three are ASCII, and in UTF-8 an ASCII byte is always that character.
            guard !d.utf8.contains(where: { $0 < 0x20 || $0 == 0x7F || $0 == UInt8(ascii: "/") }) else { return nil }
            out.append(d)
        }
        return out
    }

    static func percentDecode(_ s: Substring) -> String? {
        guard s.utf8.contains(UInt8(ascii: "%")) else { return String(s) }
        var bytes: [UInt8] = []
        var it = s.utf8.makeIterator()
        while let c = it.next() {
            guard c == UInt8(ascii: "%") else { bytes.append(c); continue }
            guard let h = it.next().flatMap(hexValue), let l = it.next().flatMap(hexValue) else { return nil }
            bytes.append(h << 4 | l)
        }
        return String(utf8Validating: bytes)
    }

    private static func hexValue(_ c: UInt8) -> UInt8? {
        switch c {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
