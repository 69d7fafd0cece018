package riscv

import (
	"math"
	"testing"

	sf "github.com/popek-vm/popek/riscv/softfloat"
)

func fop(f5, fmt, rd, rs1, rs2, rm uint32) uint32 { return encR(0x53, rd, rm, rs1, rs2, f5<<2|fmt) }
func fma(opc, fmt, rd, rs1, rs2, rs3, rm uint32) uint32 {
	return rs3<<27 | fmt<<25 | rs2<<20 | rs1<<15 | rm<<12 | rd<<7 | opc
}

const dyn = 7

func f32(v float32) uint64 { return box(math.Float32bits(v)) }
func f64(v float64) uint64 { return math.Float64bits(v) }

// runFP executes one FP instruction with f1, f2, f3 and a1 preset; FS is
// Initial unless fs says otherwise.
func runFP(t *testing.T, word uint32, fa, fb, fc, x uint64, frm uint64) *Hart {
	t.Helper()
	e := newEnv(t)
	e.program(cat(w(word), haltSeq())...)
	e.h.F[1], e.h.F[2], e.h.F[3] = fa, fb, fc
	e.h.X[a1] = x
	e.h.csr.frm = frm
	e.h.csr.mcause = 0xbad
	e.run(100)
	return e.h
}

func TestFPArithmetic(t *testing.T) {
	const S, D = 0, 1
	nanBoxBad := uint64(0x00000000_3f800000) // 1.0f, not NaN-boxed
	cases := []struct {
		name       string
		word       uint32
		fa, fb, fc uint64
		x          uint64
		wantF      uint64 // f4 afterwards (when intResult is false)
		wantX      uint64 // a0 afterwards (when intResult)
		intResult  bool
		flags      uint64
	}{
		{"fadd.s", fop(0, S, 4, 1, 2, 0), f32(1.5), f32(2.25), 0, 0, f32(3.75), 0, false, 0},
		{"fadd.s unboxed input is NaN", fop(0, S, 4, 1, 2, 0), nanBoxBad, f32(1), 0, 0, box(qNaN32), 0, false, 0},
		{"fsub.d", fop(1, D, 4, 1, 2, 0), f64(1), f64(0.25), 0, 0, f64(0.75), 0, false, 0},
		{"fmul.d", fop(2, D, 4, 1, 2, 0), f64(3), f64(-2), 0, 0, f64(-6), 0, false, 0},
		{"fdiv.s by zero", fop(3, S, 4, 1, 2, 0), f32(1), f32(0), 0, 0, f32(float32(math.Inf(1))), 0, false, uint64(sf.FlagDZ)},
		{"fdiv.d inexact", fop(3, D, 4, 1, 2, 0), f64(1), f64(3), 0, 0, f64(1.0 / 3), 0, false, uint64(sf.FlagNX)},
		{"fsqrt.d", fop(0x0b, D, 4, 1, 0, 0), f64(2.25), 0, 0, 0, f64(1.5), 0, false, 0},
		{"fsqrt.s negative", fop(0x0b, S, 4, 1, 0, 0), f32(-1), 0, 0, 0, box(qNaN32), 0, false, uint64(sf.FlagNV)},
		{"fmadd.s", fma(0x43, S, 4, 1, 2, 3, 0), f32(2), f32(3), f32(1), 0, f32(7), 0, false, 0},
		{"fmsub.s", fma(0x47, S, 4, 1, 2, 3, 0), f32(2), f32(3), f32(1), 0, f32(5), 0, false, 0},
		{"fnmsub.s", fma(0x4b, S, 4, 1, 2, 3, 0), f32(2), f32(3), f32(1), 0, f32(-5), 0, false, 0},
		{"fnmadd.s", fma(0x4f, S, 4, 1, 2, 3, 0), f32(2), f32(3), f32(1), 0, f32(-7), 0, false, 0},
		{"fmadd.d", fma(0x43, D, 4, 1, 2, 3, 0), f64(2), f64(3), f64(1), 0, f64(7), 0, false, 0},
		{"fnmadd.d", fma(0x4f, D, 4, 1, 2, 3, 0), f64(2), f64(3), f64(1), 0, f64(-7), 0, false, 0},
		{"fsgnj.s", fop(4, S, 4, 1, 2, 0), f32(1), f32(-2), 0, 0, f32(-1), 0, false, 0},
		{"fsgnjn.s", fop(4, S, 4, 1, 2, 1), f32(1), f32(-2), 0, 0, f32(1), 0, false, 0},
		{"fsgnjx.s", fop(4, S, 4, 1, 2, 2), f32(-1), f32(-2), 0, 0, f32(1), 0, false, 0},
		{"fsgnj.s unboxed is NaN", fop(4, S, 4, 1, 2, 0), nanBoxBad, f32(-2), 0, 0, box(qNaN32 | signBit), 0, false, 0},
		{"fsgnjn.d (fneg)", fop(4, D, 4, 1, 1, 1), f64(3), 0, 0, 0, f64(-3), 0, false, 0},
		{"fmin.s with qNaN", fop(5, S, 4, 1, 2, 0), box(qNaN32), f32(2), 0, 0, f32(2), 0, false, 0},
		{"fmax.d", fop(5, D, 4, 1, 2, 1), f64(-1), f64(2), 0, 0, f64(2), 0, false, 0},
		{"fcvt.s.d", fop(8, S, 4, 1, 1, 0), f64(0.5), 0, 0, 0, f32(0.5), 0, false, 0},
		{"fcvt.d.s", fop(8, D, 4, 1, 0, 0), f32(0.5), 0, 0, 0, f64(0.5), 0, false, 0},
		{"fcvt.s.w", fop(0x1a, S, 4, 0, 0, 0) | a1<<15, 0, 0, 0, neg(3), f32(-3), 0, false, 0},
		{"fcvt.s.wu", fop(0x1a, S, 4, 0, 1, 0) | a1<<15, 0, 0, 0, 0xffffffff, f32(4294967295), 0, false, uint64(sf.FlagNX)},
		{"fcvt.d.l", fop(0x1a, D, 4, 0, 2, 0) | a1<<15, 0, 0, 0, neg(5), f64(-5), 0, false, 0},
		{"fcvt.d.lu", fop(0x1a, D, 4, 0, 3, 0) | a1<<15, 0, 0, 0, 1 << 63, f64(1 << 63), 0, false, 0},
		{"fmv.w.x boxes", fop(0x1e, S, 4, 0, 0, 0) | a1<<15, 0, 0, 0, 0x12345678_3f800000, f32(1), 0, false, 0},
		{"fmv.d.x", fop(0x1e, D, 4, 0, 0, 0) | a1<<15, 0, 0, 0, f64(2.5), f64(2.5), 0, false, 0},

		{"fmv.x.w sign-extends raw bits", fop(0x1c, S, a0, 1, 0, 0), 0x00000000_bf800000, 0, 0, 0, 0, 0xffffffff_bf800000, true, 0},
		{"fmv.x.d", fop(0x1c, D, a0, 1, 0, 0), f64(-1), 0, 0, 0, 0, f64(-1), true, 0},
		{"fclass.s -inf", fop(0x1c, S, a0, 1, 0, 1), f32(float32(math.Inf(-1))), 0, 0, 0, 0, 1, true, 0},
		{"fclass.s unboxed is qNaN", fop(0x1c, S, a0, 1, 0, 1), nanBoxBad, 0, 0, 0, 0, 1 << 9, true, 0},
		{"fclass.d +0", fop(0x1c, D, a0, 1, 0, 1), f64(0), 0, 0, 0, 0, 1 << 4, true, 0},
		{"feq.s", fop(0x14, S, a0, 1, 2, 2), f32(1), f32(1), 0, 0, 0, 1, true, 0},
		{"flt.d", fop(0x14, D, a0, 1, 2, 1), f64(1), f64(2), 0, 0, 0, 1, true, 0},
		{"fle.s with NaN signals", fop(0x14, S, a0, 1, 2, 0), box(qNaN32), f32(1), 0, 0, 0, 0, true, uint64(sf.FlagNV)},
		{"feq.d with qNaN is quiet", fop(0x14, D, a0, 1, 2, 2), 0x7ff8000000000000, f64(1), 0, 0, 0, 0, true, 0},
		{"fcvt.w.s NaN saturates", fop(0x18, S, a0, 1, 0, 1), box(qNaN32), 0, 0, 0, 0, 0x7fffffff, true, uint64(sf.FlagNV)},
		{"fcvt.w.s -1.5 rtz", fop(0x18, S, a0, 1, 0, 1), f32(-1.5), 0, 0, 0, 0, neg(1), true, uint64(sf.FlagNX)},
		{"fcvt.wu.s sign-extends", fop(0x18, S, a0, 1, 1, 1), f32(3e9), 0, 0, 0, 0, 0xffffffff_b2d05e00, true, 0},
		{"fcvt.wu.d negative", fop(0x18, D, a0, 1, 1, 1), f64(-2), 0, 0, 0, 0, 0, true, uint64(sf.FlagNV)},
		{"fcvt.l.d", fop(0x18, D, a0, 1, 2, 1), f64(-1e12), 0, 0, 0, 0, neg(1e12), true, 0},
		{"fcvt.lu.s", fop(0x18, S, a0, 1, 3, 1), f32(4), 0, 0, 0, 0, 4, true, 0},
		{"fcvt.w.d rne from frm", fop(0x18, D, a0, 1, 0, dyn), f64(2.5), 0, 0, 0, 0, 2, true, uint64(sf.FlagNX)},
	}
	for _, c := range cases {
		h := runFP(t, c.word, c.fa, c.fb, c.fc, c.x, uint64(sf.RNE))
		if h.csr.mcause != 0xbad {
			t.Errorf("%s: trapped, mcause %d", c.name, h.csr.mcause)
			continue
		}
		if c.intResult {
			if h.X[a0] != c.wantX {
				t.Errorf("%s: a0 = %#x, want %#x", c.name, h.X[a0], c.wantX)
			}
		} else if h.F[4] != c.wantF {
			t.Errorf("%s: f4 = %#x, want %#x", c.name, h.F[4], c.wantF)
		}
		if h.csr.fflags != c.flags {
			t.Errorf("%s: fflags = %#x, want %#x", c.name, h.csr.fflags, c.flags)
		}
	}
}

func TestFPRoundingModeAndFS(t *testing.T) {
	fadd := func(rm uint32) uint32 { return fop(0, 1, 4, 1, 2, rm) }
	cases := []struct {
		name    string
		word    uint32
		frm     uint64
		fs      uint64
		illegal bool
	}{
		{"static rm", fadd(uint32(sf.RTZ)), 5, 1, false},
		{"dynamic with valid frm", fadd(dyn), 3, 1, false},
		{"dynamic with frm=5", fadd(dyn), 5, 1, true},
		{"dynamic with frm=7", fadd(dyn), 7, 1, true},
		{"FS off", fadd(0), 0, 0, true},
		{"FS off fld", encI(opcLoadFP, 1, 3, 0, 0), 0, 0, true},
		{"FS off c.fsdsp is 16-bit tval", 0xa006, 0, 0, true},
		{"FS off fmv.x.w", fop(0x1c, 0, a0, 1, 0, 0), 0, 0, true},
		{"exact fcvt.d.w checks frm too", fop(0x1a, 1, 4, 0, 0, dyn), 6, 1, true},
		{"fsgnj ignores frm", fop(4, 1, 4, 1, 2, 0), 7, 1, false},
	}
	for _, c := range cases {
		e := newEnv(t)
		e.program(cat(w(c.word), haltSeq())...)
		e.h.csr.mstatus = e.h.csr.mstatus&^msFS | c.fs<<msFSShift
		e.h.csr.frm = c.frm
		e.h.csr.mcause = 0xbad
		e.h.X[sp] = ramBase + 0x10000
		e.run(100)
		illegal := e.h.csr.mcause == excIllegal
		if illegal != c.illegal {
			t.Errorf("%s: illegal = %v", c.name, illegal)
			continue
		}
		if illegal {
			want := uint64(c.word)
			if c.word&3 != 3 {
				want &= 0xffff
			}
			if e.h.csr.mtval != want {
				t.Errorf("%s: mtval %#x, want %#x", c.name, e.h.csr.mtval, want)
			}
		} else if e.h.csr.mstatus&msFS != msFS || e.h.mstatusValue()&msSD == 0 {
			t.Errorf("%s: FS not dirty: mstatus %#x", c.name, e.h.mstatusValue())
		}
	}
}

func TestFPFlagsAccumulate(t *testing.T) {
	e := newEnv(t)
	e.program(cat(w(fop(3, 1, 4, 1, 2, 0), fop(3, 1, 5, 1, 3, 0), csrr(a0, csrFflags), csrrw(a1, csrFcsr, zero), csrr(a2, csrFflags)), haltSeq())...)
	e.h.F[1], e.h.F[2], e.h.F[3] = f64(1), f64(0), f64(3)
	e.run(100)
	want := uint64(sf.FlagDZ | sf.FlagNX)
	if e.h.X[a0] != want || e.h.X[a1] != want || e.h.X[a2] != 0 {
		t.Errorf("fflags %#x fcsr %#x after clear %#x", e.h.X[a0], e.h.X[a1], e.h.X[a2])
	}
}

func TestFPLoadStore(t *testing.T) {
	const data = ramBase + 0x10000
	e := newEnv(t)
	e.program(cat(la(s0, data), w(
		encI(opcLoadFP, 1, 2, s0, 0),  // flw f1, 0(s0)
		encI(opcLoadFP, 2, 3, s0, 8),  // fld f2, 8(s0)
		encS(opcStoreF, 2, s0, 2, 16), // fsw f2, 16(s0): low 32 bits
		encS(opcStoreF, 3, s0, 1, 24), // fsd f1, 24(s0): the boxed value
		encI(opcLoadFP, 3, 3, s0, 37), // misaligned fld
	), haltSeq())...)
	e.put64(data, 0x11111111_3f800000)
	e.put64(data+8, 0x40000000_00000005)
	e.put64(data+32, 0x2211)
	e.put64(data+40, 0x77665544_33000000)
	e.run(100)
	h := e.h
	if h.F[1] != box(0x3f800000) || h.F[2] != 0x40000000_00000005 {
		t.Errorf("loads: f1 %#x f2 %#x", h.F[1], h.F[2])
	}
	if e.get64(data+16) != 5 || e.get64(data+24) != box(0x3f800000) {
		t.Errorf("stores: %#x %#x", e.get64(data+16), e.get64(data+24))
	}
	if h.F[3] != 0x4433000000000000 {
		t.Errorf("misaligned fld: %#x", h.F[3])
	}
}
