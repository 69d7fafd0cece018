/* RV64C: every compressed instruction, reserved encodings (illegal with
 * the 16-bit pattern in mtval), 32-bit instructions on 2-byte boundaries
 * and one straddling a page boundary. */
#include "test.h"
  .option rvc

  .text
  .globl test_main
test_main:
  mv s11, sp
  TEST_CASE(1, a0, 0xffffffffffffffe0, c.li a0, -32)
  TEST_CASE(2, a0, 31, c.li a0, 31)
  TEST_CASE(3, a0, -1, c.li a0, 0; c.addi a0, -1)
  TEST_CASE(4, a0, 0x1e, c.li a0, -1; c.addi a0, 31)
  TEST_CASE(5, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addiw a0, 1)
  TEST_CASE(6, a0, 0xffffffff80000000, li a0, 0x180000000; c.addiw a0, 0)
  TEST_CASE(7, a0, 0xfffffffffffe0000, c.lui a0, 0xfffe0)
  TEST_CASE(8, a0, 0x1f000, c.lui a0, 31)
  TEST_CASE(9, a0, 0x1000, c.lui a0, 1)
  TEST_CASE(10, a0, 496, la sp, cbuf; c.addi16sp sp, 496; la a0, cbuf; sub a0, sp, a0)
  TEST_CASE(11, a0, 496, la sp, cbuf + 512; c.addi16sp sp, -512; c.addi16sp sp, 496; la a0, cbuf; sub a0, sp, a0)
  TEST_CASE(12, a0, 1020, la sp, cbuf; c.addi4spn a0, sp, 1020; sub a0, a0, sp)
  TEST_CASE(13, a0, 4, c.addi4spn a0, sp, 4; sub a0, a0, sp)
  /* shifts and logic immediates */
  TEST_CASE(14, a0, 0x8000000000000000, c.li a0, 1; c.slli a0, 63)
  TEST_CASE(15, a0, 1, c.srli a0, 63)
  TEST_CASE(16, a0, -1, c.slli a0, 63; c.srai a0, 63)
  TEST_CASE(17, a0, 0x7fffffffffffffff, c.srli a0, 1)
  TEST_CASE(18, a0, 0x3ffffffffffffff8, c.srai a0, 1; c.andi a0, -8)
  TEST_CASE(19, a0, 0x18, c.andi a0, 31)
  TEST_CASE(20, a0, 0xff00000000000000, li a0, 0xff00000000000000; c.srai a0, 4; c.andi a0, -1; c.slli a0, 4)
  /* register-register */
  TEST_CASE(21, a0, 0x1234, li a1, 0x1234; c.mv a0, a1)
  TEST_CASE(22, a0, 0x2468, c.add a0, a1)
  TEST_CASE(23, a0, 0x1234, c.sub a0, a1)
  TEST_CASE(24, a0, 0x0ff0, li a1, 0x0f0f; li a0, 0x00ff; c.xor a0, a1)
  TEST_CASE(25, a0, 0x0fff, li a0, 0x00ff; c.or a0, a1)
  TEST_CASE(26, a0, 0x000f, li a0, 0x00ff; c.and a0, a1)
  TEST_CASE(27, a0, -1, li a0, 0x100000000; li a1, 1; c.subw a0, a1)
  TEST_CASE(28, a0, 0xffffffff80000000, li a0, 0x7fffffff; c.addw a0, a1)
  TEST_CASE(29, s1, 0x55, li s1, 0x50; li s0, 5; c.add s1, s0)
  TEST_CASE(30, t3, 0x77, li t3, 0x70; li t4, 7; c.add t3, t4)
  /* loads and stores */
  TEST_CASE(31, a0, 0xffffffff89abcdef, la a1, cbuf; li a2, 0x0123456789abcdef; sd a2, 120(a1); c.lw a0, 120(a1))
  TEST_CASE(32, a0, 0x0123456789abcdef, c.ld a0, 120(a1))
  TEST_CASE(33, a0, 0x00000000deadbeef, li a2, 0xdeadbeef; sd zero, 124(a1); c.sw a2, 124(a1); ld a0, 124(a1))
  TEST_CASE(34, a0, 0x1122334455667788, li a2, 0x1122334455667788; c.sd a2, 248(a1); ld a0, 248(a1))
  TEST_CASE(35, a0, 0x1122334455667788, c.fld fa0, 248(a1); fmv.x.d a0, fa0)
  TEST_CASE(36, a0, 0x1122334455667788, c.fsd fa0, 0(a1); ld a0, 0(a1))
  TEST_CASE(37, a0, 0xffffffffcafef00d, la sp, cbuf; li a2, 0xcafef00d; sw a2, 252(sp); c.lwsp a0, 252(sp))
  TEST_CASE(38, a0, 0x0123456789abcdef, li a2, 0x0123456789abcdef; sd a2, 504(sp); c.ldsp a0, 504(sp))
  TEST_CASE(39, a0, 0x12345678, li a2, 0x12345678; c.swsp a2, 200(sp); lwu a0, 200(sp))
  TEST_CASE(40, a0, 0x0fedcba987654321, li a2, 0x0fedcba987654321; c.sdsp a2, 496(sp); ld a0, 496(sp))
  TEST_CASE(41, a0, 0x0fedcba987654321, c.fldsp fa1, 496(sp); fmv.x.d a0, fa1)
  TEST_CASE(42, a0, 0x0fedcba987654321, c.fsdsp fa1, 8(sp); ld a0, 8(sp))
  mv sp, s11
  /* control transfer */
  TEST_CASE(43, a0, 1, c.li a0, 0; c.j 1f; c.li a0, 2; 1: c.addi a0, 1)
  TEST_CASE(44, a0, 3, c.li a0, 0; c.j 2f; 1: c.addi a0, 1; c.j 3f; 2: c.addi a0, 2; c.j 1b; 3:)
  TEST_CASE(45, a0, 1, c.li a0, 0; c.beqz a0, 1f; c.li a0, 5; 1: c.addi a0, 1)
  TEST_CASE(46, a0, 6, c.li a0, 4; c.beqz a0, 1f; c.addi a0, 1; 1: c.addi a0, 1)
  TEST_CASE(47, a0, 2, c.li a0, 1; c.bnez a0, 1f; c.li a0, 5; 1: c.addi a0, 1)
  TEST_CASE(48, a0, 1, c.li a0, 0; c.bnez a0, 1f; c.addi a0, 1; 1:)
  TEST_CASE(49, a0, 7, c.li a0, 0; la a1, 1f; c.jr a1; c.li a0, 1; 1: c.addi a0, 7)
  TEST_CASE(50, a0, 0, la a1, 1f; 2: c.jalr a1; j fail; 1: la a0, 2b; addi a0, a0, 2; sub a0, a0, ra)
  /* c.jalr with rs1 == ra links after reading the target */
  TEST_CASE(51, a0, 0, la ra, 1f; 2: c.jalr ra; j fail; 1: la a0, 2b; addi a0, a0, 2; sub a0, a0, ra)
  TEST_CASE(52, a0, 9, c.li a0, 9; c.nop; c.nop)
  /* 32-bit instructions at 2-byte aligned addresses */
  TEST_CASE(53, a0, 0x123, c.nop; addi a0, zero, 0x123; c.nop; addi a0, a0, 0)
  /* a 32-bit instruction straddling a page boundary */
  TEST_CASE(54, a0, 0x456, li a0, 0; jal ra, straddle)
  /* c.ebreak */
  TEST_TRAP(55, CAUSE_BREAKPOINT, 1: c.ebreak)
  TRAPINFO(t0, TI_EPC); la t1, 1b; bne t0, t1, fail
  TRAPINFO(t0, TI_TVAL); beqz t0, 2f; bne t0, t1, fail; 2:
  /* reserved and illegal 16-bit encodings */
  TEST_TRAP(56, CAUSE_ILLEGAL, .half 0x0000)
  TRAPINFO(t0, TI_TVAL); FAIL_IF_NE(t0, 0)
  TEST_TRAP(57, CAUSE_ILLEGAL, .half 0x6101)
  TRAPINFO(t0, TI_TVAL); FAIL_IF_NE(t0, 0x6101)
  TEST_TRAP(58, CAUSE_ILLEGAL, .half 0x6501)
  TRAPINFO(t0, TI_TVAL); FAIL_IF_NE(t0, 0x6501)
  TEST_TRAP(59, CAUSE_ILLEGAL, .half 0x4002)
  TEST_TRAP(60, CAUSE_ILLEGAL, .half 0x8002)
  TEST_TRAP(61, CAUSE_ILLEGAL, .half 0x6002)
  TRAPINFO(t0, TI_TVAL); FAIL_IF_NE(t0, 0x6002)
  /* c.addiw with rd = x0 is reserved on RV64 */
  TEST_TRAP(62, CAUSE_ILLEGAL, .half 0x2001)
  PASS

  /* addi a0, zero, 0x456 occupies the last 2 bytes of one page and the
   * first 2 of the next */
  .option push
  .option norvc
  .balign 4096
  .space 4096 - 2
straddle:
  addi a0, zero, 0x456
  ret
  .option pop

  .data
  .align 12
cbuf: .fill 1024, 1, 0
