package softfloat

import "testing"

// Operand pools for the benchmarks: ordinary normal numbers (the fast
// path in RNE) and the same numbers under RTZ (the exact core).
func benchOperands() [256]uint64 {
	g := newCaseGen(3)
	var v [256]uint64
	for i := range v {
		v[i] = g.withExp(binary64(), int64(1023+g.r.IntN(64)-32))
	}
	return v
}

var sinkU64 uint64
var sinkFlags uint8

func benchBinary(b *testing.B, rm uint8, fn func(a, b uint64, rm uint8) (uint64, uint8)) {
	v := benchOperands()
	var acc uint64
	var fl uint8
	for i := 0; b.Loop(); i++ {
		r, f := fn(v[i&255], v[(i+1)&255], rm)
		acc ^= r
		fl |= f
	}
	sinkU64, sinkFlags = acc, fl
}

func BenchmarkF64AddRNE(b *testing.B) { benchBinary(b, RNE, F64Add) }
func BenchmarkF64AddRTZ(b *testing.B) { benchBinary(b, RTZ, F64Add) }
func BenchmarkF64MulRNE(b *testing.B) { benchBinary(b, RNE, F64Mul) }
func BenchmarkF64MulRTZ(b *testing.B) { benchBinary(b, RTZ, F64Mul) }
func BenchmarkF64DivRNE(b *testing.B) { benchBinary(b, RNE, F64Div) }
func BenchmarkF64DivRTZ(b *testing.B) { benchBinary(b, RTZ, F64Div) }

func BenchmarkF64MulAdd(b *testing.B) {
	v := benchOperands()
	var acc uint64
	for i := 0; b.Loop(); i++ {
		r, _ := F64MulAdd(v[i&255], v[(i+1)&255], v[(i+2)&255], RNE)
		acc ^= r
	}
	sinkU64 = acc
}

func BenchmarkF64Sqrt(b *testing.B) {
	v := benchOperands()
	var acc uint64
	for i := 0; b.Loop(); i++ {
		r, _ := F64Sqrt(v[i&255]&^(1<<63), RTZ)
		acc ^= r
	}
	sinkU64 = acc
}

func BenchmarkF32Add(b *testing.B) {
	v := benchOperands()
	var acc uint32
	for i := 0; b.Loop(); i++ {
		r, _ := F32Add(uint32(v[i&255]), uint32(v[(i+1)&255]), RNE)
		acc ^= r
	}
	sinkU64 = uint64(acc)
}

// TestNoAllocations guards the hart's hot path: arithmetic must not
// allocate.
func TestNoAllocations(t *testing.T) {
	v := benchOperands()
	allocs := testing.AllocsPerRun(100, func() {
		for i := range 16 {
			a, b, c := v[i], v[i+1], v[i+2]
			for rm := RNE; rm <= RMM; rm++ {
				F64Add(a, b, rm)
				F64Mul(a, b, rm)
				F64Div(a, b, rm)
				F64Sqrt(a, rm)
				F64MulAdd(a, b, c, rm)
				F32MulAdd(uint32(a), uint32(b), uint32(c), rm)
				F64ToI32(a, rm)
				F64ToU64(a, rm)
				F64ToF32(a, rm)
			}
			F64Min(a, b)
			F64Le(a, b)
			F64Classify(a)
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per run, want 0", allocs)
	}
}
