package softfloat

import "math/bits"

// mul returns a*b rounded.
func (f format) mul(a, b uint64, rm uint8) (uint64, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		return f.nanResult(a, b)
	}
	neg := f.sign(a) != f.sign(b)
	if f.isInf(a) || f.isInf(b) {
		if f.isZero(a) || f.isZero(b) {
			return f.defaultNaN(), FlagNV
		}
		return f.signed(neg) | f.infBits(), 0
	}
	if f.isZero(a) || f.isZero(b) {
		return f.signed(neg), 0
	}
	ma, ea := f.unpack(a)
	mb, eb := f.unpack(b)
	// The 128-bit product has its leading one at bit 126 or 127; its top
	// half holds far more than the precision plus round bits.
	hi, lo := bits.Mul64(ma, mb)
	return f.roundPack(neg, ea+eb+1, hi|jam(lo != 0), rm)
}

// F32Mul returns a*b.
func F32Mul(a, b uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().mul(uint64(a), uint64(b), rm)
	return uint32(r), fl
}

// F64Mul returns a*b.
func F64Mul(a, b uint64, rm uint8) (uint64, uint8) {
	if rm == RNE {
		if r, fl, ok := fastMul64(a, b); ok {
			return r, fl
		}
	}
	return binary64().mul(a, b, rm)
}
