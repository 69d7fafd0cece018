/* RV64I: ALU, shifts with edge amounts, W forms, LUI/AUIPC, loads and
 * stores of every width (aligned, misaligned, across a page), branches,
 * JAL/JALR (odd targets, rd == rs1), x0, FENCE.I on modified code. */
#include "test.h"

#define TEST_BR_TAKEN(n, inst, v1, v2) \
test_ ## n: li TESTNUM, n; li a1, v1; li a2, v2; inst a1, a2, 1f; j fail; 1:
#define TEST_BR_NOT(n, inst, v1, v2) \
test_ ## n: li TESTNUM, n; li a1, v1; li a2, v2; inst a1, a2, fail;
#define TEST_LD(n, inst, result, off) \
  TEST_CASE(n, a4, result, la a1, tdat; inst a4, off(a1))

  .text
  .globl test_main
test_main:
  /* add/sub/addi */
  TEST_RR(1, add, 3, 1, 2)
  TEST_RR(2, add, 0x8000000000000000, 0x7fffffffffffffff, 1)
  TEST_RR(3, add, 0, -1, 1)
  TEST_RR(4, sub, -1, 0, 1)
  TEST_RR(5, sub, 0x7fffffffffffffff, 0x8000000000000000, 1)
  TEST_IMM(6, addi, 0x7ffffffffffff800, 0x7fffffffffffffff, -2047)
  TEST_IMM(7, addi, 0xfffffffffffff800, 0, -2048)
  TEST_IMM(8, addi, 0x80000000000007fe, 0x7fffffffffffffff, 2047)
  TEST_RR_SRC1(9, add, 24, 13, 11)
  /* W forms sign-extend their 32-bit result and ignore upper source bits */
  TEST_RR(10, addw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_RR(11, addw, 0, 0xffffffff, 1)
  TEST_RR(12, addw, 0, 0x100000000, 0x100000000)
  TEST_RR(13, subw, 0xffffffffffffffff, 0, 1)
  TEST_RR(14, subw, 0x7fffffff, 0xffffffff80000000, 1)
  TEST_IMM(15, addiw, 0xffffffff80000000, 0x7fffffff, 1)
  TEST_IMM(16, addiw, 0xffffffff80000000, 0x1234567880000000, 0)
  TEST_IMM(17, addiw, 0x7ffff7ff, 0x7fffffff, -2048)
  /* shifts: amounts use the low 6 (5 for W) bits */
  TEST_RR(18, sll, 0x8000000000000000, 1, 63)
  TEST_RR(19, sll, 1, 1, 64)
  TEST_RR(20, sll, 2, 1, 65)
  TEST_RR(21, srl, 1, 0x8000000000000000, 63)
  TEST_RR(22, srl, 0x8000000000000000, 0x8000000000000000, 0xffffffffffffffc0)
  TEST_RR(23, sra, 0xffffffffffffffff, 0x8000000000000000, 63)
  TEST_RR(24, sra, 0xc000000000000000, 0x8000000000000000, 1)
  TEST_RR(25, sra, 0x3fffffffffffffff, 0x7fffffffffffffff, 1)
  TEST_IMM(26, slli, 0x8000000000000000, 1, 63)
  TEST_IMM(27, slli, 0x123456789abcdef0, 0x123456789abcdef, 4)
  TEST_IMM(28, srli, 1, 0x8000000000000000, 63)
  TEST_IMM(29, srli, 0x0123456789abcdef, 0x123456789abcdef0, 4)
  TEST_IMM(30, srai, 0xffffffffffffffff, 0x8000000000000000, 63)
  TEST_IMM(31, srai, 0xf8000000, 0xf80000000, 4)
  TEST_IMM(32, srai, 0x8000000000000000, 0x8000000000000000, 0)
  TEST_RR(33, sllw, 0xffffffff80000000, 1, 31)
  TEST_RR(34, sllw, 1, 1, 32)
  TEST_RR(35, sllw, 1, 0xffffffff00000001, 0)
  TEST_RR(36, srlw, 1, 0xffffffff80000000, 31)
  TEST_RR(37, srlw, 0xffffffff80000000, 0x80000000, 0)
  TEST_RR(38, srlw, 0x40000000, 0xffffffff80000000, 1)
  TEST_RR(39, srlw, 1, 0x1234567800000010, 36)
  TEST_RR(40, sraw, 0xffffffffffffffff, 0x80000000, 31)
  TEST_RR(41, sraw, 0xffffffffc0000000, 0x80000000, 1)
  TEST_RR(42, sraw, 0, 0x7fffffff00000000, 4)
  TEST_IMM(43, slliw, 0xffffffff80000000, 1, 31)
  TEST_IMM(44, slliw, 0x789abcd0, 0x123456789abcd, 4)
  TEST_IMM(45, srliw, 1, 0x80000000, 31)
  TEST_IMM(46, srliw, 0xffffffff80000000, 0xffffffff80000000, 0)
  TEST_IMM(47, sraiw, 0xffffffffffffffff, 0x80000000, 31)
  TEST_IMM(48, sraiw, 0x7ffffff, 0xffffffff7fffffff, 4)
  /* compares */
  TEST_RR(49, slt, 1, -1, 1)
  TEST_RR(50, slt, 0, 1, -1)
  TEST_RR(51, slt, 0, 5, 5)
  TEST_RR(52, sltu, 0, -1, 1)
  TEST_RR(53, sltu, 1, 1, -1)
  TEST_IMM(54, slti, 1, 0x8000000000000000, 0)
  TEST_IMM(55, slti, 0, 0, -1)
  TEST_IMM(56, sltiu, 1, 5, -1)
  TEST_IMM(57, sltiu, 1, 0, 1)
  TEST_IMM(58, sltiu, 0, 1, 1)
  /* logic, immediates sign-extended */
  TEST_RR(59, and, 0x0f000f00, 0xff00ff00, 0x0f0f0f0f)
  TEST_RR(60, or, 0xff0fff0f, 0xff00ff00, 0x0f0f0f0f)
  TEST_RR(61, xor, 0xf00ff00f, 0xff00ff00, 0x0f0f0f0f)
  TEST_IMM(62, andi, 0x123456789abcdef0, 0x123456789abcdef7, -16)
  TEST_IMM(63, ori, 0xfffffffffffff800, 0, -2048)
  TEST_IMM(64, xori, 0xedcba98765432100, 0x123456789abcdeff, -1)
  TEST_IMM(65, andi, 0x7ff, -1, 2047)
  /* lui / auipc */
  TEST_CASE(66, a4, 0xffffffff80000000, lui a4, 0x80000)
  TEST_CASE(67, a4, 0x7ffff000, lui a4, 0x7ffff)
  TEST_CASE(68, a4, 0, 1: auipc a4, 0; la a5, 1b; sub a4, a4, a5)
  TEST_CASE(69, a4, 0x1000, 1: auipc a4, 1; la a5, 1b; sub a4, a4, a5)
  TEST_CASE(70, a4, -0x80000000, 1: auipc a4, 0x80000; la a5, 1b; sub a4, a4, a5)
  /* x0 stays zero */
  TEST_CASE(71, a4, 0, addi x0, x0, 5; lui x0, 0x12345; la a1, tdat; ld x0, 0(a1); mv a4, x0)

  /* loads of every width, sign and zero extension */
  TEST_LD(72, lb, 0xffffffffffffff87, 0)
  TEST_LD(73, lbu, 0x87, 0)
  TEST_LD(74, lb, 0x7f, 8)
  TEST_LD(75, lh, 0xffffffffffff8687, 0)
  TEST_LD(76, lhu, 0x8687, 0)
  TEST_LD(77, lw, 0xffffffff84858687, 0)
  TEST_LD(78, lwu, 0x84858687, 0)
  TEST_LD(79, ld, 0x8081828384858687, 0)
  TEST_LD(80, lw, 0xffffffff80818283, 4)
  TEST_CASE(81, a4, 0xffffffff84858687, la a1, tdat + 4; lw a4, -4(a1))
  /* misaligned loads are handled transparently */
  TEST_LD(82, lh, 0xffffffffffff8586, 1)
  TEST_LD(83, lhu, 0x8586, 1)
  TEST_LD(84, lw, 0xffffffff83848586, 1)
  TEST_LD(85, lwu, 0x81828384, 3)
  TEST_LD(86, ld, 0x7f80818283848586, 1)
  TEST_LD(87, ld, 0x7f7f808182838485, 2)
  TEST_LD(88, ld, 0x7c7d7e7f7f7f8081, 6)

  /* stores of every width change exactly their bytes */
  TEST_CASE(89, a4, 0x80818283848586aa, la a1, tdat; li a2, 0x12345678aa; sb a2, 0(a1); ld a4, 0(a1))
  TEST_CASE(90, a4, 0x808182838485bbaa, la a1, tdat; li a2, 0x1234bbaa; sh a2, 0(a1); ld a4, 0(a1))
  TEST_CASE(91, a4, 0x80818283ddccbbaa, la a1, tdat; li a2, 0x12ddccbbaa; sw a2, 0(a1); ld a4, 0(a1))
  TEST_CASE(92, a4, 0x1122334455667788, la a1, tdat; li a2, 0x1122334455667788; sd a2, 0(a1); ld a4, 0(a1))
  TEST_CASE(93, a4, 0x11223344ccdd7788, la a1, tdat; li a2, 0xccdd; sh a2, 2(a1); ld a4, 0(a1))
  /* misaligned stores */
  TEST_CASE(94, a4, 0x11eeff44ccdd7788, la a1, tdat; li a2, 0xeeff; sh a2, 5(a1); ld a4, 0(a1))
  TEST_CASE(95, a4, 0x11a1b2c3d4dd7788, la a1, tdat; li a2, 0xa1b2c3d4; sw a2, 3(a1); ld a4, 0(a1))
  TEST_CASE(96, a4, 0x0102030405060708, la a1, tdat; li a2, 0x0102030405060708; sd a2, 5(a1); ld a4, 5(a1))
  TEST_CASE(97, a4, 0x060708, la a1, tdat; ld a4, 0(a1); srli a4, a4, 40)
  TEST_CASE(98, a4, 0x7a7b7c0102030405, la a1, tdat; ld a4, 8(a1))
  /* accesses that straddle a page boundary */
  TEST_CASE(99, a4, 0x8899aabbccddeeff, la a1, page2; li a2, 0x8899aabbccddeeff; sd a2, -3(a1); ld a4, -3(a1))
  TEST_CASE(100, a4, 0xccddeeff, la a1, page2; lwu a4, -3(a1))
  TEST_CASE(101, a4, 0x8899aabb, la a1, page2; lwu a4, 1(a1))
  TEST_CASE(102, a4, 0xffffffffffffddee, la a1, page2; lh a4, -2(a1))

  /* branches */
  TEST_BR_TAKEN(103, beq, 5, 5)
  TEST_BR_NOT(104, beq, 5, 6)
  TEST_BR_TAKEN(105, bne, 5, 6)
  TEST_BR_NOT(106, bne, -1, -1)
  TEST_BR_TAKEN(107, blt, -1, 1)
  TEST_BR_NOT(108, blt, 1, -1)
  TEST_BR_NOT(109, blt, 3, 3)
  TEST_BR_TAKEN(110, bge, 1, -1)
  TEST_BR_TAKEN(111, bge, 3, 3)
  TEST_BR_NOT(112, bge, -1, 1)
  TEST_BR_TAKEN(113, bltu, 1, -1)
  TEST_BR_NOT(114, bltu, -1, 1)
  TEST_BR_TAKEN(115, bgeu, -1, 1)
  TEST_BR_NOT(116, bgeu, 1, -1)
  TEST_BR_TAKEN(117, bgeu, 0, 0)
  /* backward branch loop */
  TEST_CASE(118, a4, 55, li a4, 0; li a1, 10; 1: add a4, a4, a1; addi a1, a1, -1; bnez a1, 1b)

  /* jal / jalr */
  TEST_CASE(119, a4, 0, jal ra, 1f; 2: j fail; 1: la a4, 2b; sub a4, a4, ra)
  TEST_CASE(120, a4, 0, la t0, 1f; jalr ra, 0(t0); 2: j fail; 1: la a4, 2b; sub a4, a4, ra)
  /* odd target: bit 0 of the sum is cleared */
  TEST_CASE(121, a4, 7, li a4, 0; la t0, 1f; addi t0, t0, 1; jalr x0, 0(t0); j fail; 1: li a4, 7)
  TEST_CASE(122, a4, 8, li a4, 0; la t0, 1f; jalr x0, 1(t0); j fail; 1: li a4, 8)
  TEST_CASE(123, a4, 9, li a4, 0; la t0, 1f + 4; jalr x0, -3(t0); j fail; 1: li a4, 9)
  /* rd == rs1: the target uses the old value */
  TEST_CASE(124, a4, 0, la a1, 1f; jalr a1, 0(a1); 2: j fail; 1: la a4, 2b; sub a4, a4, a1)
  /* jal with x0 does not link */
  TEST_CASE(125, a4, 0, li a4, 0; jal x0, 1f; li a4, 1; 1:)

  /* FENCE.I makes stores to code visible to fetch, also for code that
   * already ran (pre-decoded blocks must be dropped). */
  TEST_CASE(126, a0, 1, la a1, codebuf; li a2, 0x00100513; sw a2, 0(a1); li a2, 0x00008067; sw a2, 4(a1); fence.i; jalr ra, 0(a1))
  TEST_CASE(127, a0, 2, la a1, codebuf; li a2, 0x00200513; sw a2, 0(a1); fence.i; jalr ra, 0(a1))
  TEST_CASE(128, a0, 3, la a1, codebuf; li a2, 0x00300513; sw a2, 0(a1); fence.i; jalr ra, 0(a1))
  /* fence is a no-op here, ecall-free NOP forms too */
  TEST_CASE(129, a4, 1, li a4, 1; fence; fence rw, rw; fence.tso; nop)
  PASS

  .data
  .align 3
tdat:
  .dword 0x8081828384858687
  .dword 0x7a7b7c7d7e7f7f7f
  .align 12
page1: .fill 4096, 1, 0
page2: .fill 4096, 1, 0
  .align 4
codebuf: .fill 64, 1, 0
