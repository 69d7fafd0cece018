/* RV64A: LR/SC success and failure, every AMO in .w and .d form (old value
 * returned sign-extended, memory updated), misaligned atomics trap. */
#include "test.h"

#define TEST_AMO(n, inst, init, operand, rd_want, mem_want) \
test_ ## n: li TESTNUM, n; la a1, amodat; li a2, init; sd a2, 0(a1); \
  li a3, operand; inst a4, a3, (a1); \
  FAIL_IF_NE(a4, rd_want); ld a5, 0(a1); FAIL_IF_NE(a5, mem_want)

  .text
  .globl test_main
test_main:
  /* LR/SC pairs */
  TEST_CASE(1, a5, 0, la a1, amodat; li a2, 0x1234567880000000; sd a2, 0(a1); li a3, 42; lr.w a4, (a1); sc.w a5, a3, (a1))
  FAIL_IF_NE(a4, 0xffffffff80000000)
  TEST_CASE(2, a5, 0x123456780000002a, la a1, amodat; ld a5, 0(a1))
  /* the reservation is gone after a successful SC */
  TEST_CASE(3, a6, 0x123456780000002a, la a1, amodat; li a3, 7; sc.w a5, a3, (a1); ld a6, 0(a1))
  FAIL_IF_EQ(a5, 0)
  TEST_CASE(4, a5, 0, la a1, amodat; li a3, 0x1122334455667788; lr.d a4, (a1); sc.d a5, a3, (a1))
  FAIL_IF_NE(a4, 0x123456780000002a)
  TEST_CASE(5, a5, 0x1122334455667788, la a1, amodat; ld a5, 0(a1))
  /* SC to an address outside the reservation fails and does not write */
  TEST_CASE(6, a6, 0, la a1, amodat; sd zero, 64(a1); li a3, 9; lr.d a4, (a1); addi a2, a1, 64; sc.d a5, a3, (a2); ld a6, 64(a1))
  FAIL_IF_EQ(a5, 0)
  /* SC with no LR at all fails */
  TEST_CASE(7, a6, 0x1122334455667788, la a1, amodat; li a3, 5; sc.d a5, a3, (a1); ld a6, 0(a1))
  FAIL_IF_EQ(a5, 0)
  /* ordering bits are accepted */
  TEST_CASE(8, a5, 0, la a1, amodat; li a3, 77; lr.d.aq a4, (a1); sc.d.rl a5, a3, (a1))
  TEST_CASE(9, a5, 0, la a1, amodat; li a3, 78; lr.w.aqrl a4, (a1); sc.w.aqrl a5, a3, (a1))
  FAIL_IF_NE(a4, 77)

  /* word AMOs: only the low word of memory and rs2 take part */
  TEST_AMO(10, amoswap.w, 0x12345678aaaaaaaa, 0xffff000000005555, 0xffffffffaaaaaaaa, 0x1234567800005555)
  TEST_AMO(11, amoadd.w, 0x1234567880000001, 0xffffffff, 0xffffffff80000001, 0x1234567880000000)
  TEST_AMO(12, amoxor.w, 0x1234567800ff00ff, 0x0f0f0f0f, 0x00ff00ff, 0x123456780ff00ff0)
  TEST_AMO(13, amoand.w, 0x12345678ff00ff00, 0x0ff00ff0, 0xffffffffff00ff00, 0x123456780f000f00)
  TEST_AMO(14, amoor.w, 0x1234567800000f0f, 0xf0000000, 0xf0f, 0x12345678f0000f0f)
  TEST_AMO(15, amomin.w, 0x1234567800000001, 0x00000001ffffffff, 1, 0x12345678ffffffff)
  TEST_AMO(16, amomax.w, 0x1234567880000000, 5, 0xffffffff80000000, 0x1234567800000005)
  TEST_AMO(17, amominu.w, 0x1234567880000000, 5, 0xffffffff80000000, 0x1234567800000005)
  TEST_AMO(18, amomaxu.w, 0x1234567800000001, 0xffffffff, 1, 0x12345678ffffffff)
  TEST_AMO(19, amomin.w, 0x12345678fffffffe, 0x7fffffff, 0xfffffffffffffffe, 0x12345678fffffffe)
  TEST_AMO(20, amomaxu.w, 0x12345678fffffffe, 0x7fffffff, 0xfffffffffffffffe, 0x12345678fffffffe)
  /* doubleword AMOs */
  TEST_AMO(21, amoswap.d, 0x1111, 0x2222, 0x1111, 0x2222)
  TEST_AMO(22, amoadd.d, 0xffffffffffffffff, 2, 0xffffffffffffffff, 1)
  TEST_AMO(23, amoxor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xf0f0f0f0f0f0f0f0)
  TEST_AMO(24, amoand.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0x0f000f000f000f00)
  TEST_AMO(25, amoor.d, 0xff00ff00ff00ff00, 0x0ff00ff00ff00ff0, 0xff00ff00ff00ff00, 0xfff0fff0fff0fff0)
  TEST_AMO(26, amomin.d, 1, -1, 1, -1)
  TEST_AMO(27, amomax.d, -5, 3, -5, 3)
  TEST_AMO(28, amominu.d, 1, -1, 1, 1)
  TEST_AMO(29, amomaxu.d, 1, -1, 1, -1)
  TEST_AMO(30, amomax.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_AMO(31, amominu.d, 0x8000000000000000, 0x7fffffffffffffff, 0x8000000000000000, 0x7fffffffffffffff)
  TEST_AMO(32, amoadd.d.aqrl, 40, 2, 40, 42)
  /* rd == rs2 and rd == x0 */
  TEST_CASE(33, a3, 0x55, la a1, amodat; li a2, 0x55; sd a2, 0(a1); li a3, 0x66; amoswap.d a3, a3, (a1))
  TEST_CASE(34, a5, 0x66, ld a5, 0(a1))
  TEST_CASE(35, a5, 0x67, li a3, 1; amoadd.d x0, a3, (a1); ld a5, 0(a1))

  /* misaligned atomics trap; mtval is the address */
  TEST_TRAP_AMO(36, CAUSE_MISALIGNED_STORE, la a1, amodat + 4; amoadd.d a4, a3, (a1))
  TRAPINFO(t0, TI_TVAL); la t1, amodat + 4; bne t0, t1, fail
  TEST_TRAP_AMO(37, CAUSE_MISALIGNED_STORE, la a1, amodat + 2; amoswap.w a4, a3, (a1))
  TEST_TRAP(38, CAUSE_MISALIGNED_LOAD, la a1, amodat + 1; lr.w a4, (a1))
  TRAPINFO(t0, TI_TVAL); la t1, amodat + 1; bne t0, t1, fail
  IF_QUIRK(QUIRK_SC_NO_ALIGN_CHECK, 1f)
  TEST_TRAP_AMO(39, CAUSE_MISALIGNED_STORE, la a1, amodat + 4; sc.d a4, a3, (a1))
1:
  /* the trapped AMO did not write */
  TEST_CASE(40, a5, 0x67, la a1, amodat; ld a5, 0(a1))
  PASS

  .data
  .align 6
amodat: .fill 128, 1, 0
