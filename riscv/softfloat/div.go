package softfloat

import "math/bits"

// div returns a/b rounded.
func (f format) div(a, b uint64, rm uint8) (uint64, uint8) {
	if f.isNaN(a) || f.isNaN(b) {
		return f.nanResult(a, b)
	}
	neg := f.sign(a) != f.sign(b)
	switch {
	case f.isInf(a):
		if f.isInf(b) {
			return f.defaultNaN(), FlagNV
		}
		return f.signed(neg) | f.infBits(), 0
	case f.isInf(b):
		return f.signed(neg), 0
	case f.isZero(b):
		if f.isZero(a) {
			return f.defaultNaN(), FlagNV
		}
		return f.signed(neg) | f.infBits(), FlagDZ
	case f.isZero(a):
		return f.signed(neg), 0
	}
	ma, ea := f.unpack(a)
	mb, eb := f.unpack(b)
	// A 64-bit quotient with its leading one at bit 63; the remainder
	// becomes the sticky bit. Div64 needs the high dividend word below the
	// divisor, which both branches guarantee.
	var q, rem uint64
	exp := ea - eb
	if ma < mb {
		q, rem = bits.Div64(ma, 0, mb)
		exp--
	} else {
		q, rem = bits.Div64(ma>>1, ma<<63, mb)
	}
	return f.roundPack(neg, exp, q|jam(rem != 0), rm)
}

// F32Div returns a/b.
func F32Div(a, b uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().div(uint64(a), uint64(b), rm)
	return uint32(r), fl
}

// F64Div returns a/b.
func F64Div(a, b uint64, rm uint8) (uint64, uint8) {
	if rm == RNE {
		if r, fl, ok := fastDiv64(a, b); ok {
			return r, fl
		}
	}
	return binary64().div(a, b, rm)
}
