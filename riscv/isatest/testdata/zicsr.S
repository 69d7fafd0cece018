/* Zicsr: the six CSR instructions, the rs1=x0 / uimm=0 no-write rule,
 * read-only CSR writes trap (with the instruction in mtval), unknown and
 * RV32-only CSRs trap, privilege checks from S and U, counter enables,
 * misa/mstatus fixed fields, sstatus/sie views, WARL fields. */
#include "test.h"

  .text
  .globl test_main
test_main:
  TEST_CASE(1, a0, 0x1111, li a1, 0x1111; csrw mscratch, a1; li a1, 0x2222; csrrw a0, mscratch, a1)
  TEST_CASE(2, a0, 0x2222, csrr a0, mscratch)
  TEST_CASE(3, a0, 0x2222, li a1, 0x0f00; csrrs a0, mscratch, a1)
  TEST_CASE(4, a0, 0x2f22, csrrc a0, mscratch, zero; li a1, 0x0022; csrrc x0, mscratch, a1; csrr a0, mscratch; li a1, 0; addi a0, a0, 0x22)
  TEST_CASE(5, a0, 0x2f00, csrrwi a0, mscratch, 0x1f)
  TEST_CASE(6, a0, 0x1f, csrrsi a0, mscratch, 0x0)
  TEST_CASE(7, a0, 0x10, csrrsi x0, mscratch, 0x10; csrrci x0, mscratch, 0xf; csrr a0, mscratch)
  TEST_CASE(8, a0, 0xfedcba9876543210, li a1, 0xfedcba9876543210; csrw mscratch, a1; csrr a0, mscratch)
  /* read-only CSRs: reads are fine, writes trap, even of zero */
  TEST_CASE(9, a0, 0, csrr a0, mhartid)
  TEST_CASE(10, a0, 1, csrr a1, mvendorid; csrr a1, marchid; csrr a1, mimpid; csrrsi a1, mhartid, 0; csrrc a1, mhartid, x0; li a0, 1)
  TEST_TRAP(11, CAUSE_ILLEGAL, 1: csrw mhartid, a1)
  TRAPINFO(t0, TI_TVAL); la t1, 1b; lwu t1, 0(t1); bne t0, t1, fail
  IF_QUIRK(QUIRK_CSR_ZERO_MASK_NO_WRITE, 1f)
  TEST_TRAP(12, CAUSE_ILLEGAL, li a1, 0; csrrs a0, mvendorid, a1)
1:
  TEST_TRAP(13, CAUSE_ILLEGAL, csrrci a0, marchid, 1)
  TEST_TRAP(14, CAUSE_ILLEGAL, csrw cycle, a1)
  TEST_TRAP(15, CAUSE_ILLEGAL, csrwi instret, 0)
  TEST_TRAP(16, CAUSE_ILLEGAL, csrrs a0, time, sp)
  /* CSRs that do not exist on RV64 or at all */
  TEST_TRAP(17, CAUSE_ILLEGAL, csrr a0, 0x3a1)
  TEST_TRAP(18, CAUSE_ILLEGAL, csrr a0, 0xc80)
  TEST_TRAP(19, CAUSE_ILLEGAL, csrr a0, 0x107)
  /* counters count */
  TEST_CASE(20, a0, 1, csrr a1, instret; nop; nop; nop; csrr a2, instret; sltu a0, a1, a2)
  TEST_CASE(21, a0, 1, csrr a1, minstret; nop; csrr a2, minstret; sltu a0, a1, a2)
  TEST_CASE(22, a0, 1, csrr a1, mcycle; nop; nop; csrr a2, mcycle; sltu a0, a1, a2)
  TEST_CASE(23, a0, 1, csrr a1, time; li a3, 1000; 1: addi a3, a3, -1; bnez a3, 1b; csrr a2, time; sltu a0, a1, a2)
  /* misa: RV64 with I M A F D C S U */
  TEST_CASE(24, a0, 2, csrr a0, misa; srli a0, a0, 62)
  TEST_CASE(25, a0, 0x14112d, csrr a0, misa; li a1, 0x14112d; and a0, a0, a1)
  /* mstatus.UXL = SXL = 64-bit, read-only */
  TEST_CASE(26, a0, 0xa, csrr a0, mstatus; srli a0, a0, 32; andi a0, a0, 0xf)
  TEST_CASE(27, a0, 0xa, li a1, 0xf00000000; csrc mstatus, a1; csrr a0, mstatus; srli a0, a0, 32; andi a0, a0, 0xf)
  /* sstatus is a restricted view of mstatus */
  TEST_CASE(28, a0, MSTATUS_SIE, csrsi sstatus, MSTATUS_SIE; csrr a0, mstatus; andi a0, a0, MSTATUS_SIE)
  TEST_CASE(29, a0, 0, csrsi mstatus, MSTATUS_MIE; csrr a0, sstatus; csrci mstatus, MSTATUS_MIE; andi a0, a0, MSTATUS_MIE | MSTATUS_MPIE)
  TEST_CASE(30, a0, 0, csrci sstatus, MSTATUS_SIE; li a1, MSTATUS_MPP | MSTATUS_MPIE; csrc mstatus, a1; csrr s0, sstatus; li a1, -1; csrw sstatus, a1; csrr a0, mstatus; csrw sstatus, s0; li a1, MSTATUS_MPP | MSTATUS_MPRV | MSTATUS_TVM | MSTATUS_TW | MSTATUS_TSR | MSTATUS_MIE | MSTATUS_MPIE; and a0, a0, a1)
  TEST_CASE(31, a0, MSTATUS_SUM | MSTATUS_MXR, li a1, MSTATUS_SUM | MSTATUS_MXR; csrs sstatus, a1; csrr a0, mstatus; csrc mstatus, a1; and a0, a0, a1)
  /* sie and sip only show delegated interrupts */
  TEST_CASE(32, a0, 0, csrw mideleg, zero; li a1, -1; csrw sie, a1; csrr a0, sie)
  TEST_CASE(33, a0, 0x222, li a1, 0x222; csrw mideleg, a1; li a1, -1; csrw sie, a1; csrr a0, sie)
  TEST_CASE(34, a0, 0x222, csrr a0, mie; li a1, 0x222; and a0, a0, a1; csrw mie, zero; csrw mideleg, zero)
  TEST_CASE(35, a0, 0x222, li a1, -1; csrw mideleg, a1; csrr a0, mideleg; andi a0, a0, 0x222; csrw mideleg, zero)
  TEST_CASE(36, a0, 0x1104, li a1, 0x1104; csrw medeleg, a1; csrr a0, medeleg; csrw medeleg, zero)
  /* epc bit 0 is always zero (IALIGN=16) */
  IF_QUIRK(QUIRK_EPC_BIT0, 1f)
  TEST_CASE(37, a0, 0x80000000, li a1, 0x80000001; csrw mepc, a1; csrr a0, mepc)
  TEST_CASE(38, a0, 0x80000002, li a1, 0x80000003; csrw sepc, a1; csrr a0, sepc)
1:
  /* vectored mtvec is supported */
  TEST_CASE(39, a0, 1, csrr s0, mtvec; la a1, trap_entry; ori a1, a1, 1; csrw mtvec, a1; csrr a0, mtvec; csrw mtvec, s0; andi a0, a0, 3)
  /* satp: a write with an unsupported MODE has no effect */
  TEST_CASE(40, a0, 0x8000000000080123, li a1, 0x8000000000080123; csrw satp, a1; csrr a0, satp)
  TEST_CASE(41, a0, 0x8000000000080123, li a1, 0x5000000000080456; csrw satp, a1; csrr a0, satp; csrw satp, zero)

  /* privilege checks */
  TEST_IN_MODE(42, PRV_S, CAUSE_ILLEGAL, csrr a0, mstatus)
  TEST_IN_MODE(43, PRV_S, CAUSE_ILLEGAL, csrw mscratch, a0)
  TEST_IN_MODE(44, PRV_S, CAUSE_ECALL_S, csrr a0, sstatus; csrw sscratch, a0; csrr a0, stvec)
  TEST_IN_MODE(45, PRV_U, CAUSE_ILLEGAL, csrr a0, sstatus)
  TEST_IN_MODE(46, PRV_U, CAUSE_ILLEGAL, csrr a0, sscratch)
  TEST_IN_MODE(47, PRV_U, CAUSE_ILLEGAL, csrr a0, mhartid)
  TEST_IN_MODE(48, PRV_U, CAUSE_ECALL_U, frflags a0)
  /* the trapping CSR access from S left the instruction bits in mtval */
  TEST_IN_MODE(49, PRV_S, CAUSE_ILLEGAL, 1: csrr a0, mip)
  TRAPINFO(t0, TI_TVAL); la t1, 1b; lwu t1, 0(t1); bne t0, t1, fail
  /* counter enables: S needs mcounteren, U needs mcounteren and scounteren */
  csrw mcounteren, zero
  csrw scounteren, zero
  TEST_IN_MODE(50, PRV_S, CAUSE_ILLEGAL, csrr a0, cycle)
  TEST_IN_MODE(51, PRV_S, CAUSE_ILLEGAL, csrr a0, time)
  TEST_IN_MODE(52, PRV_S, CAUSE_ILLEGAL, csrr a0, instret)
  csrwi mcounteren, 7
  TEST_IN_MODE(53, PRV_S, CAUSE_ECALL_S, csrr a0, cycle; csrr a0, time; csrr a0, instret)
  TEST_IN_MODE(54, PRV_U, CAUSE_ILLEGAL, csrr a0, cycle)
  csrwi scounteren, 2
  TEST_IN_MODE(55, PRV_U, CAUSE_ECALL_U, csrr a0, time)
  TEST_IN_MODE(56, PRV_U, CAUSE_ILLEGAL, csrr a0, instret)
  csrwi mcounteren, 5
  TEST_IN_MODE(57, PRV_U, CAUSE_ILLEGAL, csrr a0, time)
  csrwi scounteren, 0
  /* TVM traps satp and sfence.vma in S; TW traps wfi in S; TSR traps sret */
  li t0, MSTATUS_TVM; csrs mstatus, t0
  TEST_IN_MODE(58, PRV_S, CAUSE_ILLEGAL, csrr a0, satp)
  TEST_IN_MODE(59, PRV_S, CAUSE_ILLEGAL, sfence.vma)
  li t0, MSTATUS_TVM; csrc mstatus, t0
  TEST_IN_MODE(60, PRV_S, CAUSE_ECALL_S, csrr a0, satp; sfence.vma)
  li t0, MSTATUS_TW; csrs mstatus, t0
  TEST_IN_MODE(61, PRV_S, CAUSE_ILLEGAL, wfi)
  li t0, MSTATUS_TW; csrc mstatus, t0
  li t0, MSTATUS_TSR; csrs mstatus, t0
  TEST_IN_MODE(62, PRV_S, CAUSE_ILLEGAL, sret)
  li t0, MSTATUS_TSR; csrc mstatus, t0
  /* xRET above the current privilege */
  TEST_IN_MODE(63, PRV_S, CAUSE_ILLEGAL, mret)
  TEST_IN_MODE(64, PRV_U, CAUSE_ILLEGAL, sret)
  TEST_IN_MODE(65, PRV_U, CAUSE_ILLEGAL, sfence.vma)
  PASS
