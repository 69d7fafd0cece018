/* Interrupts: CLINT timer (mtimecmp/mtime) and software (msip) interrupts,
 * mip read-only and writable bits, global enables per privilege, priority,
 * WFI wake-up with interrupts masked, vectored mtvec, S-level interrupts
 * handled in M when not delegated. Waiting is always "wfi until it
 * happens", never a timed spin. */
#include "test.h"

#define MIP_SSIP (1 << 1)
#define MIP_MSIP (1 << 3)
#define MIP_STIP (1 << 5)
#define MIP_MTIP (1 << 7)

#define TIMER_IN(ticks) li t0, CLINT_MTIME; ld t0, 0(t0); addi t0, t0, ticks; li t1, CLINT_MTIMECMP; sd t0, 0(t1)
#define TIMER_AT(val) li t0, val; li t1, CLINT_MTIMECMP; sd t0, 0(t1)
#define TIMER_OFF TIMER_AT(-1)
#define MSIP_SET(v) li t0, CLINT_MSIP; li t1, v; sw t1, 0(t0)
/* Sleep until the interrupt arrives (WFI may legally return early). */
#define WAIT_FOREVER 5: wfi; j 5b

  .text
  .globl test_main
test_main:
  csrw mie, zero
  TIMER_OFF
  /* mip.MTIP follows mtime >= mtimecmp */
  TEST_CASE(1, a0, MIP_MTIP, TIMER_AT(0); csrr a0, mip; andi a0, a0, MIP_MTIP)
  /* and is read-only in mip */
  TEST_CASE(2, a0, MIP_MTIP, li t0, MIP_MTIP; csrc mip, t0; csrr a0, mip; andi a0, a0, MIP_MTIP)
  TEST_CASE(3, a0, 0, TIMER_OFF; csrr a0, mip; andi a0, a0, MIP_MTIP)
  /* mtime counts up */
  TEST_CASE(4, a0, 1, li a1, CLINT_MTIME; ld a2, 0(a1); li a3, 1000; 1: addi a3, a3, -1; bnez a3, 1b; ld a3, 0(a1); sltu a0, a2, a3)
  /* the time CSR shows mtime */
  TEST_CASE(5, a0, 1, li a1, CLINT_MTIME; ld a2, 0(a1); csrr a3, time; sltu a0, a3, a2; xori a0, a0, 1)

  /* timer interrupt in M with MIE set */
  TEST_CASE(6, a0, CAUSE_MTI, li t0, MIP_MTIP; csrw mie, t0; SET_RESUME(1f); TIMER_IN(100); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TRAPINFO(t0, TI_PRIV); FAIL_IF_NE(t0, PRV_M)
  TEST_CASE(7, a0, 0, csrr a0, mstatus; andi a0, a0, MSTATUS_MIE)
  TIMER_OFF
  /* WFI returns when an enabled interrupt is pending even with MIE clear,
   * and no trap is taken */
  TEST_CASE(8, a0, MIP_MTIP, TRAPINFO(s0, TI_COUNT); csrci mstatus, MSTATUS_MIE; TIMER_IN(100); 1: wfi; csrr a0, mip; andi a0, a0, MIP_MTIP; beqz a0, 1b)
  TEST_CASE(9, a0, 0, TRAPINFO(a0, TI_COUNT); sub a0, a0, s0)
  TIMER_OFF
  csrw mie, zero

  /* software interrupt through msip */
  TEST_CASE(10, a0, MIP_MSIP, MSIP_SET(1); csrr a0, mip; andi a0, a0, MIP_MSIP)
  TEST_CASE(11, a0, CAUSE_MSI, li t0, MIP_MSIP; csrw mie, t0; SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TEST_CASE(12, a0, 0, MSIP_SET(0); csrr a0, mip; andi a0, a0, MIP_MSIP)
  TEST_CASE(13, a0, 1, li t0, CLINT_MSIP; li t1, 1; sw t1, 0(t0); lw a0, 0(t0); sw zero, 0(t0))
  /* priority: MSI before MTI */
  TEST_CASE(14, a0, CAUSE_MSI, MSIP_SET(1); TIMER_AT(0); li t0, MIP_MSIP | MIP_MTIP; csrw mie, t0; SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TEST_CASE(15, a0, CAUSE_MTI, MSIP_SET(0); SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TIMER_OFF
  csrw mie, zero

  /* M interrupts are always enabled below M, whatever MIE says */
  TIMER_AT(0)
  li t0, MIP_MTIP
  csrw mie, t0
  csrci mstatus, MSTATUS_MIE
  TEST_CASE(16, a0, CAUSE_MTI, SET_RESUME(1f); ENTER_MODE(PRV_U, 2f); 2: WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TRAPINFO(t0, TI_PRIV); FAIL_IF_NE(t0, PRV_U)
  TRAPINFO(t0, TI_EPC); la t1, 2b; bltu t0, t1, fail
  TEST_CASE(17, a0, CAUSE_MTI, SET_RESUME(1f); ENTER_MODE(PRV_S, 2f); 2: nop; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TRAPINFO(t0, TI_PRIV); FAIL_IF_NE(t0, PRV_S)
  TIMER_OFF
  csrw mie, zero

  /* mip.SSIP and mip.STIP are writable from M; a non-delegated SSI is an
   * M-mode interrupt */
  TEST_CASE(18, a0, MIP_SSIP | MIP_STIP, li t0, MIP_SSIP | MIP_STIP; csrs mip, t0; csrr a0, mip; andi a0, a0, MIP_SSIP | MIP_STIP; li t0, MIP_STIP; csrc mip, t0)
  TEST_CASE(19, a0, CAUSE_SSI, li t0, MIP_SSIP; csrw mie, t0; SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1: TRAPINFO(a0, TI_CAUSE))
  TEST_CASE(20, a0, 0, csrci mip, MIP_SSIP; csrw mie, zero; csrr a0, mip; andi a0, a0, MIP_SSIP)

  /* vectored mtvec: interrupt i goes to base + 4*i */
  la t0, vectors + 1
  csrw mtvec, t0
  TEST_CASE(21, t5, 7, li t5, 0; li t0, MIP_MTIP; csrw mie, t0; TIMER_AT(0); SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1:)
  TIMER_OFF
  TEST_CASE(22, t5, 3, li t5, 0; li t0, MIP_MSIP; csrw mie, t0; MSIP_SET(1); SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1:)
  MSIP_SET(0)
  TEST_CASE(23, t5, 1, li t5, 0; li t0, MIP_SSIP; csrw mie, t0; csrsi mip, MIP_SSIP; SET_RESUME(1f); csrsi mstatus, MSTATUS_MIE; WAIT_FOREVER; 1:)
  csrci mip, MIP_SSIP
  csrw mie, zero
  la t0, trap_entry
  csrw mtvec, t0
  PASS

  /* 4-byte jumps: the table must not be compressed */
  .option push
  .option norvc
  .align 8
vectors:
  j trap_entry
  .irp cause, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
  j vec_\cause
  .endr
  .irp cause, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15
vec_\cause:
  li t5, \cause
  j trap_entry
  .endr
  .option pop
