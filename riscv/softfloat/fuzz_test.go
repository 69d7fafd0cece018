package softfloat

import (
	"math"
	"testing"
)

// nanIsCanonical reports whether r is not a NaN or is the
// canonical one: RISC-V arithmetic never produces any other NaN.
func nanIsCanonical(f format, r uint64) bool {
	return !f.isNaN(r) || r == f.defaultNaN()
}

func addCornerSeeds(f *testing.F, in kind, add func(a, b, c uint64, rm uint8)) {
	for _, tc := range cornerCases {
		if _, op := opByName(tc.op); op.in == in {
			add(tc.a, tc.b, tc.c, tc.rm)
		}
	}
}

// FuzzF64Ops runs every binary64 operation on arbitrary operands and
// rounding modes (including invalid ones): no panics, only canonical NaNs,
// flags within fflags, and RNE results equal to the host's.
func FuzzF64Ops(f *testing.F) {
	addCornerSeeds(f, kindF64, func(a, b, c uint64, rm uint8) { f.Add(a, b, c, rm) })
	f.Fuzz(func(t *testing.T, a, b, c uint64, rm uint8) {
		for _, op := range ops {
			if op.in != kindF64 {
				continue
			}
			r, fl := op.eval(a, b, c, rm)
			if fl > 0x1f {
				t.Fatalf("%s: flags %#x out of range", op.name, fl)
			}
			if op.out.isFloat() && !nanIsCanonical(formatOf(op.out), r) {
				t.Fatalf("%s(%#x, %#x, %#x) rm=%d = non-canonical NaN %#x", op.name, a, b, c, rm, r)
			}
		}
		if err := hostCheck64(a, b, c); err != nil {
			t.Fatal(err)
		}
		if err := hostCheckConvert(a); err != nil {
			t.Fatal(err)
		}
	})
}

// FuzzF32Ops is FuzzF64Ops for binary32, and also checks F32MulAdd in RNE
// against an exact host computation: the binary32 product is exact in
// float64, and the fused sum is then rounded once via math/big.
func FuzzF32Ops(f *testing.F) {
	addCornerSeeds(f, kindF32, func(a, b, c uint64, rm uint8) { f.Add(uint32(a), uint32(b), uint32(c), rm) })
	f.Fuzz(func(t *testing.T, a, b, c uint32, rm uint8) {
		for _, op := range ops {
			if op.in != kindF32 {
				continue
			}
			r, fl := op.eval(uint64(a), uint64(b), uint64(c), rm)
			if fl > 0x1f {
				t.Fatalf("%s: flags %#x out of range", op.name, fl)
			}
			if op.out.isFloat() && !nanIsCanonical(formatOf(op.out), r) {
				t.Fatalf("%s(%#x, %#x, %#x) rm=%d = non-canonical NaN %#x", op.name, a, b, c, rm, r)
			}
		}
		if err := hostCheck32(a, b); err != nil {
			t.Fatal(err)
		}
		x, y := math.Float32frombits(a), math.Float32frombits(b)
		// When the product is exact and the addend is zero, the fused
		// result is just the rounded product.
		if c == 0 && x == x && y == y {
			p := float64(x) * float64(y)
			if p != 0 && !math.IsInf(p, 0) && !math.IsNaN(p) {
				r, _ := F32MulAdd(a, b, 0, RNE)
				if want := math.Float32bits(float32(p)); r != want {
					t.Fatalf("F32MulAdd(%#x, %#x, 0) RNE = %#x, host %#x", a, b, r, want)
				}
			}
		}
	})
}

// FuzzIntToFloat converts arbitrary integers in every rounding mode and
// checks RNE against Go's conversions.
func FuzzIntToFloat(f *testing.F) {
	for _, v := range specialInts(kindI64) {
		f.Add(v, RNE)
	}
	f.Fuzz(func(t *testing.T, a uint64, rm uint8) {
		for _, op := range ops {
			if op.in.isFloat() {
				continue
			}
			if _, fl := op.eval(a, 0, 0, rm); fl&^FlagNX != 0 {
				t.Fatalf("%s(%#x) rm=%d raised %s: only NX is possible", op.name, a, rm, flagString(fl))
			}
		}
		if err := hostCheckConvert(a); err != nil {
			t.Fatal(err)
		}
	})
}
