package softfloat

import "math/bits"

// mulAdd returns a*b+c with a single rounding.
func (f format) mulAdd(a, b, c uint64, rm uint8) (uint64, uint8) {
	// RISC-V raises NV for inf*0 even when c is a quiet NaN.
	invalidProduct := f.isInf(a) && f.isZero(b) || f.isZero(a) && f.isInf(b)
	if f.isNaN(a) || f.isNaN(b) || f.isNaN(c) {
		if invalidProduct || f.isSNaN(a) || f.isSNaN(b) || f.isSNaN(c) {
			return f.defaultNaN(), FlagNV
		}
		return f.defaultNaN(), 0
	}
	if invalidProduct {
		return f.defaultNaN(), FlagNV
	}
	sp, sc := f.sign(a) != f.sign(b), f.sign(c)
	switch {
	case f.isInf(a) || f.isInf(b):
		if f.isInf(c) && sc != sp {
			return f.defaultNaN(), FlagNV
		}
		return f.signed(sp) | f.infBits(), 0
	case f.isInf(c):
		return c, 0
	case f.isZero(a) || f.isZero(b):
		if !f.isZero(c) {
			return c, 0
		}
		if sp == sc {
			return c, 0
		}
		return f.exactZero(rm), 0
	}

	ma, ea := f.unpack(a)
	mb, eb := f.unpack(b)
	ph, pl := bits.Mul64(ma, mb) // exact product; bit 127 has exponent ea+eb+1
	if f.isZero(c) {
		return f.roundPack(sp, ea+eb+1, ph|jam(pl != 0), rm)
	}
	mc, ec := f.unpack(c)

	// Both addends as 128-bit values with two bits of headroom, each tagged
	// with the exponent of its bit 127. The low bits are zero (the product
	// has at least 22 trailing zeros, c at least 75), so shifting either by
	// a small amount is exact, and a large shift leaves the other addend's
	// leading bit so far above that cancellation costs at most one bit.
	ph, pl = ph>>2, pl>>2|ph<<62
	pe := ea + eb + 3
	ch, cl := mc>>2, mc<<62
	ce := ec + 2

	xh, xl, xneg, e := ph, pl, sp, pe
	yh, yl, yneg := ch, cl, sc
	if ce > pe {
		xh, xl, xneg, e = ch, cl, sc, ce
		yh, yl, yneg = ph, pl, sp
	}
	yh, yl = shiftRightJam128(yh, yl, uint64(e-min(pe, ce)))

	var sh, sl uint64
	neg := xneg
	switch {
	case xneg == yneg:
		var carry uint64
		sl, carry = bits.Add64(xl, yl, 0)
		sh, _ = bits.Add64(xh, yh, carry)
	case xh > yh || xh == yh && xl >= yl:
		var borrow uint64
		sl, borrow = bits.Sub64(xl, yl, 0)
		sh, _ = bits.Sub64(xh, yh, borrow)
	default:
		var borrow uint64
		sl, borrow = bits.Sub64(yl, xl, 0)
		sh, _ = bits.Sub64(yh, xh, borrow)
		neg = yneg
	}
	if sh|sl == 0 {
		return f.exactZero(rm), 0
	}
	// Normalise the 128-bit sum and fold its low half into a sticky bit.
	var lz int
	if sh == 0 {
		lz = 64 + bits.LeadingZeros64(sl)
		sh, sl = sl<<uint(lz-64), 0
	} else {
		lz = bits.LeadingZeros64(sh)
		sh, sl = sh<<uint(lz)|sl>>uint(64-lz), sl<<uint(lz)
	}
	return f.roundPack(neg, e-int32(lz), sh|jam(sl != 0), rm)
}

// F32MulAdd returns a*b+c with a single rounding (fused multiply-add).
func F32MulAdd(a, b, c uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().mulAdd(uint64(a), uint64(b), uint64(c), rm)
	return uint32(r), fl
}

// F64MulAdd returns a*b+c with a single rounding (fused multiply-add).
func F64MulAdd(a, b, c uint64, rm uint8) (uint64, uint8) {
	if rm == RNE {
		if r, fl, ok := fastMulAdd64(a, b, c); ok {
			return r, fl
		}
	}
	return binary64().mulAdd(a, b, c, rm)
}
