package softfloat

import (
	"fmt"
	"math"
	"math/big"
	"testing"
)

// Independent oracles that need no RISC-V toolchain: the host's IEEE
// float64/float32 arithmetic for round-to-nearest-even results, and
// math/big for every rounding mode and the inexact flag wherever the
// result is a normal number.

// hostCheck64 compares the binary64 operations in RNE with the host.
func hostCheck64(a, b, c uint64) error {
	x, y, z := math.Float64frombits(a), math.Float64frombits(b), math.Float64frombits(c)
	r := [6]uint64{}
	r[0], _ = F64Add(a, b, RNE)
	r[1], _ = F64Sub(a, b, RNE)
	r[2], _ = F64Mul(a, b, RNE)
	r[3], _ = F64Div(a, b, RNE)
	r[4], _ = F64Sqrt(a, RNE)
	r[5], _ = F64MulAdd(a, b, c, RNE)
	host := [6]float64{float64(x + y), float64(x - y), float64(x * y), float64(x / y), math.Sqrt(x), math.FMA(x, y, z)}
	for i, h := range host {
		want := math.Float64bits(h)
		if math.IsNaN(h) {
			want = F64DefaultNaN
		}
		if r[i] != want {
			return fmt.Errorf("%s(%#x, %#x, %#x) RNE = %#x, host %#x",
				[...]string{"F64Add", "F64Sub", "F64Mul", "F64Div", "F64Sqrt", "F64MulAdd"}[i], a, b, c, r[i], want)
		}
	}
	return nil
}

// hostCheck32 compares the binary32 operations in RNE with the host. The
// square root goes through float64, which rounds binary32 results
// correctly (53 >= 2*24+2).
func hostCheck32(a, b uint32) error {
	x, y := math.Float32frombits(a), math.Float32frombits(b)
	r := [5]uint32{}
	r[0], _ = F32Add(a, b, RNE)
	r[1], _ = F32Sub(a, b, RNE)
	r[2], _ = F32Mul(a, b, RNE)
	r[3], _ = F32Div(a, b, RNE)
	r[4], _ = F32Sqrt(a, RNE)
	host := [5]float32{float32(x + y), float32(x - y), float32(x * y), float32(x / y), float32(math.Sqrt(float64(x)))}
	for i, h := range host {
		want := math.Float32bits(h)
		if h != h {
			want = F32DefaultNaN
		}
		if r[i] != want {
			return fmt.Errorf("%s(%#x, %#x) RNE = %#x, host %#x",
				[...]string{"F32Add", "F32Sub", "F32Mul", "F32Div", "F32Sqrt"}[i], a, b, r[i], want)
		}
	}
	return nil
}

// hostCheckConvert compares conversions with Go's, which round to nearest
// even (float targets) or truncate (in-range integer targets).
func hostCheckConvert(a uint64) error {
	x := math.Float64frombits(a)
	if r, _ := F64ToF32(a, RNE); !math.IsNaN(x) && r != math.Float32bits(float32(x)) {
		return fmt.Errorf("F64ToF32(%#x) = %#x, host %#x", a, r, math.Float32bits(float32(x)))
	}
	if s := math.Float32frombits(uint32(a)); s == s {
		if r, _ := F32ToF64(uint32(a)); r != math.Float64bits(float64(s)) {
			return fmt.Errorf("F32ToF64(%#x) = %#x, host %#x", uint32(a), r, math.Float64bits(float64(s)))
		}
	}
	if x > -0x1p63 && x < 0x1p63 {
		if r, _ := F64ToI64(a, RTZ); r != int64(x) {
			return fmt.Errorf("F64ToI64(%#x, RTZ) = %d, host %d", a, r, int64(x))
		}
	}
	if x > -1 && x < 0x1p64 {
		if r, _ := F64ToU64(a, RTZ); r != uint64(x) {
			return fmt.Errorf("F64ToU64(%#x, RTZ) = %d, host %d", a, r, uint64(x))
		}
	}
	if r, _ := I64ToF64(int64(a), RNE); r != math.Float64bits(float64(int64(a))) {
		return fmt.Errorf("I64ToF64(%d) = %#x, host %#x", int64(a), r, math.Float64bits(float64(int64(a))))
	}
	if r, _ := U64ToF64(a, RNE); r != math.Float64bits(float64(a)) {
		return fmt.Errorf("U64ToF64(%d) = %#x, host %#x", a, r, math.Float64bits(float64(a)))
	}
	if r, _ := I64ToF32(int64(a), RNE); r != math.Float32bits(float32(int64(a))) {
		return fmt.Errorf("I64ToF32(%d) = %#x, host %#x", int64(a), r, math.Float32bits(float32(int64(a))))
	}
	if r, _ := U64ToF32(a, RNE); r != math.Float32bits(float32(a)) {
		return fmt.Errorf("U64ToF32(%d) = %#x, host %#x", a, r, math.Float32bits(float32(a)))
	}
	return nil
}

func TestHostAgreementRNE(t *testing.T) {
	g := newCaseGen(7)
	f64, f32 := binary64(), binary32()
	for i := 0; i < 200000; i++ {
		a, s := g.float(f64), g.float(f32)
		for _, err := range []error{
			hostCheck64(a, g.related(f64, a), g.float(f64)),
			hostCheck64(a, g.float(f64), g.float(f64)),
			hostCheck32(uint32(s), uint32(g.related(f32, s))),
			hostCheck32(uint32(s), uint32(g.float(f32))),
			hostCheckConvert(a),
			hostCheckConvert(g.integer(kindI64)),
		} {
			if err != nil {
				t.Fatal(err)
			}
		}
	}
}

var bigModes = [...]big.RoundingMode{
	RNE: big.ToNearestEven,
	RTZ: big.ToZero,
	RDN: big.ToNegativeInf,
	RUP: big.ToPositiveInf,
	RMM: big.ToNearestAway,
}

// bigRound rounds the exact value v to the format with rm; ok is false
// unless the result is a normal number (math/big has no subnormals and no
// overflow) and not zero.
func bigRound(f format, v *big.Float, rm uint8) (bits uint64, inexact, ok bool) {
	z := new(big.Float).SetPrec(f.fracBits + 1).SetMode(bigModes[rm]).Set(v)
	if z.Sign() == 0 || z.IsInf() {
		return 0, false, false
	}
	exp := z.MantExp(nil) - 1 // z = m * 2^exp with 1 <= |m| < 2
	if exp < 1-int(f.bias()) || exp > int(f.bias()) {
		return 0, false, false
	}
	inexact = z.Acc() != big.Exact || v.Acc() != big.Exact
	if f == binary32() {
		r, _ := z.Float32()
		return uint64(math.Float32bits(r)), inexact, true
	}
	r, _ := z.Float64()
	return math.Float64bits(r), inexact, true
}

func toBig(f format, a uint64) *big.Float {
	if f == binary32() {
		return new(big.Float).SetFloat64(float64(math.Float32frombits(uint32(a))))
	}
	return new(big.Float).SetFloat64(math.Float64frombits(a))
}

// TestBigFloatAgreement checks add, sub, mul, div and fma results and NX
// in all rounding modes against math/big wherever the result is normal.
func TestBigFloatAgreement(t *testing.T) {
	g := newCaseGen(11)
	for _, f := range []format{binary32(), binary64()} {
		compared := 0
		for i := 0; i < 100000; i++ {
			a, b, c := g.float(f), g.float(f), g.float(f)
			if g.r.IntN(2) == 0 {
				b = g.related(f, a)
			}
			if f.isNaN(a) || f.isNaN(b) || f.isNaN(c) || f.isInf(a) || f.isInf(b) || f.isInf(c) {
				continue
			}
			rm := g.rm()
			x, y, w := toBig(f, a), toBig(f, b), toBig(f, c)
			exact := func() *big.Float { return new(big.Float).SetPrec(4096) }
			type result struct {
				name string
				v    *big.Float
				got  uint64
				fl   uint8
			}
			var rs []result
			add := func(name string, v *big.Float, got uint64, fl uint8) {
				rs = append(rs, result{name, v, got, fl})
			}
			r, fl := f.add(a, b, rm)
			add("add", exact().Add(x, y), r, fl)
			r, fl = f.add(a, b^f.signBit(), rm)
			add("sub", exact().Sub(x, y), r, fl)
			r, fl = f.mul(a, b, rm)
			add("mul", exact().Mul(x, y), r, fl)
			r, fl = f.mulAdd(a, b, c, rm)
			add("fma", exact().Add(exact().Mul(x, y), w), r, fl)
			if y.Sign() != 0 {
				// Quo is correctly rounded at the target precision directly.
				q := new(big.Float).SetPrec(f.fracBits+1).SetMode(bigModes[rm]).Quo(x, y)
				r, fl = f.div(a, b, rm)
				add("div", q, r, fl)
			}
			for _, res := range rs {
				want, inexact, ok := bigRound(f, res.v, rm)
				if !ok {
					continue
				}
				compared++
				if res.got != want || (res.fl == FlagNX) != inexact || res.fl&^FlagNX != 0 {
					t.Fatalf("%s %s(%#x, %#x, %#x) rm=%d = %#x %s, math/big %#x inexact=%v",
						f.name(), res.name, a, b, c, rm, res.got, flagString(res.fl), want, inexact)
				}
			}
		}
		if compared < 100000 {
			t.Fatalf("%s: only %d results were in the normal range", f.name(), compared)
		}
	}
}

func (f format) name() string {
	if f == binary32() {
		return "binary32"
	}
	return "binary64"
}

// TestFastPathsMatchCore checks each binary64 fast path against the exact
// core on every input it accepts.
func TestFastPathsMatchCore(t *testing.T) {
	g := newCaseGen(5)
	f := binary64()
	accepted, exact := [5]int{}, [5]int{}
	smallInt := func() uint64 { // small integers scaled by a power of two: often exact results
		r, _ := I64ToF64(g.r.Int64N(1<<27)-1<<26, RNE)
		s, _ := F64Mul(r, uint64(1023+g.r.IntN(20)-10)<<52, RNE)
		return s
	}
	for i := 0; i < 300000; i++ {
		a, b, c := g.float(f), g.float(f), g.float(f)
		switch i % 5 {
		case 1:
			b = g.related(f, a)
		case 2:
			c = g.addend(f, a, b, c)
		case 3:
			a, b, c = g.r.Uint64(), g.r.Uint64(), g.r.Uint64()
		case 4:
			a, b, c = smallInt(), smallInt(), smallInt()
		}
		type path struct {
			name string
			fast func() (uint64, uint8, bool)
			core func() (uint64, uint8)
		}
		for k, p := range [...]path{
			{"add", func() (uint64, uint8, bool) { return fastAdd64(a, b) }, func() (uint64, uint8) { return f.add(a, b, RNE) }},
			{"mul", func() (uint64, uint8, bool) { return fastMul64(a, b) }, func() (uint64, uint8) { return f.mul(a, b, RNE) }},
			{"div", func() (uint64, uint8, bool) { return fastDiv64(a, b) }, func() (uint64, uint8) { return f.div(a, b, RNE) }},
			{"sqrt", func() (uint64, uint8, bool) { return fastSqrt64(a) }, func() (uint64, uint8) { return f.sqrt(a, RNE) }},
			{"fma", func() (uint64, uint8, bool) { return fastMulAdd64(a, b, c) }, func() (uint64, uint8) { return f.mulAdd(a, b, c, RNE) }},
		} {
			r, fl, ok := p.fast()
			if !ok {
				continue
			}
			accepted[k]++
			if fl == 0 {
				exact[k]++
			}
			if wr, wfl := p.core(); r != wr || fl != wfl {
				t.Fatalf("fast %s(%#x, %#x, %#x) = %#x %s, core %#x %s", p.name, a, b, c, r, flagString(fl), wr, flagString(wfl))
			}
		}
	}
	for k, n := range accepted {
		if n < 10000 || exact[k] < 1000 {
			t.Errorf("fast path %d accepted %d inputs, %d exact: the test is not exercising it", k, n, exact[k])
		}
	}
}
