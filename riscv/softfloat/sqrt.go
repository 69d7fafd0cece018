package softfloat

import (
	"math"
	"math/bits"
)

// sqrt returns the square root of a rounded.
func (f format) sqrt(a uint64, rm uint8) (uint64, uint8) {
	switch {
	case f.isNaN(a):
		return f.nanResult(a, a)
	case f.isZero(a):
		return a, 0 // sqrt(-0) is -0
	case f.sign(a):
		return f.defaultNaN(), FlagNV
	case f.isInf(a):
		return a, 0
	}
	m, e := f.unpack(a)
	// Scale the significand to N in [2^110, 2^112) with an even power of
	// two left over, so the integer root has 56 bits: enough for binary64
	// plus round and sticky bits.
	var hi, lo uint64
	if e&1 == 0 {
		hi, lo = m>>17, m<<47
	} else {
		hi, lo = m>>16, m<<48
	}
	r, exact := isqrt128(hi, lo)
	return f.roundPack(false, e>>1+8, r|jam(!exact), rm)
}

// isqrt128 returns floor(sqrt(hi:lo)) for hi:lo in [2^110, 2^112), and
// whether the root is exact. A float64 estimate and one Newton step land
// within one of the answer; the integer checks make it exact.
func isqrt128(hi, lo uint64) (root uint64, exact bool) {
	r := uint64(math.Sqrt(float64(hi)*0x1p64 + float64(lo)))
	q, _ := bits.Div64(hi, lo, r) // r >= 2^54 > hi: cannot overflow
	r = (r + q) >> 1
	for square128Above(r, hi, lo) {
		r--
	}
	for !square128Above(r+1, hi, lo) {
		r++
	}
	sh, sl := bits.Mul64(r, r)
	return r, sh == hi && sl == lo
}

// square128Above reports whether r*r > hi:lo.
func square128Above(r, hi, lo uint64) bool {
	sh, sl := bits.Mul64(r, r)
	return sh > hi || sh == hi && sl > lo
}

// F32Sqrt returns the square root of a.
func F32Sqrt(a uint32, rm uint8) (uint32, uint8) {
	r, fl := binary32().sqrt(uint64(a), rm)
	return uint32(r), fl
}

// F64Sqrt returns the square root of a.
func F64Sqrt(a uint64, rm uint8) (uint64, uint8) {
	if rm == RNE {
		if r, fl, ok := fastSqrt64(a); ok {
			return r, fl
		}
	}
	return binary64().sqrt(a, rm)
}
