/* Sv57 translation: the shared MMU body through a 5-level walk, plus a
 * petapage, a misaligned petapage, a terapage and Sv57 canonical rules. */
#include "test.h"
#include "mmu_defs.h"

  .text
  .globl test_main
test_main:
  call build_sv39
  call build_sv48
  call build_sv57
  SATP_FOR(s10, pt_root57, SATP_SV57)
  SATP_FOR(s9, pt_root57_u, SATP_SV57)
  TEST_CASE(59, a0, 0, csrw satp, s10; csrr a0, satp; sub a0, a0, s10; csrw satp, zero)
#include "mmu_common.inc"
  TEST_IN_MODE(60, PRV_S, CAUSE_ECALL_S, la a1, page_a; li t0, 0x1000000000000; add a1, a1, t0; ld a0, 0(a1))
  FAIL_IF_NE(a0, 0xaaaa0001)
  TEST_IN_MODE(61, PRV_S, CAUSE_LOAD_PAGE, li a1, 0x2000000000000; ld a0, 0(a1))
  TEST_IN_MODE(62, PRV_S, CAUSE_LOAD_PAGE, li a1, 0x0100000000000000; ld a0, 0(a1))
  CHECK_TI(TI_TVAL, 0x0100000000000000)
  TEST_IN_MODE(63, PRV_S, CAUSE_ECALL_S, la a1, page_b; li t0, 0x8000000000; add a1, a1, t0; ld a0, 0(a1))
  FAIL_IF_NE(a0, 0xbbbb0002)
  TEST_IN_MODE(64, PRV_S, CAUSE_LOAD_PAGE, li a1, 0xff00000000000000; ld a0, 0(a1))
  csrw satp, zero
  PASS

#include "mmu_tables.inc"
