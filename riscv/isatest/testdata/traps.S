/* Exceptions: every synchronous cause reachable without paging, with mepc,
 * mtval and the mstatus stack checked; MRET/SRET semantics; exceptions
 * ignore mtvec vectoring. */
#include "test.h"

#define CHECK_TI_LABEL(off, label) TRAPINFO(t0, off); la t1, label; bne t0, t1, fail

  .text
  .globl test_main
test_main:
  /* illegal instruction: mtval holds the instruction */
  TEST_TRAP(1, CAUSE_ILLEGAL, 1: .word 0xfe000033)
  CHECK_TI(TI_TVAL, 0xfe000033)
  CHECK_TI_LABEL(TI_EPC, 1b)
  TEST_TRAP(2, CAUSE_ILLEGAL, .word 0x00007503)
  CHECK_TI(TI_TVAL, 0x00007503)
  TEST_TRAP(3, CAUSE_ILLEGAL, .word 0x0205151b)
  CHECK_TI(TI_TVAL, 0x0205151b)
  /* ebreak: mtval is 0 or the pc */
  TEST_TRAP(4, CAUSE_BREAKPOINT, 1: ebreak)
  CHECK_TI_LABEL(TI_EPC, 1b)
  TRAPINFO(t0, TI_TVAL); beqz t0, 2f; la t1, 1b; bne t0, t1, fail; 2:
  /* ecall from each mode; mtval 0, MPP = the caller's mode */
  TEST_TRAP(5, CAUSE_ECALL_M, 1: ecall)
  CHECK_TI_LABEL(TI_EPC, 1b)
  CHECK_TI(TI_TVAL, 0)
  CHECK_TI(TI_PRIV, PRV_M)
  TEST_IN_MODE(6, PRV_S, CAUSE_ECALL_S, nop)
  CHECK_TI(TI_PRIV, PRV_S)
  CHECK_TI(TI_TVAL, 0)
  TEST_IN_MODE(7, PRV_U, CAUSE_ECALL_U, nop)
  CHECK_TI(TI_PRIV, PRV_U)
  /* access faults: nothing answers at UNMAPPED_PA */
  TEST_TRAP(8, CAUSE_LOAD_ACCESS, li a1, UNMAPPED_PA; 1: ld a0, 8(a1))
  CHECK_TI(TI_TVAL, UNMAPPED_PA + 8)
  CHECK_TI_LABEL(TI_EPC, 1b)
  TEST_TRAP(9, CAUSE_LOAD_ACCESS, li a1, UNMAPPED_PA; lbu a0, 3(a1))
  CHECK_TI(TI_TVAL, UNMAPPED_PA + 3)
  TEST_TRAP(10, CAUSE_STORE_ACCESS, li a1, UNMAPPED_PA; sw a0, 4(a1))
  CHECK_TI(TI_TVAL, UNMAPPED_PA + 4)
  TEST_TRAP_AMO(11, CAUSE_STORE_ACCESS, li a1, UNMAPPED_PA; amoadd.d a0, a0, (a1))
  TEST_TRAP(12, CAUSE_FETCH_ACCESS, li a1, UNMAPPED_PA; jalr ra, 0(a1))
  CHECK_TI(TI_EPC, UNMAPPED_PA)
  CHECK_TI(TI_TVAL, UNMAPPED_PA)
  TEST_IN_MODE(13, PRV_U, CAUSE_LOAD_ACCESS, li a1, UNMAPPED_PA; ld a0, 0(a1))
  CHECK_TI(TI_PRIV, PRV_U)
  /* the faulting load did not write rd */
  TEST_CASE(14, a0, 0x77, li a0, 0x77; SET_RESUME(1f); li a1, UNMAPPED_PA; ld a0, 0(a1); j fail; 1:)

  /* trap entry stacks MIE into MPIE and clears MIE */
  TEST_TRAP(15, CAUSE_ECALL_M, csrsi mstatus, MSTATUS_MIE; ecall)
  TRAPINFO(t0, TI_MSTATUS); andi t0, t0, MSTATUS_MIE | MSTATUS_MPIE; FAIL_IF_NE(t0, MSTATUS_MPIE)
  TEST_CASE(16, a0, 0, csrr a0, mstatus; andi a0, a0, MSTATUS_MIE)
  /* mret: MIE = MPIE, MPIE = 1, MPP = U */
  TEST_CASE(17, a0, MSTATUS_MPIE, li t0, MSTATUS_MPP; csrs mstatus, t0; li t0, MSTATUS_MPIE; csrc mstatus, t0; csrci mstatus, MSTATUS_MIE; la t0, 1f; csrw mepc, t0; mret; j fail; 1: csrr a0, mstatus; li t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE; and a0, a0, t0)
  TEST_CASE(18, a0, MSTATUS_MIE | MSTATUS_MPIE, li t0, MSTATUS_MPP | MSTATUS_MPIE; csrs mstatus, t0; la t0, 1f; csrw mepc, t0; mret; j fail; 1: csrr a0, mstatus; csrci mstatus, MSTATUS_MIE; li t0, MSTATUS_MPP | MSTATUS_MPIE | MSTATUS_MIE; and a0, a0, t0)
  /* mret to a lower mode clears MPRV; to M it keeps it */
  TEST_CASE(19, a0, MSTATUS_MPRV, li t0, MSTATUS_MPP | MSTATUS_MPRV; csrs mstatus, t0; la t0, 1f; csrw mepc, t0; mret; 1: csrr a0, mstatus; li t0, MSTATUS_MPRV; and a0, a0, t0; csrc mstatus, t0)
  li t0, MSTATUS_MPRV | MSTATUS_MPP
  csrs mstatus, t0
  li t0, (3 - PRV_S) << 11
  csrc mstatus, t0
  TEST_IN_MODE(20, PRV_S, CAUSE_ECALL_S, nop)
  li t1, MSTATUS_MPRV; csrc mstatus, t1
  IF_QUIRK(QUIRK_MRET_KEEPS_MPRV, 1f)
  TRAPINFO(t0, TI_MSTATUS); li t1, MSTATUS_MPRV; and t0, t0, t1; bnez t0, fail
1:
  /* sret: SIE = SPIE, SPIE = 1, SPP = U, to sepc in SPP's mode */
  TEST_CASE(21, a0, MSTATUS_SIE | MSTATUS_SPIE, li t0, MSTATUS_SPP | MSTATUS_SPIE; csrs sstatus, t0; csrci sstatus, MSTATUS_SIE; la t0, 2f; csrw sepc, t0; SET_RESUME(3f); ENTER_MODE(PRV_S, 1f); 1: sret; 2: csrr a0, sstatus; ecall; 3: li t0, MSTATUS_SIE | MSTATUS_SPIE | MSTATUS_SPP; and a0, a0, t0)
  CHECK_TI(TI_CAUSE, CAUSE_ECALL_S)
  csrci sstatus, MSTATUS_SIE
  TEST_CASE(22, a0, CAUSE_ECALL_U, li t0, MSTATUS_SPP; csrc sstatus, t0; la t0, 2f; csrw sepc, t0; SET_RESUME(3f); ENTER_MODE(PRV_S, 1f); 1: sret; 2: ecall; 3: TRAPINFO(a0, TI_CAUSE))
  CHECK_TI_LABEL(TI_EPC, 2b)
  /* mepc written by software is where mret goes */
  TEST_CASE(23, a0, 5, li a0, 0; la t0, 1f; csrw mepc, t0; li t0, MSTATUS_MPP; csrs mstatus, t0; mret; li a0, 1; 1: addi a0, a0, 5)
  /* vectored mtvec: exceptions still go to the base */
  la t0, vectors + 1
  csrw mtvec, t0
  TEST_CASE(24, t5, 0, li t5, 0; SET_RESUME(1f); ecall; 1:)
  CHECK_TI(TI_CAUSE, CAUSE_ECALL_M)
  TEST_IN_MODE(25, PRV_U, CAUSE_ILLEGAL, li t5, 0; .word 0xfe000033)
  FAIL_IF_NE(t5, 0)
  la t0, trap_entry
  csrw mtvec, t0
  PASS

  /* 4-byte jumps: the table must not be compressed */
  .option push
  .option norvc
  .align 8
vectors:
  j trap_entry
  .rept 15
  j vec_interrupt
  .endr
vec_interrupt:
  li t5, 1
  j trap_entry
  .option pop
