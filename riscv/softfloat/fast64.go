package softfloat

import "math"

// Host float64 fast paths for binary64 in round-to-nearest-even. The host
// computes the correctly rounded result; an error-free transformation then
// tells exactly whether it is inexact. Each path declines (ok=false) unless
// the result is a normal number far enough from the subnormal range that
// the error term itself cannot underflow, and not an overflow, NaN, zero or
// infinity: those go through the exact core.
//
// Explicit float64() conversions stop the compiler fusing a*b+c into an FMA
// on hosts that have one, which would change the rounding.

const (
	minNormal64 = 0x1p-1022
	// safeLow64 keeps products, quotients and squares and their rounding
	// errors well clear of the subnormal range.
	safeLow64 = 0x1p-900
)

func inexactIf(nonzero float64) uint8 {
	if nonzero != 0 {
		return FlagNX
	}
	return 0
}

func fastAdd64(a, b uint64) (uint64, uint8, bool) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	s := float64(x + y)
	if m := math.Abs(s); !(m >= minNormal64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
	// Knuth's TwoSum: err is exactly x+y-s.
	bv := float64(s - x)
	av := float64(s - bv)
	err := float64(float64(x-av) + float64(y-bv))
	return math.Float64bits(s), inexactIf(err), true
}

func fastMul64(a, b uint64) (uint64, uint8, bool) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	p := float64(x * y)
	if m := math.Abs(p); !(m >= safeLow64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
	return math.Float64bits(p), inexactIf(math.FMA(x, y, -p)), true
}

func fastDiv64(a, b uint64) (uint64, uint8, bool) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	q := float64(x / y)
	if m := math.Abs(q); !(m >= safeLow64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
	if m := math.Abs(x); !(m >= safeLow64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
	if m := math.Abs(y); !(m >= minNormal64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
	// The remainder x - q*y of a correctly rounded quotient is exactly
	// representable, so the FMA computes it without error.
	return math.Float64bits(q), inexactIf(math.FMA(-q, y, x)), true
}

func fastSqrt64(a uint64) (uint64, uint8, bool) {
	x := math.Float64frombits(a)
	if !(x >= safeLow64 && x <= math.MaxFloat64) {
		return 0, 0, false
	}
	r := math.Sqrt(x)
	return math.Float64bits(r), inexactIf(math.FMA(-r, r, x)), true
}
