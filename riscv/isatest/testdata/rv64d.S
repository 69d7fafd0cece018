/* RV64D: double arithmetic under every rounding mode with fflags, NaNs,
 * FMA fusion, sign injection, min/max, compares, fclass, conversions
 * (int, single<->double with NaN-boxing), moves, misaligned loads/stores. */
#include "test.h"

#define ONE    0x3ff0000000000000
#define TWO    0x4000000000000000
#define THREE  0x4008000000000000
#define HALF   0x3fe0000000000000
#define MONE   0xbff0000000000000
#define MZERO  0x8000000000000000
#define INF    0x7ff0000000000000
#define MINF   0xfff0000000000000
#define QNAN   0x7ff8000000000000
#define QNANP  0x7ff8000000012345
#define SNAN   0x7ff0000000000001
#define MAXD   0x7fefffffffffffff
#define E53    0x3ca0000000000000
#define ME53   0xbca0000000000000

#define D_OP1_RM(n, inst, rm, flags, result, a) \
  TEST_FP(n, flags, result, LD_D(fa0, a); inst fa3, fa0, rm)
#define D_OP3(n, inst, flags, result, a, b, c) \
  TEST_FP(n, flags, result, LD_D(fa0, a); LD_D(fa1, b); LD_D(fa2, c); inst fa3, fa0, fa1, fa2)
#define D_CMP(n, inst, flags, result, a, b) \
  TEST_FP_INT(n, flags, result, LD_D(fa0, a); LD_D(fa1, b); inst a0, fa0, fa1)
#define D_CLASS(n, result, a) \
  TEST_FP_INT(n, 0, result, LD_D(fa0, a); fclass.d a0, fa0)
#define D_TOINT(n, inst, rm, flags, result, a) \
  TEST_FP_INT(n, flags, result, LD_D(fa0, a); inst a0, fa0, rm)
#define D_FROMINT_EXACT(n, inst, flags, result, v) \
  TEST_FP(n, flags, result, li a0, v; inst fa3, a0)
#define D_FROMINT(n, inst, rm, flags, result, v) \
  TEST_FP(n, flags, result, li a0, v; inst fa3, a0, rm)

  .text
  .globl test_main
test_main:
  D_OP2(1, fadd.d, 0, THREE, ONE, TWO)
  D_OP2_RM(2, fadd.d, rne, FF_NX, ONE, ONE, E53)
  D_OP2_RM(3, fadd.d, rtz, FF_NX, ONE, ONE, E53)
  D_OP2_RM(4, fadd.d, rdn, FF_NX, ONE, ONE, E53)
  D_OP2_RM(5, fadd.d, rup, FF_NX, 0x3ff0000000000001, ONE, E53)
  D_OP2_RM(6, fadd.d, rmm, FF_NX, 0x3ff0000000000001, ONE, E53)
  D_OP2_RM(7, fadd.d, rdn, FF_NX, 0xbff0000000000001, MONE, ME53)
  D_OP2_RM(8, fadd.d, rup, FF_NX, MONE, MONE, ME53)
  TEST_FP(9, FF_NX, 0x3ff0000000000001, fsrmi 4; LD_D(fa0, ONE); LD_D(fa1, E53); fadd.d fa3, fa0, fa1; fsrmi 0)
  D_OP2_RM(10, fsub.d, rdn, 0, MZERO, TWO, TWO)
  D_OP2_RM(11, fsub.d, rne, 0, 0, TWO, TWO)
  D_OP2(12, fmul.d, 0, 0x4018000000000000, TWO, THREE)
  D_OP2_RM(13, fmul.d, rne, FF_OF | FF_NX, INF, MAXD, TWO)
  D_OP2_RM(14, fmul.d, rtz, FF_OF | FF_NX, MAXD, MAXD, TWO)
  D_OP2_RM(15, fmul.d, rne, FF_UF | FF_NX, 0, 1, HALF)
  D_OP2_RM(16, fmul.d, rne, 0, 0x0008000000000000, 0x0010000000000000, HALF)
  D_OP2(17, fdiv.d, FF_NX, 0x3fd5555555555555, ONE, THREE)
  D_OP2(18, fdiv.d, FF_DZ, MINF, MONE, 0)
  D_OP2(19, fdiv.d, FF_NV, QNAN, 0, 0)
  D_OP1_RM(20, fsqrt.d, rne, FF_NX, 0x3ff6a09e667f3bcd, TWO)
  D_OP1_RM(21, fsqrt.d, rne, FF_NV, QNAN, MONE)
  D_OP1_RM(22, fsqrt.d, rne, 0, 0x4010000000000000, 0x4030000000000000)
  D_OP2(23, fadd.d, 0, QNAN, QNANP, ONE)
  D_OP2(24, fadd.d, FF_NV, QNAN, SNAN, ONE)
  D_OP2(25, fsub.d, FF_NV, QNAN, INF, INF)
  /* fused: (1+2^-52)(1-2^-52) - 1 = -2^-104 exactly */
  D_OP3(26, fmadd.d, 0, 0xb970000000000000, 0x3ff0000000000001, 0x3feffffffffffffe, MONE)
  D_OP3(27, fmsub.d, 0, 0x4014000000000000, TWO, THREE, ONE)
  D_OP3(28, fnmsub.d, 0, 0xc014000000000000, TWO, THREE, ONE)
  D_OP3(29, fnmadd.d, 0, 0xc01c000000000000, TWO, THREE, ONE)
  D_OP3(30, fmadd.d, FF_NV, QNAN, 0, INF, QNANP)
  D_OP2(31, fsgnj.d, 0, MONE, ONE, 0xc000000000000000)
  D_OP2(32, fsgnjn.d, 0, ONE, ONE, 0xc000000000000000)
  D_OP2(33, fsgnjx.d, 0, ONE, MONE, 0xc000000000000000)
  D_OP2(34, fsgnjn.d, 0, SNAN | MZERO, SNAN, SNAN)
  D_OP2(35, fmin.d, 0, MZERO, 0, MZERO)
  D_OP2(36, fmax.d, 0, 0, MZERO, 0)
  D_OP2(37, fmin.d, FF_NV, ONE, SNAN, ONE)
  D_OP2(38, fmax.d, 0, TWO, QNANP, TWO)
  D_OP2(39, fmax.d, 0, QNAN, QNANP, QNANP)
  D_CMP(40, feq.d, 0, 0, QNAN, QNAN)
  D_CMP(41, feq.d, FF_NV, 0, ONE, SNAN)
  D_CMP(42, flt.d, FF_NV, 0, QNAN, ONE)
  D_CMP(43, fle.d, 0, 1, MZERO, 0)
  D_CMP(44, flt.d, 0, 1, MONE, ONE)
  D_CLASS(45, 0x001, MINF)
  D_CLASS(46, 0x002, MONE)
  D_CLASS(47, 0x004, 0x8000000000000001)
  D_CLASS(48, 0x008, MZERO)
  D_CLASS(49, 0x010, 0)
  D_CLASS(50, 0x020, 0x000fffffffffffff)
  D_CLASS(51, 0x040, ONE)
  D_CLASS(52, 0x080, INF)
  D_CLASS(53, 0x100, SNAN)
  D_CLASS(54, 0x200, QNAN)
  /* double to int */
  D_TOINT(55, fcvt.w.d, rtz, FF_NV, 0x7fffffff, 0x41e0000000000000)
  D_TOINT(56, fcvt.w.d, rtz, 0, 0xffffffff80000000, 0xc1e0000000000000)
  D_TOINT(57, fcvt.w.d, rtz, FF_NX, 0xffffffff80000000, 0xc1e0000000100000)
  D_TOINT(58, fcvt.w.d, rne, FF_NX, 0xffffffff80000000, 0xc1e0000000100000)
  D_TOINT(59, fcvt.w.d, rdn, FF_NV, 0xffffffff80000000, 0xc1e0000000100000)
  D_TOINT(60, fcvt.w.d, rmm, FF_NV, 0xffffffff80000000, 0xc1e0000000100000)
  D_TOINT(61, fcvt.wu.d, rtz, FF_NV, 0xffffffffffffffff, 0x41f0000000000000)
  D_TOINT(62, fcvt.wu.d, rtz, 0, 0xffffffffffffffff, 0x41efffffffe00000)
  D_TOINT(63, fcvt.wu.d, rup, FF_NX, 0, 0xbfe0000000000000)
  D_TOINT(64, fcvt.l.d, rtz, FF_NV, 0x7fffffffffffffff, 0x43e0000000000000)
  D_TOINT(65, fcvt.l.d, rtz, 0, 0x8000000000000000, 0xc3e0000000000000)
  D_TOINT(66, fcvt.l.d, rtz, FF_NV, 0x7fffffffffffffff, QNAN)
  D_TOINT(67, fcvt.l.d, rne, FF_NX, -2, 0xc004000000000000)
  D_TOINT(68, fcvt.lu.d, rtz, FF_NV, 0xffffffffffffffff, 0x43f0000000000000)
  D_TOINT(69, fcvt.lu.d, rtz, FF_NV, 0, MINF)
  D_TOINT(70, fcvt.lu.d, rtz, 0, 0xfffffffffffff800, 0x43efffffffffffff)
  /* int to double */
  D_FROMINT(71, fcvt.d.l, rne, FF_NX, 0x4340000000000000, 0x20000000000001)
  D_FROMINT(72, fcvt.d.l, rup, FF_NX, 0x4340000000000001, 0x20000000000001)
  D_FROMINT(73, fcvt.d.lu, rne, FF_NX, 0x43f0000000000000, 0xffffffffffffffff)
  D_FROMINT(74, fcvt.d.l, rne, 0, 0xc3e0000000000000, 0x8000000000000000)
  D_FROMINT_EXACT(75, fcvt.d.w, 0, 0xc1e0000000000000, 0x80000000)
  D_FROMINT_EXACT(76, fcvt.d.wu, 0, 0x41efffffffe00000, 0xffffffffffffffff)
  D_FROMINT_EXACT(77, fcvt.d.w, 0, ONE, 0xffffffff00000001)
  /* single <-> double */
  TEST_FP(78, 0, 0x3ff8000000000000, LD_S(fa0, 0x3fc00000); fcvt.d.s fa3, fa0)
  TEST_FP(79, FF_NV, QNAN, LD_S(fa0, 0x7f800001); fcvt.d.s fa3, fa0)
  TEST_FP(80, 0, QNAN, li t0, 0x3f800000; fmv.d.x fa0, t0; fcvt.d.s fa3, fa0)
  TEST_FP(81, 0, 0xfff0000000000000, LD_S(fa0, 0xff800000); fcvt.d.s fa3, fa0)
  TEST_FP(82, FF_NX, BOX(0x3f800000), LD_D(fa0, 0x3ff0000010000000); fcvt.s.d fa3, fa0, rne)
  TEST_FP(83, FF_NX, BOX(0x3f800001), LD_D(fa0, 0x3ff0000010000000); fcvt.s.d fa3, fa0, rup)
  TEST_FP(84, FF_OF | FF_NX, BOX(0x7f800000), LD_D(fa0, 0x7e37e43c8800759c); fcvt.s.d fa3, fa0, rne)
  TEST_FP(85, FF_OF | FF_NX, BOX(0x7f7fffff), LD_D(fa0, 0x7e37e43c8800759c); fcvt.s.d fa3, fa0, rtz)
  TEST_FP(86, 0, BOX(0x7fc00000), LD_D(fa0, QNANP); fcvt.s.d fa3, fa0)
  TEST_FP(87, FF_UF | FF_NX, BOX(0), LD_D(fa0, 0x3690000000000000); fcvt.s.d fa3, fa0, rne)
  /* moves and memory */
  TEST_FP_INT(88, 0, 0x8000000000000000, LD_D(fa0, MZERO); fmv.x.d a0, fa0)
  TEST_FP(89, 0, 0x0123456789abcdef, la a1, ddat; fld fa3, 0(a1))
  TEST_FP(90, 0, 0xfedcba9876543210, la a1, ddat; li t0, 0xfedcba9876543210; fmv.d.x fa0, t0; fsd fa0, 3(a1); fld fa3, 3(a1))
  TEST_CASE(91, a0, 0xfedcba9876543210, la a1, ddat; ld a0, 3(a1))
  PASS

  .data
  .align 4
ddat: .dword 0x0123456789abcdef, 0, 0
