package softfloat

import "math/bits"

// format describes a binary interchange format by its field widths. The
// generic core keeps values of either format in a uint64 (binary32 in the
// low 32 bits).
type format struct {
	fracBits uint // stored significand bits: 23 or 52
	expBits  uint // exponent field bits: 8 or 11
}

func binary32() format { return format{fracBits: 23, expBits: 8} }
func binary64() format { return format{fracBits: 52, expBits: 11} }

func (f format) bias() int32        { return 1<<(f.expBits-1) - 1 }
func (f format) maxExp() uint64     { return 1<<f.expBits - 1 } // all-ones field: inf and NaN
func (f format) signBit() uint64    { return 1 << (f.fracBits + f.expBits) }
func (f format) fracMask() uint64   { return 1<<f.fracBits - 1 }
func (f format) quietBit() uint64   { return 1 << (f.fracBits - 1) }
func (f format) infBits() uint64    { return f.maxExp() << f.fracBits }
func (f format) defaultNaN() uint64 { return f.infBits() | f.quietBit() }
func (f format) maxFinite() uint64  { return f.infBits() - 1 }

func (f format) sign(a uint64) bool        { return a&f.signBit() != 0 }
func (f format) magnitude(a uint64) uint64 { return a &^ f.signBit() }
func (f format) expField(a uint64) uint64  { return a >> f.fracBits & f.maxExp() }
func (f format) isNaN(a uint64) bool       { return f.magnitude(a) > f.infBits() }
func (f format) isSNaN(a uint64) bool      { return f.isNaN(a) && a&f.quietBit() == 0 }
func (f format) isInf(a uint64) bool       { return f.magnitude(a) == f.infBits() }
func (f format) isZero(a uint64) bool      { return f.magnitude(a) == 0 }

// signed returns the sign bit pattern for a negative flag.
func (f format) signed(neg bool) uint64 {
	if neg {
		return f.signBit()
	}
	return 0
}

// unpack returns the significand of a finite non-zero value shifted so that
// its leading one is bit 63, and the unbiased exponent of that leading one:
// a = sig * 2^(exp-63). Subnormals come out normalised like any other value.
func (f format) unpack(a uint64) (sig uint64, exp int32) {
	e := f.expField(a)
	m := a & f.fracMask()
	if e == 0 {
		lz := bits.LeadingZeros64(m)
		return m << uint(lz), int32(64-lz) - f.bias() - int32(f.fracBits)
	}
	return (m | 1<<f.fracBits) << (63 - f.fracBits), int32(e) - f.bias()
}

// nanResult is the outcome of an arithmetic operation with a NaN operand:
// the canonical NaN, with NV if either operand is signalling.
func (f format) nanResult(a, b uint64) (uint64, uint8) {
	if f.isSNaN(a) || f.isSNaN(b) {
		return f.defaultNaN(), FlagNV
	}
	return f.defaultNaN(), 0
}

// exactZero is the sign IEEE-754 gives an exact zero sum of operands with
// opposite signs: +0, except -0 when rounding down.
func (f format) exactZero(rm uint8) uint64 {
	return f.signed(rm == RDN)
}
