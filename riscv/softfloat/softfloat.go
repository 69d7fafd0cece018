// Package softfloat implements IEEE-754 binary32 and binary64 arithmetic on
// raw bit patterns with the exact semantics the RISC-V F and D extensions
// require: all five rounding modes, accrued exception flags, canonical NaNs,
// tininess detected after rounding, and RISC-V's saturating float-to-integer
// conversions.
//
// Every operation returns its result bits together with the fflags it
// raises; the caller ORs them into fcsr. The package has no state.
//
// A single generic core (format.go, round.go) handles both formats: operands
// are unpacked into a normalised 64-bit significand and rounded back by one
// routine, roundPack. Binary64 operations in round-to-nearest-even try a
// host float64 fast path first (fast64.go) that uses error-free
// transformations to decide inexactness and falls back to the core whenever
// the result or its error could be subnormal, overflow, or involve a
// special value.
//
// Rounding-mode values other than the five defined ones (the reserved
// encodings 5 and 6, and DYN) are the caller's to reject with an
// illegal-instruction trap; if passed anyway they round to nearest even.
package softfloat

// Rounding modes, numbered as the RISC-V rm instruction field and frm.
const (
	RNE uint8 = 0 // round to nearest, ties to even
	RTZ uint8 = 1 // round towards zero
	RDN uint8 = 2 // round down, towards -inf
	RUP uint8 = 3 // round up, towards +inf
	RMM uint8 = 4 // round to nearest, ties to max magnitude
)

// Exception flags, laid out as the RISC-V fflags register.
const (
	FlagNX uint8 = 1  // inexact
	FlagUF uint8 = 2  // underflow
	FlagOF uint8 = 4  // overflow
	FlagDZ uint8 = 8  // divide by zero
	FlagNV uint8 = 16 // invalid operation
)

// Canonical NaNs, the only NaNs RISC-V arithmetic produces.
const (
	F32DefaultNaN uint32 = 0x7fc00000
	F64DefaultNaN uint64 = 0x7ff8000000000000
)
