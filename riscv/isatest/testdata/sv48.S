/* Sv48 translation: the shared MMU body through a 4-level walk, plus a
 * terapage, a misaligned terapage and Sv48 canonical-address rules. */
#include "test.h"
#include "mmu_defs.h"

  .text
  .globl test_main
test_main:
  call build_sv39
  call build_sv48
  SATP_FOR(s10, pt_root48, SATP_SV48)
  SATP_FOR(s9, pt_root48_u, SATP_SV48)
  /* the mode must be supported: satp reads back as written */
  TEST_CASE(59, a0, 0, csrw satp, s10; csrr a0, satp; sub a0, a0, s10; csrw satp, zero)
#include "mmu_common.inc"
  TEST_IN_MODE(60, PRV_S, CAUSE_ECALL_S, la a1, page_a; li t0, 0x8000000000; add a1, a1, t0; ld a0, 0(a1))
  FAIL_IF_NE(a0, 0xaaaa0001)
  TEST_IN_MODE(61, PRV_S, CAUSE_LOAD_PAGE, li a1, 0x10000000000; ld a0, 0(a1))
  TEST_IN_MODE(62, PRV_S, CAUSE_LOAD_PAGE, li a1, 0x0000800000000000; ld a0, 0(a1))
  CHECK_TI(TI_TVAL, 0x0000800000000000)
  TEST_IN_MODE(63, PRV_S, CAUSE_LOAD_PAGE, li a1, 0xffff800000000000; ld a0, 0(a1))
  TEST_IN_MODE(64, PRV_S, CAUSE_STORE_PAGE, li a1, 0x0001000080000000; sd a0, 0(a1))
  csrw satp, zero
  PASS

#include "mmu_tables.inc"
