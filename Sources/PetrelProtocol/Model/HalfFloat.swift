/// FP16 and BF16 bit conversions, done by hand because `Float16` is missing on some platforms and
/// BF16 has no Swift type at all.
enum HalfFloat {
    /// Rounds to a binary format with `exponentBits` and `fractionBits` (FP16: 5, 10; BF16: 8, 7),
    /// ties to even, straight from Double so a decimal literal is rounded only once more.
    /// Overflow gives infinity, which callers reject for input data.
    static func bits(_ d: Double, exponentBits: Int, fractionBits: Int) -> UInt16 {
        let sign: UInt16 = d.sign == .minus ? 1 << 15 : 0
        let expMask = UInt16((1 << exponentBits) - 1) << fractionBits
        if d.isNaN { return sign | expMask | 1 << (fractionBits - 1) }
        if d.isInfinite { return sign | expMask }
        let bias = (1 << (exponentBits - 1)) - 1
        let a = abs(d)
        let minNormalExp = 1 - bias
        // Spacing of representable values around `a`: fixed below the normal range (subnormals).
        let e = a == 0 ? minNormalExp : max(Int(a.exponent), minNormalExp)
        let quantum = Double(sign: .plus, exponent: e - fractionBits, significand: 1)
        let r = (a / quantum).rounded(.toNearestOrEven) * quantum
        if r >= Double(sign: .plus, exponent: bias + 1, significand: 1) { return sign | expMask }  // inf
        if r < Double(sign: .plus, exponent: minNormalExp, significand: 1) {
            return sign | UInt16(r / Double(sign: .plus, exponent: minNormalExp - fractionBits, significand: 1))
        }
        let re = Int(r.exponent)
        let fraction = (r.significand - 1) * Double(1 << fractionBits)
        return sign | UInt16(re + bias) << fractionBits | UInt16(fraction)
    }

    static func fp16Bits(_ d: Double) -> UInt16 { bits(d, exponentBits: 5, fractionBits: 10) }
    static func bf16Bits(_ d: Double) -> UInt16 { bits(d, exponentBits: 8, fractionBits: 7) }

    static func fp16ToFloat(_ h: UInt16) -> Float {
        let sign: Float = h & 0x8000 != 0 ? -1 : 1
        let exp = Int(h >> 10 & 0x1F)
        let frac = Float(h & 0x3FF)
        switch exp {
        case 0: return sign * frac * 0x1p-24
        case 31: return frac == 0 ? sign * .infinity : .nan
        default: return sign * Float(sign: .plus, exponent: exp - 15, significand: 1 + frac / 1024)
        }
    }

    /// BF16 is the top half of an FP32, so widening is exact.
    static func bf16ToFloat(_ h: UInt16) -> Float { Float(bitPattern: UInt32(h) << 16) }
}
