/* Trap delegation: medeleg sends U/S exceptions to the S handler (never
 * exceptions taken in M), mideleg sends S interrupts to S, with the S
 * interrupt enable rules (SIE only gates S-mode itself), scause/sepc/stval,
 * the sstatus stack and vectored stvec. */
#include "test.h"

#define MIP_SSIP (1 << 1)
#define MIP_STIP (1 << 5)

#define CHECK_STI(off, val) STRAPINFO(t0, off); FAIL_IF_NE(t0, val)

/* Run code in mode prv; it must trap to S, whose handler resumes in S,
 * which ecalls back to M. Checks the S trap cause. */
#define TEST_TO_S(n, prv, scause, code...) \
test_ ## n: \
  li TESTNUM, n; \
  SET_RESUME(9f); \
  SET_SRESUME(7f); \
  ENTER_MODE(prv, 8f); \
8: code; \
  j fail; \
7: ecall; \
  j fail; \
9: TRAPINFO(t0, TI_CAUSE); \
  FAIL_IF_NE(t0, CAUSE_ECALL_S); \
  STRAPINFO(t0, TI_CAUSE); \
  FAIL_IF_NE(t0, scause)

  .text
  .globl test_main
test_main:
  la t0, strap_entry
  csrw stvec, t0
  li t0, (1 << CAUSE_ECALL_U) | (1 << CAUSE_ILLEGAL) | (1 << CAUSE_BREAKPOINT) | (1 << CAUSE_LOAD_ACCESS)
  csrw medeleg, t0
  TEST_TO_S(1, PRV_U, CAUSE_ECALL_U, 1: ecall)
  STRAPINFO(t0, TI_EPC); la t1, 1b; bne t0, t1, fail
  CHECK_STI(TI_PRIV, 0)
  CHECK_STI(TI_TVAL, 0)
  TEST_TO_S(2, PRV_S, CAUSE_ILLEGAL, 1: .word 0xfe000033)
  CHECK_STI(TI_TVAL, 0xfe000033)
  CHECK_STI(TI_PRIV, 1)
  STRAPINFO(t0, TI_EPC); la t1, 1b; bne t0, t1, fail
  TEST_TO_S(3, PRV_U, CAUSE_BREAKPOINT, ebreak)
  TEST_TO_S(4, PRV_U, CAUSE_LOAD_ACCESS, li a1, UNMAPPED_PA; lw a0, 4(a1))
  CHECK_STI(TI_TVAL, UNMAPPED_PA + 4)
  /* a trap from S with SIE set stacks it into SPIE */
  TEST_TO_S(5, PRV_S, CAUSE_ILLEGAL, csrsi sstatus, MSTATUS_SIE; .word 0xfe000033)
  STRAPINFO(t0, TI_MSTATUS); andi t0, t0, MSTATUS_SIE | MSTATUS_SPIE; FAIL_IF_NE(t0, MSTATUS_SPIE)
  /* M never delegates its own traps; non-delegated causes go to M */
  TEST_CASE(6, a0, 1, STRAPINFO(s0, TI_COUNT); SET_RESUME(1f); ebreak; j fail; 1: TRAPINFO(a0, TI_CAUSE); addi a0, a0, 1 - CAUSE_BREAKPOINT; STRAPINFO(t0, TI_COUNT); bne t0, s0, fail)
  TEST_IN_MODE(7, PRV_U, CAUSE_STORE_ACCESS, li a1, UNMAPPED_PA; sw a0, 0(a1))
  STRAPINFO(t0, TI_COUNT); bne t0, s0, fail
  /* an S ecall delegated to S itself */
  li t0, 1 << CAUSE_ECALL_S
  csrw medeleg, t0
  TEST_CASE(8, a0, CAUSE_ECALL_S, SET_RESUME(9f); SET_SRESUME(7f); ENTER_MODE(PRV_S, 8f); 8: ecall; j fail; 7: .word 0xfe000033; j fail; 9: STRAPINFO(a0, TI_CAUSE))
  CHECK_TI(TI_CAUSE, CAUSE_ILLEGAL)
  csrw medeleg, zero

  /* delegated S software interrupt, raised by S through sip */
  li t0, MIP_SSIP | MIP_STIP
  csrw mideleg, t0
  csrw sie, t0
  TEST_TO_S(9, PRV_S, CAUSE_SSI, csrsi sstatus, MSTATUS_SIE; csrsi sip, MIP_SSIP; 5: wfi; j 5b)
  CHECK_STI(TI_PRIV, 1)
  TEST_CASE(10, a0, MIP_SSIP, csrr a0, mip; andi a0, a0, MIP_SSIP)
  /* pending and enabled in S terms, but M does not take S interrupts */
  TEST_CASE(11, a0, 0, TRAPINFO(s0, TI_COUNT); STRAPINFO(s1, TI_COUNT); csrsi sstatus, MSTATUS_SIE; csrsi mstatus, MSTATUS_MIE; nop; nop; csrci mstatus, MSTATUS_MIE; TRAPINFO(a0, TI_COUNT); sub a0, a0, s0; STRAPINFO(a1, TI_COUNT); sub a1, a1, s1; or a0, a0, a1)
  /* in S with SIE clear it stays pending */
  csrci sstatus, MSTATUS_SIE
  TEST_IN_MODE(12, PRV_S, CAUSE_ECALL_S, nop; nop)
  STRAPINFO(t0, TI_COUNT); bne t0, s1, fail
  /* in U it is taken whatever SIE says */
  TEST_TO_S(13, PRV_U, CAUSE_SSI, 5: j 5b)
  CHECK_STI(TI_PRIV, 0)
  csrci sip, MIP_SSIP
  /* S timer interrupt from mip.STIP set by M */
  li t0, MIP_STIP
  csrs mip, t0
  TEST_TO_S(14, PRV_S, CAUSE_STI, csrsi sstatus, MSTATUS_SIE; 5: wfi; j 5b)
  /* S cannot clear STIP through sip */
  TEST_IN_MODE(15, PRV_S, CAUSE_ECALL_S, li t0, MIP_STIP; csrc sip, t0)
  TEST_CASE(16, a0, MIP_STIP, csrr a0, mip; andi a0, a0, MIP_STIP; li t0, MIP_STIP; csrc mip, t0)
  /* vectored stvec */
  la t0, svectors + 1
  csrw stvec, t0
  TEST_TO_S(17, PRV_S, CAUSE_SSI, li t5, 0; csrsi sstatus, MSTATUS_SIE; csrsi sip, MIP_SSIP; 5: wfi; j 5b)
  FAIL_IF_NE(t5, 1)
  csrci sip, MIP_SSIP
  li t0, 1 << CAUSE_ECALL_U
  csrw medeleg, t0
  TEST_TO_S(18, PRV_U, CAUSE_ECALL_U, li t5, 0; ecall)
  FAIL_IF_NE(t5, 0)
  csrw medeleg, zero
  csrw mideleg, zero
  csrw sie, zero
  PASS

  .option push
  .option norvc
  .align 8
svectors:
  j strap_entry
  .irp cause, 1, 2, 3, 4, 5, 6, 7, 8, 9
  j svec_\cause
  .endr
  .irp cause, 1, 2, 3, 4, 5, 6, 7, 8, 9
svec_\cause:
  li t5, \cause
  j strap_entry
  .endr
  .option pop
