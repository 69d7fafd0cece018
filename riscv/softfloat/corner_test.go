package softfloat

import "testing"

// Bit patterns used by the hand-checked tables.
const (
	d0      = 0x0000000000000000
	dNeg0   = 0x8000000000000000
	dOne    = 0x3ff0000000000000
	dNegOne = 0xbff0000000000000
	dTwo    = 0x4000000000000000
	dNegTwo = 0xc000000000000000
	dHalf   = 0x3fe0000000000000
	dThree  = 0x4008000000000000
	dUlp1   = 0x3ca0000000000000 // 2^-53: half an ulp of 1.0
	dMax    = 0x7fefffffffffffff
	dNegMax = 0xffefffffffffffff
	dInf    = 0x7ff0000000000000
	dNegInf = 0xfff0000000000000
	dMinN   = 0x0010000000000000 // smallest normal
	dQNaN   = 0x7ff8000000000000
	dSNaN   = 0x7ff0000000000001
	d2p600m = 0x1a70000000000000 // 2^-600

	s0      = 0x00000000
	sNeg0   = 0x80000000
	sOne    = 0x3f800000
	sNegOne = 0xbf800000
	sTwo    = 0x40000000
	sHalf   = 0x3f000000
	sMax    = 0x7f7fffff
	sInf    = 0x7f800000
	sNegInf = 0xff800000
	sMinN   = 0x00800000
	sQNaN   = 0x7fc00000
	sSNaN   = 0x7f800001

	nx, uf, of, dz, nv = FlagNX, FlagUF, FlagOF, FlagDZ, FlagNV
)

type cornerCase struct {
	op      string
	rm      uint8
	a, b, c uint64
	want    uint64
	flags   uint8
}

// cornerCases are worked out by hand from IEEE 754 and the RISC-V F/D
// chapters; TestDifferentialQEMU also checks each one against QEMU.
var cornerCases = []cornerCase{
	// Addition: ties, signed zeros, overflow per rounding mode.
	{"fadd.d", RNE, dOne, dOne, 0, dTwo, 0},
	{"fadd.d", RNE, dOne, dUlp1, 0, dOne, nx}, // tie to even
	{"fadd.d", RUP, dOne, dUlp1, 0, 0x3ff0000000000001, nx},
	{"fadd.d", RMM, dOne, dUlp1, 0, 0x3ff0000000000001, nx}, // tie away
	{"fadd.d", RTZ, dOne, dUlp1, 0, dOne, nx},
	{"fadd.d", RDN, dOne, dUlp1, 0, dOne, nx},
	{"fadd.d", RNE, 0x3ff0000000000001, dUlp1, 0, 0x3ff0000000000002, nx}, // tie, odd: up
	{"fadd.d", RDN, dNegOne, dUlp1 | dNeg0, 0, 0xbff0000000000001, nx},
	{"fadd.d", RUP, dNegOne, dUlp1 | dNeg0, 0, dNegOne, nx},
	{"fadd.d", RNE, dOne, dNegOne, 0, d0, 0},
	{"fadd.d", RDN, dOne, dNegOne, 0, dNeg0, 0},
	{"fadd.d", RNE, dNeg0, dNeg0, 0, dNeg0, 0},
	{"fadd.d", RNE, d0, dNeg0, 0, d0, 0},
	{"fadd.d", RDN, d0, dNeg0, 0, dNeg0, 0},
	{"fadd.d", RUP, dNeg0, d0, 0, d0, 0},
	{"fadd.d", RNE, dInf, dNegInf, 0, dQNaN, nv},
	{"fadd.d", RNE, dInf, dOne, 0, dInf, 0},
	{"fadd.d", RNE, dNegInf, dMax, 0, dNegInf, 0},
	{"fadd.d", RNE, dQNaN, dOne, 0, dQNaN, 0},
	{"fadd.d", RNE, dSNaN, dOne, 0, dQNaN, nv},
	{"fadd.d", RNE, dOne, 0x7ff8dead00000000, 0, dQNaN, 0}, // payload dropped
	{"fadd.d", RNE, dMax, dMax, 0, dInf, of | nx},
	{"fadd.d", RTZ, dMax, dMax, 0, dMax, of | nx},
	{"fadd.d", RDN, dMax, dMax, 0, dMax, of | nx},
	{"fadd.d", RUP, dMax, dMax, 0, dInf, of | nx},
	{"fadd.d", RDN, dNegMax, dNegMax, 0, dNegInf, of | nx},
	{"fadd.d", RUP, dNegMax, dNegMax, 0, dNegMax, of | nx},
	{"fadd.d", RMM, dNegMax, dNegMax, 0, dNegInf, of | nx},
	{"fadd.d", RNE, dMax, 0x7c90000000000000, 0, dInf, of | nx}, // max + half ulp: tie, odd, up
	{"fadd.d", RTZ, dMax, 0x7c90000000000000, 0, dMax, nx},      // stays finite: no OF
	{"fadd.d", RNE, 1, 1, 0, 2, 0},                              // subnormal sums are exact: no UF
	{"fsub.d", RNE, dMinN, 1, 0, 0x000fffffffffffff, 0},
	{"fsub.d", RNE, dOne, dOne, 0, d0, 0},
	{"fsub.d", RDN, dOne, dOne, 0, dNeg0, 0},
	{"fsub.d", RNE, dInf, dInf, 0, dQNaN, nv},
	{"fsub.d", RNE, dNeg0, d0, 0, dNeg0, 0},
	{"fadd.s", RNE, sOne, 0x33800000, 0, sOne, nx},
	{"fadd.s", RUP, sOne, 0x33800000, 0, 0x3f800001, nx},
	{"fadd.s", RMM, sOne, 0x33800000, 0, 0x3f800001, nx},
	{"fadd.s", RNE, sMax, sMax, 0, sInf, of | nx},
	{"fadd.s", RTZ, sMax, sMax, 0, sMax, of | nx},
	{"fadd.s", RNE, sSNaN, sOne, 0, sQNaN, nv},
	{"fadd.s", RDN, sOne, sNegOne, 0, sNeg0, 0},
	{"fsub.s", RNE, sMinN, 1, 0, 0x007fffff, 0},

	// Multiplication: underflow with tininess after rounding.
	{"fmul.d", RNE, dMinN, dHalf, 0, 0x0008000000000000, 0}, // exact subnormal: no UF
	{"fmul.d", RNE, 1, dHalf, 0, d0, uf | nx},
	{"fmul.d", RUP, 1, dHalf, 0, 1, uf | nx},
	{"fmul.d", RMM, 1, dHalf, 0, 1, uf | nx},
	{"fmul.d", RDN, 1, dHalf, 0, d0, uf | nx},
	{"fmul.d", RDN, dNeg0 | 1, dHalf, 0, dNeg0 | 1, uf | nx},
	{"fmul.d", RTZ, dNeg0 | 1, dHalf, 0, dNeg0, uf | nx},
	// (1-2^-53)*2^-1022 is exact with an unbounded exponent and below
	// 2^-1022, so tiny; as a subnormal it ties and rounds up to 2^-1022.
	{"fmul.d", RNE, 0x3fefffffffffffff, dMinN, 0, dMinN, uf | nx},
	// (1-2^-104)*2^-1022 rounds to 2^-1022 even with an unbounded
	// exponent: not tiny after rounding, so no UF.
	{"fmul.d", RNE, 0x3feffffffffffffe, 0x0010000000000001, 0, dMinN, nx},
	{"fmul.d", RTZ, 0x3feffffffffffffe, 0x0010000000000001, 0, 0x000fffffffffffff, uf | nx},
	{"fmul.d", RNE, dMax, dTwo, 0, dInf, of | nx},
	{"fmul.d", RTZ, dMax, dTwo, 0, dMax, of | nx},
	{"fmul.d", RUP, dNegMax, dTwo, 0, dNegMax, of | nx},
	{"fmul.d", RNE, d0, dInf, 0, dQNaN, nv},
	{"fmul.d", RNE, dNegInf, dNeg0, 0, dQNaN, nv},
	{"fmul.d", RNE, dNeg0, 0x4014000000000000, 0, dNeg0, 0},
	{"fmul.d", RNE, 1, 1, 0, d0, uf | nx},
	{"fmul.d", RUP, 1, 1, 0, 1, uf | nx},
	{"fmul.d", RNE, 0x3ff8000000000000, 0x3ff0000000000001, 0, 0x3ff8000000000002, nx}, // 1.5+1.5ulp: tie, up to even
	{"fmul.d", RMM, 0x3ff8000000000000, 0x3ff0000000000001, 0, 0x3ff8000000000002, nx},
	{"fmul.d", RTZ, 0x3ff8000000000000, 0x3ff0000000000001, 0, 0x3ff8000000000001, nx},
	{"fmul.s", RNE, sMax, sTwo, 0, sInf, of | nx},
	{"fmul.s", RNE, 1, sHalf, 0, s0, uf | nx},
	{"fmul.s", RUP, 1, sHalf, 0, 1, uf | nx},
	{"fmul.s", RNE, 0x3f7fffff, sMinN, 0, sMinN, uf | nx},
	{"fmul.s", RNE, sOne, sQNaN, 0, sQNaN, 0},

	// Division.
	{"fdiv.d", RNE, dOne, d0, 0, dInf, dz},
	{"fdiv.d", RNE, dNegOne, d0, 0, dNegInf, dz},
	{"fdiv.d", RNE, dOne, dNeg0, 0, dNegInf, dz},
	{"fdiv.d", RNE, d0, d0, 0, dQNaN, nv},
	{"fdiv.d", RNE, dInf, dInf, 0, dQNaN, nv},
	{"fdiv.d", RNE, dOne, dInf, 0, d0, 0},
	{"fdiv.d", RNE, dNegOne, dInf, 0, dNeg0, 0},
	{"fdiv.d", RNE, dInf, d0, 0, dInf, 0}, // no DZ: the dividend is not finite
	{"fdiv.d", RNE, dOne, dThree, 0, 0x3fd5555555555555, nx},
	{"fdiv.d", RUP, dOne, dThree, 0, 0x3fd5555555555556, nx},
	{"fdiv.d", RTZ, dOne, dThree, 0, 0x3fd5555555555555, nx},
	{"fdiv.d", RMM, dOne, dThree, 0, 0x3fd5555555555555, nx},
	{"fdiv.d", RDN, dNegOne, dThree, 0, 0xbfd5555555555556, nx},
	{"fdiv.d", RNE, dMinN, dTwo, 0, 0x0008000000000000, 0},
	{"fdiv.d", RNE, dMax, dHalf, 0, dInf, of | nx},
	{"fdiv.d", RNE, 1, dTwo, 0, d0, uf | nx},
	{"fdiv.d", RNE, 3, dTwo, 0, 2, uf | nx}, // 1.5 subnormal ulps: tie to even
	{"fdiv.d", RNE, dSNaN, d0, 0, dQNaN, nv},
	{"fdiv.d", RNE, dQNaN, d0, 0, dQNaN, 0},
	{"fdiv.s", RNE, sOne, 0x40400000, 0, 0x3eaaaaab, nx},
	{"fdiv.s", RTZ, sOne, 0x40400000, 0, 0x3eaaaaaa, nx},
	{"fdiv.s", RNE, sOne, s0, 0, sInf, dz},
	{"fdiv.s", RNE, s0, s0, 0, sQNaN, nv},

	// Square root.
	{"fsqrt.d", RNE, 0x4010000000000000, 0, 0, dTwo, 0},
	{"fsqrt.d", RNE, dTwo, 0, 0, 0x3ff6a09e667f3bcd, nx},
	{"fsqrt.d", RUP, dTwo, 0, 0, 0x3ff6a09e667f3bcd, nx},
	{"fsqrt.d", RTZ, dTwo, 0, 0, 0x3ff6a09e667f3bcc, nx},
	{"fsqrt.d", RDN, dTwo, 0, 0, 0x3ff6a09e667f3bcc, nx},
	{"fsqrt.d", RNE, dNeg0, 0, 0, dNeg0, 0},
	{"fsqrt.d", RNE, dNegOne, 0, 0, dQNaN, nv},
	{"fsqrt.d", RNE, dNegInf, 0, 0, dQNaN, nv},
	{"fsqrt.d", RNE, dNeg0 | 1, 0, 0, dQNaN, nv},
	{"fsqrt.d", RNE, dInf, 0, 0, dInf, 0},
	{"fsqrt.d", RNE, 1, 0, 0, 0x1e60000000000000, 0}, // sqrt(2^-1074) = 2^-537
	{"fsqrt.d", RNE, dSNaN, 0, 0, dQNaN, nv},
	{"fsqrt.d", RNE, dQNaN | dNeg0, 0, 0, dQNaN, 0},
	{"fsqrt.s", RNE, sTwo, 0, 0, 0x3fb504f3, nx},
	{"fsqrt.s", RUP, sTwo, 0, 0, 0x3fb504f4, nx},
	{"fsqrt.s", RNE, 0x40800000, 0, 0, sTwo, 0},
	{"fsqrt.s", RNE, sNegOne, 0, 0, sQNaN, nv},

	// Fused multiply-add.
	{"fmadd.d", RNE, d0, dInf, dQNaN, dQNaN, nv}, // inf*0 is invalid even with a quiet NaN addend
	{"fmadd.d", RNE, dInf, d0, dOne, dQNaN, nv},
	{"fmadd.d", RNE, dInf, dOne, dNegInf, dQNaN, nv},
	{"fmadd.d", RNE, dInf, dOne, dInf, dInf, 0},
	{"fmadd.d", RNE, dOne, dOne, dNegInf, dNegInf, 0},
	{"fmadd.d", RNE, dOne, dQNaN, dOne, dQNaN, 0},
	{"fmadd.d", RNE, dOne, dOne, dSNaN, dQNaN, nv},
	{"fmadd.d", RNE, dOne, dOne, dNegOne, d0, 0},
	{"fmadd.d", RDN, dOne, dOne, dNegOne, dNeg0, 0},
	// (1+2^-52)(1-2^-52) - 1 = -2^-104 exactly: lost without fusion.
	{"fmadd.d", RNE, 0x3ff0000000000001, 0x3feffffffffffffe, dNegOne, 0xb970000000000000, 0},
	{"fmadd.d", RNE, dNeg0, dOne, dNeg0, dNeg0, 0},
	{"fmadd.d", RNE, d0, dOne, dNeg0, d0, 0},
	{"fmadd.d", RDN, d0, dOne, dNeg0, dNeg0, 0},
	{"fmadd.d", RNE, d0, dOne, 1, 1, 0},
	{"fmadd.d", RNE, d2p600m, d2p600m, dOne, dOne, nx},
	{"fmadd.d", RUP, d2p600m, d2p600m, dOne, 0x3ff0000000000001, nx},
	{"fmadd.d", RTZ, d2p600m, d2p600m, dNegOne, 0xbfefffffffffffff, nx},
	{"fmadd.d", RDN, d2p600m, d2p600m | dNeg0, dOne, 0x3fefffffffffffff, nx},
	{"fmadd.d", RNE, dMax, dTwo, dNegMax, dMax, 0}, // the product may exceed the range
	{"fmadd.d", RNE, dMax, dTwo, d0, dInf, of | nx},
	{"fmadd.d", RNE, 1, dHalf, d0, d0, uf | nx},
	{"fmadd.d", RNE, 1, 0x3ff8000000000000, 1, 2, uf | nx}, // 2.5 subnormal ulps: tie to even
	{"fmadd.s", RNE, 0x3f800001, 0x3f7ffffe, sNegOne, 0xa8800000, 0},
	{"fmadd.s", RNE, s0, sInf, sQNaN, sQNaN, nv},

	// fmin/fmax: -0 < +0, a single NaN is ignored, NV only for sNaN.
	{"fmin.d", RNE, d0, dNeg0, 0, dNeg0, 0},
	{"fmin.d", RNE, dNeg0, d0, 0, dNeg0, 0},
	{"fmax.d", RNE, dNeg0, d0, 0, d0, 0},
	{"fmax.d", RNE, d0, dNeg0, 0, d0, 0},
	{"fmin.d", RNE, dQNaN, dOne, 0, dOne, 0},
	{"fmin.d", RNE, dOne, dQNaN, 0, dOne, 0},
	{"fmin.d", RNE, dSNaN, dOne, 0, dOne, nv},
	{"fmax.d", RNE, dQNaN, dQNaN, 0, dQNaN, 0},
	{"fmax.d", RNE, dSNaN, dQNaN, 0, dQNaN, nv},
	{"fmin.d", RNE, 0x7ff8dead00000000, 0x7ff8beef00000000, 0, dQNaN, 0},
	{"fmin.d", RNE, dOne, dTwo, 0, dOne, 0},
	{"fmax.d", RNE, dOne, dTwo, 0, dTwo, 0},
	{"fmin.d", RNE, dNegOne, dNegTwo, 0, dNegTwo, 0},
	{"fmax.d", RNE, dNegInf, dMax, 0, dMax, 0},
	{"fmin.s", RNE, sNeg0, s0, 0, sNeg0, 0},
	{"fmin.s", RNE, sSNaN, sOne, 0, sOne, nv},
	{"fmax.s", RNE, sQNaN, sQNaN, 0, sQNaN, 0},

	// Comparisons: feq is quiet, flt/fle signal on any NaN.
	{"feq.d", RNE, dQNaN, dOne, 0, 0, 0},
	{"feq.d", RNE, dSNaN, dOne, 0, 0, nv},
	{"feq.d", RNE, dNeg0, d0, 0, 1, 0},
	{"feq.d", RNE, dOne, dOne, 0, 1, 0},
	{"flt.d", RNE, dQNaN, dOne, 0, 0, nv},
	{"flt.d", RNE, dNeg0, d0, 0, 0, 0},
	{"flt.d", RNE, dNegOne, dOne, 0, 1, 0},
	{"flt.d", RNE, dNegTwo, dNegOne, 0, 1, 0},
	{"flt.d", RNE, dNegOne, dNegTwo, 0, 0, 0},
	{"flt.d", RNE, dNegInf, dInf, 0, 1, 0},
	{"fle.d", RNE, dNeg0, d0, 0, 1, 0},
	{"fle.d", RNE, dOne, dOne, 0, 1, 0},
	{"fle.d", RNE, dTwo, dOne, 0, 0, 0},
	{"fle.d", RNE, dQNaN, dQNaN, 0, 0, nv},
	{"feq.s", RNE, sSNaN, sSNaN, 0, 0, nv},
	{"flt.s", RNE, sQNaN, s0, 0, 0, nv},
	{"fle.s", RNE, sNeg0, s0, 0, 1, 0},

	// fclass.
	{"fclass.d", RNE, dNegInf, 0, 0, ClassNegInf, 0},
	{"fclass.d", RNE, dNegOne, 0, 0, ClassNegNormal, 0},
	{"fclass.d", RNE, dNeg0 | 1, 0, 0, ClassNegSubnormal, 0},
	{"fclass.d", RNE, dNeg0, 0, 0, ClassNegZero, 0},
	{"fclass.d", RNE, d0, 0, 0, ClassPosZero, 0},
	{"fclass.d", RNE, 0x000fffffffffffff, 0, 0, ClassPosSubnormal, 0},
	{"fclass.d", RNE, dMinN, 0, 0, ClassPosNormal, 0},
	{"fclass.d", RNE, dInf, 0, 0, ClassPosInf, 0},
	{"fclass.d", RNE, dSNaN, 0, 0, ClassSNaN, 0},
	{"fclass.d", RNE, dQNaN | dNeg0, 0, 0, ClassQNaN, 0},
	{"fclass.s", RNE, sNegInf, 0, 0, ClassNegInf, 0},
	{"fclass.s", RNE, sNeg0 | 1, 0, 0, ClassNegSubnormal, 0},
	{"fclass.s", RNE, sMax, 0, 0, ClassPosNormal, 0},
	{"fclass.s", RNE, sSNaN, 0, 0, ClassSNaN, 0},
	{"fclass.s", RNE, sQNaN, 0, 0, ClassQNaN, 0},

	// Float-to-float conversions.
	{"fcvt.d.s", RNE, sOne, 0, 0, dOne, 0},
	{"fcvt.d.s", RNE, 1, 0, 0, 0x36a0000000000000, 0}, // subnormal 2^-149 becomes normal
	{"fcvt.d.s", RNE, sSNaN, 0, 0, dQNaN, nv},
	{"fcvt.d.s", RNE, 0x7fc12345, 0, 0, dQNaN, 0},
	{"fcvt.d.s", RNE, sNegInf, 0, 0, dNegInf, 0},
	{"fcvt.d.s", RNE, sNeg0, 0, 0, dNeg0, 0},
	{"fcvt.s.d", RNE, 0x3fd5555555555555, 0, 0, 0x3eaaaaab, nx},
	{"fcvt.s.d", RTZ, 0x3fd5555555555555, 0, 0, 0x3eaaaaaa, nx},
	{"fcvt.s.d", RNE, 0x47efffffffffffff, 0, 0, sInf, of | nx},
	{"fcvt.s.d", RTZ, 0x47efffffffffffff, 0, 0, sMax, nx},    // truncates to max: no OF
	{"fcvt.s.d", RNE, 0x3690000000000000, 0, 0, s0, uf | nx}, // 2^-150: tie to zero
	{"fcvt.s.d", RUP, 0x3690000000000000, 0, 0, 1, uf | nx},
	{"fcvt.s.d", RNE, 0x380fffffff800000, 0, 0, sMinN, nx}, // 2^-126(1-2^-30): not tiny after rounding
	{"fcvt.s.d", RTZ, 0x380fffffff800000, 0, 0, 0x007fffff, uf | nx},
	{"fcvt.s.d", RNE, 0x36a0000000000000, 0, 0, 1, 0},
	{"fcvt.s.d", RNE, dSNaN, 0, 0, sQNaN, nv},
	{"fcvt.s.d", RNE, dInf, 0, 0, sInf, 0},

	// Float-to-integer: rounding, saturation, NaN to the maximum.
	{"fcvt.w.d", RNE, 0x4004000000000000, 0, 0, 2, nx},
	{"fcvt.w.d", RMM, 0x4004000000000000, 0, 0, 3, nx},
	{"fcvt.w.d", RUP, 0x4004000000000000, 0, 0, 3, nx},
	{"fcvt.w.d", RDN, 0x4004000000000000, 0, 0, 2, nx},
	{"fcvt.w.d", RTZ, 0x4004000000000000, 0, 0, 2, nx},
	{"fcvt.w.d", RNE, 0xc004000000000000, 0, 0, 0xfffffffe, nx},
	{"fcvt.w.d", RDN, 0xc004000000000000, 0, 0, 0xfffffffd, nx},
	{"fcvt.w.d", RTZ, 0xc004000000000000, 0, 0, 0xfffffffe, nx},
	{"fcvt.w.d", RMM, 0xc004000000000000, 0, 0, 0xfffffffd, nx},
	{"fcvt.w.d", RNE, 0x41e0000000000000, 0, 0, 0x7fffffff, nv}, // 2^31
	{"fcvt.w.d", RNE, 0xc1e0000000000000, 0, 0, 0x80000000, 0},  // -2^31
	{"fcvt.w.d", RTZ, 0xc1e0000000100000, 0, 0, 0x80000000, nx}, // -2^31-0.5
	{"fcvt.w.d", RNE, 0xc1e0000000100000, 0, 0, 0x80000000, nx},
	{"fcvt.w.d", RNE, 0xc1e0000000200000, 0, 0, 0x80000000, nv}, // -2^31-1
	{"fcvt.w.d", RNE, dQNaN, 0, 0, 0x7fffffff, nv},
	{"fcvt.w.d", RNE, dQNaN | dNeg0, 0, 0, 0x7fffffff, nv},
	{"fcvt.w.d", RNE, dNegInf, 0, 0, 0x80000000, nv},
	{"fcvt.w.d", RNE, dInf, 0, 0, 0x7fffffff, nv},
	{"fcvt.w.d", RNE, 0x41dfffffffe00000, 0, 0, 0x7fffffff, nv}, // 2^31-0.5 rounds to 2^31
	{"fcvt.w.d", RTZ, 0x41dfffffffe00000, 0, 0, 0x7fffffff, nx},
	{"fcvt.w.d", RNE, dNeg0, 0, 0, 0, 0},
	{"fcvt.w.d", RNE, 1, 0, 0, 0, nx},
	{"fcvt.w.d", RUP, 1, 0, 0, 1, nx},
	{"fcvt.w.d", RDN, dNeg0 | 1, 0, 0, 0xffffffff, nx},
	{"fcvt.wu.d", RTZ, 0xbfd999999999999a, 0, 0, 0, nx}, // -0.4: rounds to 0, not invalid
	{"fcvt.wu.d", RNE, 0xbfd999999999999a, 0, 0, 0, nx},
	{"fcvt.wu.d", RDN, 0xbfd999999999999a, 0, 0, 0, nv},
	{"fcvt.wu.d", RNE, dNegOne, 0, 0, 0, nv},
	{"fcvt.wu.d", RNE, 0xbfe0000000000000, 0, 0, 0, nx}, // -0.5 ties to 0
	{"fcvt.wu.d", RMM, 0xbfe0000000000000, 0, 0, 0, nv},
	{"fcvt.wu.d", RNE, 0x41f0000000000000, 0, 0, 0xffffffff, nv}, // 2^32
	{"fcvt.wu.d", RNE, 0x41effffffff00000, 0, 0, 0xffffffff, nv}, // 2^32-0.5 rounds to 2^32
	{"fcvt.wu.d", RTZ, 0x41effffffff00000, 0, 0, 0xffffffff, nx},
	{"fcvt.wu.d", RNE, dQNaN, 0, 0, 0xffffffff, nv},
	{"fcvt.wu.d", RNE, dNegInf, 0, 0, 0, nv},
	{"fcvt.wu.d", RNE, dNeg0, 0, 0, 0, 0},
	{"fcvt.l.d", RNE, 0x43e0000000000000, 0, 0, 0x7fffffffffffffff, nv}, // 2^63
	{"fcvt.l.d", RNE, 0xc3e0000000000000, 0, 0, 0x8000000000000000, 0},
	{"fcvt.l.d", RNE, 0x43dfffffffffffff, 0, 0, 0x7ffffffffffffc00, 0},
	{"fcvt.l.d", RNE, dQNaN, 0, 0, 0x7fffffffffffffff, nv},
	{"fcvt.l.d", RNE, 0x3ff8000000000000, 0, 0, 2, nx},
	{"fcvt.l.d", RNE, dHalf, 0, 0, 0, nx},
	{"fcvt.l.d", RMM, dHalf, 0, 0, 1, nx},
	{"fcvt.l.d", RNE, dNegInf, 0, 0, 0x8000000000000000, nv},
	{"fcvt.lu.d", RNE, 0x43efffffffffffff, 0, 0, 0xfffffffffffff800, 0},
	{"fcvt.lu.d", RNE, 0x43f0000000000000, 0, 0, 0xffffffffffffffff, nv}, // 2^64
	{"fcvt.lu.d", RNE, dNegOne, 0, 0, 0, nv},
	{"fcvt.lu.d", RNE, dQNaN, 0, 0, 0xffffffffffffffff, nv},
	{"fcvt.lu.d", RTZ, 0xbfd999999999999a, 0, 0, 0, nx},
	{"fcvt.w.s", RNE, 0x40200000, 0, 0, 2, nx},
	{"fcvt.w.s", RNE, 0x4f000000, 0, 0, 0x7fffffff, nv},
	{"fcvt.w.s", RNE, 0xcf000000, 0, 0, 0x80000000, 0},
	{"fcvt.w.s", RNE, sQNaN, 0, 0, 0x7fffffff, nv},
	{"fcvt.wu.s", RNE, sNegOne, 0, 0, 0, nv},
	{"fcvt.wu.s", RNE, 0x4f800000, 0, 0, 0xffffffff, nv},
	{"fcvt.wu.s", RTZ, 0xbecccccd, 0, 0, 0, nx},
	{"fcvt.l.s", RNE, 0x5f000000, 0, 0, 0x7fffffffffffffff, nv},
	{"fcvt.l.s", RNE, 0xdf000000, 0, 0, 0x8000000000000000, 0},
	{"fcvt.lu.s", RNE, 0x5f800000, 0, 0, 0xffffffffffffffff, nv},
	{"fcvt.lu.s", RNE, 0x5f7fffff, 0, 0, 0xffffff0000000000, 0},

	// Integer-to-float.
	{"fcvt.d.l", RNE, 1<<53 + 1, 0, 0, 0x4340000000000000, nx},
	{"fcvt.d.l", RUP, 1<<53 + 1, 0, 0, 0x4340000000000001, nx},
	{"fcvt.d.l", RNE, 1<<53 + 3, 0, 0, 0x4340000000000002, nx},
	{"fcvt.d.l", RNE, 0x7fffffffffffffff, 0, 0, 0x43e0000000000000, nx},
	{"fcvt.d.l", RTZ, 0x7fffffffffffffff, 0, 0, 0x43dfffffffffffff, nx},
	{"fcvt.d.l", RNE, 0x8000000000000000, 0, 0, 0xc3e0000000000000, 0},
	{"fcvt.d.l", RDN, -(1<<53 + 1) & 0xffffffffffffffff, 0, 0, 0xc340000000000001, nx},
	{"fcvt.d.l", RNE, 0, 0, 0, d0, 0},
	{"fcvt.d.l", RNE, 0xffffffffffffffff, 0, 0, dNegOne, 0},
	{"fcvt.d.lu", RNE, 0xffffffffffffffff, 0, 0, 0x43f0000000000000, nx},
	{"fcvt.d.lu", RTZ, 0xffffffffffffffff, 0, 0, 0x43efffffffffffff, nx},
	{"fcvt.s.w", RNE, 1<<24 + 1, 0, 0, 0x4b800000, nx},
	{"fcvt.s.w", RUP, 1<<24 + 1, 0, 0, 0x4b800001, nx},
	{"fcvt.s.w", RNE, 0x80000000, 0, 0, 0xcf000000, 0},
	{"fcvt.s.w", RNE, 0xfffffffb, 0, 0, 0xc0a00000, 0},
	{"fcvt.s.wu", RNE, 0xffffffff, 0, 0, 0x4f800000, nx},
	{"fcvt.s.wu", RTZ, 0xffffffff, 0, 0, 0x4f7fffff, nx},
	{"fcvt.s.l", RNE, 0x8000000000000000, 0, 0, 0xdf000000, 0},
	{"fcvt.s.l", RNE, 0x7fffffffffffffff, 0, 0, 0x5f000000, nx},
	{"fcvt.s.lu", RNE, 0xffffffffffffffff, 0, 0, 0x5f800000, nx},
	{"fcvt.s.lu", RDN, 0xffffffffffffffff, 0, 0, 0x5f7fffff, nx},
	{"fcvt.d.w", RNE, 0xfffffffb, 0, 0, 0xc014000000000000, 0},
	{"fcvt.d.w", RNE, 0x80000000, 0, 0, 0xc1e0000000000000, 0},
	{"fcvt.d.wu", RNE, 0xffffffff, 0, 0, 0x41efffffffe00000, 0},
}

func TestCornerCases(t *testing.T) {
	for _, tc := range cornerCases {
		_, op := opByName(tc.op)
		got, fl := op.eval(tc.a, tc.b, tc.c, tc.rm)
		if got != tc.want || fl != tc.flags {
			t.Errorf("%s rm=%d a=%#x b=%#x c=%#x: got %#x %s, want %#x %s",
				tc.op, tc.rm, tc.a, tc.b, tc.c, got, flagString(fl), tc.want, flagString(tc.flags))
		}
	}
}

// TestInvalidRoundingModeIsNearestEven pins down the documented behaviour
// for rm values the hart should have rejected: no panic, RNE results.
func TestInvalidRoundingModeIsNearestEven(t *testing.T) {
	for _, rm := range []uint8{5, 6, 7, 255} {
		for _, tc := range cornerCases {
			if tc.rm != RNE {
				continue
			}
			_, op := opByName(tc.op)
			got, fl := op.eval(tc.a, tc.b, tc.c, rm)
			if got != tc.want || fl != tc.flags {
				t.Fatalf("%s rm=%d a=%#x: got %#x %s, want the RNE result %#x %s",
					tc.op, rm, tc.a, got, flagString(fl), tc.want, flagString(tc.flags))
			}
		}
	}
}
