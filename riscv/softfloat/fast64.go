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
	// safeHigh64 keeps the error-free transformations' intermediate sums
	// clear of overflow.
	safeHigh64 = 0x1p1000
)

// twoSum is Knuth's error-free addition: s+err == x+y exactly.
func twoSum(x, y float64) (s, err float64) {
	s = float64(x + y)
	bv := float64(s - x)
	av := float64(s - bv)
	return s, float64(float64(x-av) + float64(y-bv))
}

func inexactIf(nonzero float64) uint8 {
	if nonzero != 0 {
		return FlagNX
	}
	return 0
}

func fastAdd64(a, b uint64) (uint64, uint8, bool) {
	x, y := math.Float64frombits(a), math.Float64frombits(b)
	s, err := twoSum(x, y)
	if m := math.Abs(s); !(m >= minNormal64 && m <= math.MaxFloat64) {
		return 0, 0, false
	}
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

// fastMulAdd64 decides whether r = RN(x*y+z) is exact. x*y = u1+u2
// exactly (u2 by FMA) and u1+z = s+t exactly (TwoSum), so
// x*y+z-r = (t+u2)-(r-s), and r-s is exact in floating point: either u1
// and z have opposite signs and are within a factor of two, so t = 0
// (Sterbenz), |s| >= |u2| or s = 0, and r = RN(s+u2) (Fast2Sum lemma); or
// |s| is at least half of max(|u1|,|z|), so |t+u2| <= 1.5 ulp(s) and r is
// within a factor of two of s (Sterbenz again). Hence the float d = r-s
// equals t+u2 exactly iff twoSum(t, u2) returns (d, 0).
func fastMulAdd64(a, b, c uint64) (uint64, uint8, bool) {
	x, y, z := math.Float64frombits(a), math.Float64frombits(b), math.Float64frombits(c)
	r := math.FMA(x, y, z)
	u1 := float64(x * y)
	mr, mu, mz := math.Abs(r), math.Abs(u1), math.Abs(z)
	if !(mr >= safeLow64 && mr <= safeHigh64 && mu >= safeLow64 && mu <= safeHigh64 && mz <= safeHigh64) {
		return 0, 0, false
	}
	u2 := math.FMA(x, y, -u1)
	s, t := twoSum(u1, z)
	d := float64(r - s)
	w, werr := twoSum(t, u2)
	if w == d && werr == 0 {
		return math.Float64bits(r), 0, true
	}
	return math.Float64bits(r), FlagNX, true
}
