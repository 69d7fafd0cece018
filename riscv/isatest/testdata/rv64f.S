/* RV64F: arithmetic under every rounding mode with exact fflags, overflow
 * and underflow, NaN generation and canonical NaNs, NaN-boxing of inputs
 * and results, FMA fusion, sign injection, fmin/fmax, compares, fclass,
 * conversions with saturation, moves, loads/stores, fcsr and mstatus.FS. */
#include "test.h"

#define ONE    0x3f800000
#define TWO    0x40000000
#define THREE  0x40400000
#define HALF   0x3f000000
#define MONE   0xbf800000
#define MZERO  0x80000000
#define INF    0x7f800000
#define MINF   0xff800000
#define QNAN   0x7fc00000
#define QNANP  0x7fc12345
#define SNAN   0x7f800001
#define MAXF   0x7f7fffff
#define MINN   0x00800000
#define MINSUB 0x00000001
#define E24    0x33800000
#define ME24   0xb3800000

#define S_OP1_RM(n, inst, rm, flags, result, a) \
  TEST_FP(n, flags, BOX(result), LD_S(fa0, a); inst fa3, fa0, rm)
#define S_OP3(n, inst, flags, result, a, b, c) \
  TEST_FP(n, flags, BOX(result), LD_S(fa0, a); LD_S(fa1, b); LD_S(fa2, c); inst fa3, fa0, fa1, fa2)
#define S_CMP(n, inst, flags, result, a, b) \
  TEST_FP_INT(n, flags, result, LD_S(fa0, a); LD_S(fa1, b); inst a0, fa0, fa1)
#define S_CLASS(n, result, a) \
  TEST_FP_INT(n, 0, result, LD_S(fa0, a); fclass.s a0, fa0)
#define S_TOINT(n, inst, rm, flags, result, a) \
  TEST_FP_INT(n, flags, result, LD_S(fa0, a); inst a0, fa0, rm)
#define S_FROMINT(n, inst, rm, flags, result, v) \
  TEST_FP(n, flags, BOX(result), li a0, v; inst fa3, a0, rm)
/* An unboxed single: a double register value whose upper half is not ones. */
#define LD_UNBOXED(freg) li t0, 0x000000003f800000; fmv.d.x freg, t0

  .text
  .globl test_main
test_main:
  S_OP2(1, fadd.s, 0, THREE, ONE, TWO)
  /* 1 + 2^-24 is a tie between 1 and 1+ulp */
  S_OP2_RM(2, fadd.s, rne, FF_NX, ONE, ONE, E24)
  S_OP2_RM(3, fadd.s, rtz, FF_NX, ONE, ONE, E24)
  S_OP2_RM(4, fadd.s, rdn, FF_NX, ONE, ONE, E24)
  S_OP2_RM(5, fadd.s, rup, FF_NX, 0x3f800001, ONE, E24)
  S_OP2_RM(6, fadd.s, rmm, FF_NX, 0x3f800001, ONE, E24)
  S_OP2_RM(7, fadd.s, rdn, FF_NX, 0xbf800001, MONE, ME24)
  S_OP2_RM(8, fadd.s, rup, FF_NX, MONE, MONE, ME24)
  S_OP2_RM(9, fadd.s, rtz, FF_NX, MONE, MONE, ME24)
  S_OP2_RM(10, fadd.s, rmm, FF_NX, 0xbf800001, MONE, ME24)
  /* dynamic rounding mode from frm */
  TEST_FP(11, FF_NX, BOX(0x3f800001), fsrmi 3; LD_S(fa0, ONE); LD_S(fa1, E24); fadd.s fa3, fa0, fa1, dyn; fsrmi 0)
  TEST_FP(12, FF_NX, BOX(ONE), li t1, 0x20; csrw fcsr, t1; LD_S(fa0, ONE); LD_S(fa1, 0x33c00000); fadd.s fa3, fa0, fa1; fsrmi 0)
  S_OP2_RM(13, fsub.s, rne, 0, 0, ONE, ONE)
  /* x - x is -0 when rounding down */
  S_OP2_RM(14, fsub.s, rdn, 0, MZERO, ONE, ONE)
  S_OP2(15, fmul.s, 0, 0x40c00000, TWO, THREE)
  S_OP2_RM(16, fmul.s, rne, FF_OF | FF_NX, INF, MAXF, TWO)
  S_OP2_RM(17, fmul.s, rtz, FF_OF | FF_NX, MAXF, MAXF, TWO)
  S_OP2_RM(18, fmul.s, rdn, FF_OF | FF_NX, MAXF, MAXF, TWO)
  S_OP2_RM(19, fmul.s, rup, FF_OF | FF_NX, INF, MAXF, TWO)
  S_OP2_RM(20, fmul.s, rne, FF_UF | FF_NX, 0, MINSUB, HALF)
  S_OP2_RM(21, fmul.s, rne, 0, 0x00400000, MINN, HALF)
  S_OP2_RM(22, fmul.s, rne, FF_UF | FF_NX, 2, 3, HALF)
  S_OP2_RM(23, fmul.s, rup, FF_UF | FF_NX, 1, MINSUB, HALF)
  S_OP2(24, fdiv.s, FF_DZ, INF, ONE, 0)
  S_OP2(25, fdiv.s, FF_NV, QNAN, 0, 0)
  S_OP2(26, fdiv.s, FF_NX, 0x3eaaaaab, ONE, THREE)
  S_OP2(27, fdiv.s, FF_DZ, MINF, MONE, 0)
  S_OP2(28, fdiv.s, FF_NV, QNAN, INF, INF)
  S_OP1_RM(29, fsqrt.s, rne, 0, TWO, 0x40800000)
  S_OP1_RM(30, fsqrt.s, rne, FF_NX, 0x3fb504f3, TWO)
  S_OP1_RM(31, fsqrt.s, rne, FF_NV, QNAN, MONE)
  S_OP1_RM(32, fsqrt.s, rne, 0, MZERO, MZERO)
  S_OP1_RM(33, fsqrt.s, rup, FF_NX, 0x3fb504f4, TWO)
  /* NaN results are canonical; only signalling NaNs raise NV */
  S_OP2(34, fadd.s, 0, QNAN, QNANP, ONE)
  S_OP2(35, fadd.s, FF_NV, QNAN, SNAN, ONE)
  S_OP2(36, fadd.s, FF_NV, QNAN, INF, MINF)
  S_OP2(37, fmul.s, FF_NV, QNAN, 0, INF)
  /* fused multiply-add */
  S_OP3(38, fmadd.s, 0, 0x40e00000, TWO, THREE, ONE)
  S_OP3(39, fmadd.s, 0, 0xa8800000, 0x3f800001, 0x3f7ffffe, MONE)
  S_OP3(40, fmsub.s, 0, 0x40a00000, TWO, THREE, ONE)
  S_OP3(41, fnmsub.s, 0, 0xc0a00000, TWO, THREE, ONE)
  S_OP3(42, fnmadd.s, 0, 0xc0e00000, TWO, THREE, ONE)
  S_OP3(43, fmadd.s, FF_NV, QNAN, INF, 0, QNANP)
  S_OP3(44, fmadd.s, FF_OF | FF_NX, INF, MAXF, TWO, ONE)
  /* sign injection */
  S_OP2(45, fsgnj.s, 0, MONE, ONE, 0xc0000000)
  S_OP2(46, fsgnjn.s, 0, ONE, ONE, 0xc0000000)
  S_OP2(47, fsgnjx.s, 0, ONE, MONE, 0xc0000000)
  S_OP2(48, fsgnjx.s, 0, MONE, MONE, TWO)
  S_OP2(49, fsgnj.s, 0, SNAN | 0x80000000, SNAN, MONE)
  /* an unboxed input reads as the canonical NaN */
  TEST_FP(50, 0, BOX(0xffc00000), LD_UNBOXED(fa0); LD_S(fa1, MONE); fsgnj.s fa3, fa0, fa1)
  TEST_FP(51, 0, BOX(MONE), LD_S(fa0, ONE); LD_UNBOXED(fa1); fsgnjn.s fa3, fa0, fa1)
  TEST_FP(52, 0, BOX(QNAN), LD_UNBOXED(fa0); LD_S(fa1, ONE); fadd.s fa3, fa0, fa1)
  TEST_FP_INT(53, 0, 0x200, LD_UNBOXED(fa0); fclass.s a0, fa0)
  /* fmin/fmax */
  S_OP2(54, fmin.s, 0, ONE, ONE, TWO)
  S_OP2(55, fmax.s, 0, TWO, ONE, TWO)
  S_OP2(56, fmin.s, 0, MZERO, 0, MZERO)
  S_OP2(57, fmax.s, 0, 0, MZERO, 0)
  S_OP2(58, fmax.s, 0, 0, 0, MZERO)
  S_OP2(59, fmin.s, 0, ONE, QNANP, ONE)
  S_OP2(60, fmin.s, FF_NV, ONE, SNAN, ONE)
  S_OP2(61, fmax.s, 0, QNAN, QNANP, QNANP)
  S_OP2(62, fmax.s, FF_NV, QNAN, SNAN, SNAN)
  S_OP2(63, fmax.s, FF_NV, ONE, ONE, SNAN)
  /* compares: only feq is quiet */
  S_CMP(64, feq.s, 0, 1, ONE, ONE)
  S_CMP(65, feq.s, 0, 0, QNAN, ONE)
  S_CMP(66, feq.s, FF_NV, 0, SNAN, ONE)
  S_CMP(67, flt.s, FF_NV, 0, QNAN, ONE)
  S_CMP(68, fle.s, FF_NV, 0, ONE, QNAN)
  S_CMP(69, flt.s, 0, 0, MZERO, 0)
  S_CMP(70, fle.s, 0, 1, MZERO, 0)
  S_CMP(71, flt.s, 0, 1, ONE, TWO)
  S_CMP(72, feq.s, 0, 1, MZERO, 0)
  S_CMP(73, fle.s, 0, 0, TWO, ONE)
  /* fclass */
  S_CLASS(74, 0x001, MINF)
  S_CLASS(75, 0x002, MONE)
  S_CLASS(76, 0x004, 0x80000001)
  S_CLASS(77, 0x008, MZERO)
  S_CLASS(78, 0x010, 0)
  S_CLASS(79, 0x020, MINSUB)
  S_CLASS(80, 0x040, ONE)
  S_CLASS(81, 0x080, INF)
  S_CLASS(82, 0x100, SNAN)
  S_CLASS(83, 0x200, QNAN)
  /* float to int, every rounding mode */
  S_TOINT(84, fcvt.w.s, rne, FF_NX, 2, 0x3fc00000)
  S_TOINT(85, fcvt.w.s, rtz, FF_NX, 1, 0x3fc00000)
  S_TOINT(86, fcvt.w.s, rdn, FF_NX, 1, 0x3fc00000)
  S_TOINT(87, fcvt.w.s, rup, FF_NX, 2, 0x3fc00000)
  S_TOINT(88, fcvt.w.s, rmm, FF_NX, 2, 0x3fc00000)
  S_TOINT(89, fcvt.w.s, rne, FF_NX, -2, 0xbfc00000)
  S_TOINT(90, fcvt.w.s, rtz, FF_NX, -1, 0xbfc00000)
  S_TOINT(91, fcvt.w.s, rdn, FF_NX, -2, 0xbfc00000)
  S_TOINT(92, fcvt.w.s, rup, FF_NX, -1, 0xbfc00000)
  S_TOINT(93, fcvt.w.s, rmm, FF_NX, -2, 0xbfc00000)
  S_TOINT(94, fcvt.w.s, rne, FF_NX, 2, 0x40200000)
  S_TOINT(95, fcvt.w.s, rmm, FF_NX, 3, 0x40200000)
  /* saturation */
  S_TOINT(96, fcvt.w.s, rtz, FF_NV, 0x7fffffff, 0x4f32d05e)
  S_TOINT(97, fcvt.w.s, rtz, FF_NV, 0xffffffff80000000, 0xcf32d05e)
  S_TOINT(98, fcvt.w.s, rtz, FF_NV, 0x7fffffff, QNAN)
  S_TOINT(99, fcvt.w.s, rtz, FF_NV, 0x7fffffff, INF)
  S_TOINT(100, fcvt.w.s, rtz, FF_NV, 0xffffffff80000000, MINF)
  S_TOINT(101, fcvt.w.s, rtz, 0, 0xffffffff80000000, 0xcf000000)
  S_TOINT(102, fcvt.wu.s, rtz, FF_NV, 0, MONE)
  S_TOINT(103, fcvt.wu.s, rtz, FF_NX, 0, 0xbf000000)
  S_TOINT(104, fcvt.wu.s, rtz, FF_NV, 0xffffffffffffffff, QNAN)
  S_TOINT(105, fcvt.wu.s, rtz, FF_NV, 0xffffffffffffffff, 0x4f9502f9)
  S_TOINT(106, fcvt.wu.s, rtz, 0, 0xffffffffb2d05e00, 0x4f32d05e)
  S_TOINT(107, fcvt.l.s, rtz, FF_NV, 0x7fffffffffffffff, QNAN)
  S_TOINT(108, fcvt.l.s, rtz, FF_NV, 0x8000000000000000, MINF)
  S_TOINT(109, fcvt.l.s, rtz, FF_NX, -1, 0xbfc00000)
  S_TOINT(110, fcvt.l.s, rtz, 0, 0x4000000000000000, 0x5e800000)
  S_TOINT(111, fcvt.lu.s, rtz, FF_NV, 0, MONE)
  S_TOINT(112, fcvt.lu.s, rtz, FF_NV, 0xffffffffffffffff, QNAN)
  S_TOINT(113, fcvt.lu.s, rtz, 0, 0x8000000000000000, 0x5f000000)
  S_TOINT(114, fcvt.lu.s, rtz, FF_NV, 0xffffffffffffffff, 0x5f800000)
  S_TOINT(115, fcvt.l.s, rtz, FF_NV, 0x7fffffffffffffff, 0x5f000000)
  /* int to float */
  S_FROMINT(116, fcvt.s.w, rne, 0, MONE, -1)
  S_FROMINT(117, fcvt.s.w, rne, 0, ONE, 0x100000001)
  S_FROMINT(118, fcvt.s.wu, rne, FF_NX, 0x4f800000, 0xffffffff)
  S_FROMINT(119, fcvt.s.w, rne, FF_NX, 0x4f000000, 0x7fffffff)
  S_FROMINT(120, fcvt.s.w, rtz, FF_NX, 0x4effffff, 0x7fffffff)
  S_FROMINT(121, fcvt.s.l, rne, 0, 0xdf000000, 0x8000000000000000)
  S_FROMINT(122, fcvt.s.lu, rne, FF_NX, 0x5f800000, 0xffffffffffffffff)
  S_FROMINT(123, fcvt.s.l, rne, FF_NX, 0x4b800000, 0x1000001)
  S_FROMINT(124, fcvt.s.l, rup, FF_NX, 0x4b800001, 0x1000001)
  S_FROMINT(125, fcvt.s.w, rne, 0, 0, 0)
  S_FROMINT(126, fcvt.s.wu, rne, 0, 0x4f000000, 0xffffffff80000000)
  /* moves: fmv.x.w sign-extends the low word, fmv.w.x boxes */
  TEST_FP_INT(127, 0, 0xffffffff80000000, LD_S(fa0, MZERO); fmv.x.w a0, fa0)
  TEST_FP_INT(128, 0, 0xffffffff9abcdef0, li t0, 0x123456789abcdef0; fmv.d.x fa0, t0; fmv.x.w a0, fa0)
  TEST_FP(129, 0, 0xffffffff80000000, li t0, 0x1234567880000000; fmv.w.x fa3, t0)
  /* loads box, stores write the low word unchanged */
  TEST_FP(130, 0, BOX(0x40490fdb), la a1, fdat; flw fa3, 0(a1))
  TEST_FP_INT(131, 0, 0x55667788, la a1, fdat; li t0, 0x1122334455667788; fmv.d.x fa0, t0; fsw fa0, 8(a1); lwu a0, 8(a1))
  TEST_FP(132, 0, BOX(0x66778800), la a1, fdat; li t0, 0x40490fdb; sw t0, 0(a1); flw fa3, 7(a1))
  TEST_FP_INT(133, 0, 0x55667788, la a1, fdat; flw fa0, 8(a1); fsw fa0, 1(a1); lwu a0, 1(a1))
  /* fcsr layout: frm in 7:5, fflags in 4:0, upper bits zero */
  TEST_CASE(134, a0, 0xff, li t0, 0xfff; csrw fcsr, t0; csrr a0, fcsr)
  TEST_CASE(135, a0, 7, csrr a0, frm)
  TEST_CASE(136, a0, 0x1f, csrr a0, fflags)
  TEST_CASE(137, a0, 0x48, csrwi fcsr, 0; csrwi frm, 2; csrwi fflags, 8; csrr a0, fcsr)
  TEST_CASE(138, a0, 0x09, csrwi fcsr, 0; LD_S(fa0, ONE); LD_S(fa1, THREE); fdiv.s fa3, fa0, fa1; LD_S(fa1, 0); fdiv.s fa3, fa0, fa1; csrr a0, fflags)
  csrwi fcsr, 0
  /* an FP register write makes FS dirty (and SD) */
  TEST_CASE(139, a0, 0x8000000000006000, li t0, MSTATUS_FS; csrc mstatus, t0; li t0, 0x2000; csrs mstatus, t0; LD_S(fa0, ONE); csrr a0, mstatus; li t0, 0x8000000000006000; and a0, a0, t0)
  /* FS = Off: FP instructions and FP CSRs are illegal */
  li t0, MSTATUS_FS
  csrc mstatus, t0
  TEST_TRAP(140, CAUSE_ILLEGAL, fadd.s fa3, fa0, fa1)
  TEST_TRAP(141, CAUSE_ILLEGAL, la a1, fdat; flw fa3, 0(a1))
  TEST_TRAP(142, CAUSE_ILLEGAL, csrr a0, fcsr)
  TEST_TRAP(143, CAUSE_ILLEGAL, fmv.x.w a0, fa0)
  li t0, MSTATUS_FS
  csrs mstatus, t0
  /* reserved rounding modes: frm 5 with dyn, and static rm 5 */
  TEST_TRAP(144, CAUSE_ILLEGAL, csrwi frm, 5; fadd.s fa3, fa0, fa1, dyn)
  TEST_FP(145, 0, BOX(THREE), LD_S(fa0, ONE); LD_S(fa1, TWO); fadd.s fa3, fa0, fa1, rne)
  TEST_TRAP(146, CAUSE_ILLEGAL, .word 0x00b556d3)
  TRAPINFO(t0, TI_TVAL); FAIL_IF_NE(t0, 0x00b556d3)
  csrwi fcsr, 0
  PASS

  .data
  .align 4
fdat: .word 0x40490fdb, 0, 0, 0
