package softfloat

import "math/bits"

// roundIncrement decides whether to add one unit in the last place to a
// truncated significand whose lowest kept bit is lsb&1, given the discarded
// bits rbits and the value half represents (the weight of the round bit).
func roundIncrement(rm uint8, neg bool, lsb, rbits, half uint64) uint64 {
	var up bool
	switch rm {
	case RTZ:
		up = false
	case RDN:
		up = neg && rbits != 0
	case RUP:
		up = !neg && rbits != 0
	case RMM:
		up = rbits >= half
	default: // RNE
		up = rbits > half || rbits == half && lsb&1 != 0
	}
	if up {
		return 1
	}
	return 0
}

// overflow is the result of a finite value too large for the format: the
// rounding direction picks infinity or the largest finite number.
func (f format) overflow(neg bool, rm uint8) (uint64, uint8) {
	toInf := true
	switch rm {
	case RTZ:
		toInf = false
	case RDN:
		toInf = neg
	case RUP:
		toInf = !neg
	}
	r := f.maxFinite()
	if toInf {
		r = f.infBits()
	}
	return f.signed(neg) | r, FlagOF | FlagNX
}

// roundPack rounds the non-zero value (-1)^neg * sig * 2^(exp-63) to the
// format. sig need not be normalised, but if it carries a sticky bit (low
// bit ORed with "something non-zero was shifted out") that bit must stay
// below the round bit after normalisation; all callers keep at least two
// spare bits. Underflow follows RISC-V: tininess is detected after rounding.
func (f format) roundPack(neg bool, exp int32, sig uint64, rm uint8) (uint64, uint8) {
	lz := bits.LeadingZeros64(sig)
	sig <<= uint(lz)
	exp -= int32(lz)

	shift := 63 - f.fracBits // bits below the kept precision
	half := uint64(1) << (shift - 1)
	mask := uint64(1)<<shift - 1
	e := exp + f.bias() // biased exponent if the result stays normal

	if e >= 1 {
		m := sig >> shift
		rbits := sig & mask
		m += roundIncrement(rm, neg, m, rbits, half)
		if m>>(f.fracBits+1) != 0 { // rounding carried into a new leading bit
			m >>= 1
			e++
		}
		if e >= int32(f.maxExp()) {
			return f.overflow(neg, rm)
		}
		r := f.signed(neg) | uint64(e)<<f.fracBits | m&f.fracMask()
		if rbits != 0 {
			return r, FlagNX
		}
		return r, 0
	}

	// Below the normal range before rounding. It is tiny unless rounding
	// with an unbounded exponent would carry it up to the smallest normal.
	tiny := true
	if e == 0 {
		m := sig >> shift
		if (m+roundIncrement(rm, neg, m, sig&mask, half))>>(f.fracBits+1) != 0 {
			tiny = false
		}
	}
	sig = shiftRightJam64(sig, uint64(1-int64(e)))
	m := sig >> shift
	rbits := sig & mask
	m += roundIncrement(rm, neg, m, rbits, half)
	// A carry out of the subnormal significand lands in the exponent field
	// as exponent 1: exactly the smallest normal.
	r := f.signed(neg) | m
	if rbits == 0 {
		return r, 0
	}
	if tiny {
		return r, FlagNX | FlagUF
	}
	return r, FlagNX
}

// shiftRightJam64 shifts x right by n, ORing any bits shifted out into the
// lowest bit so that rounding still sees them.
func shiftRightJam64(x uint64, n uint64) uint64 {
	switch {
	case n == 0:
		return x
	case n < 64:
		return x>>n | jam(x<<(64-n) != 0)
	default:
		return jam(x != 0)
	}
}

// shiftRightJam128 is shiftRightJam64 for the 128-bit value hi:lo.
func shiftRightJam128(hi, lo uint64, n uint64) (uint64, uint64) {
	switch {
	case n == 0:
		return hi, lo
	case n < 64:
		return hi >> n, lo>>n | hi<<(64-n) | jam(lo<<(64-n) != 0)
	case n < 128:
		return 0, hi>>(n-64) | jam(hi<<(128-n) != 0 || lo != 0)
	default:
		return 0, jam(hi|lo != 0)
	}
}

// jam converts a "bits were lost" condition into a sticky bit.
func jam(lost bool) uint64 {
	if lost {
		return 1
	}
	return 0
}
